import { appendFile, mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { describeTree } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const ids = async () =>
  json((await drkit(['snapshots', '--json', '--repo', repo])).stdout).map((s: { id: string }) => s.id) as string[];

/** n snapshots an hour apart, each changing the tree, as a day of hourly backups would. */
async function hourly(n: number): Promise<string[]> {
  const r = await Repository.init(new LocalStore(repo));
  const made: string[] = [];
  for (let i = 0; i < n; i++) {
    await appendFile(path.join(tree, 'data/feedback.jsonl'), `{"hour":${i}}\n`);
    await writeFile(path.join(tree, `data/hour-${i}.jsonl`), `{"i":${i}}\n`);
    const time = new Date(Date.UTC(2026, 10, 20, i));
    const res = await runBackup(r, {
      sources: sourcesFromPaths([tree]),
      toolVersion: 'test',
      full: i % 4 === 0,
      clock: { now: () => time },
    });
    made.push(res.snapshot.id);
  }
  return made;
}

/** Every listed snapshot verifies, and the oldest listed (longest dependency) restores. */
async function everyListedSnapshotRestores(): Promise<void> {
  const v = await drkit(['verify', 'all', '--repo', repo, '--json']);
  expect(json(v.stdout).ok).toBe(true);
  const [oldest] = await ids();
  const target = path.join(dir, `check-${Math.random().toString(36).slice(2)}`);
  expect((await drkit(['restore', oldest!, '--target', target, '--repo', repo])).code).toBe(0);
}

describe('drkit incremental chains, tags, diff, forget and prune', () => {
  it('makes incrementals, shows kind/parent/base, diffs two snapshots, and restores latest:TAG', async () => {
    await drkit(['init', '--repo', repo]);
    const full = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
    await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000, "debug": true}\n');
    await writeFile(path.join(tree, 'data/new.jsonl'), '{"id":9}\n');
    await unlink(path.join(tree, 'media/blob.bin'));
    const inc = json((await drkit(['backup', tree, '--repo', repo, '--json', '--tag', 'pre-deployment'])).stdout);
    expect(full.kind).toBe('full');
    expect(inc).toMatchObject({ kind: 'incremental', parent: full.id, base: full.id });

    const list = json((await drkit(['snapshots', '--json', '--repo', repo])).stdout);
    expect(list[1]).toMatchObject({
      id: inc.id,
      kind: 'incremental',
      parent: full.id,
      base: full.id,
      tags: ['pre-deployment'],
    });

    const diff = json((await drkit(['diff', full.id, inc.id, '--repo', repo, '--json'])).stdout);
    expect(diff.added.map((e: { path: string }) => e.path)).toEqual(['data/new.jsonl']);
    expect(diff.removed).toEqual([expect.objectContaining({ path: 'media/blob.bin', size: 300_000 })]);
    expect(diff.changed).toEqual([expect.objectContaining({ path: 'config/app.json', what: ['content'] })]);
    const human = await drkit(['diff', full.id, 'latest', '--repo', repo]);
    expect(human.stdout).toContain('- tree/media/blob.bin');

    await drkit(['backup', tree, '--repo', repo, '--full']);
    await drkit(['tag', full.id, '--add', 'golden', '--repo', repo]);
    const target = path.join(dir, 'golden');
    expect(
      (await drkit(['restore', 'latest:pre-deployment', '--source', 'tree', '--target', target, '--repo', repo])).code,
    ).toBe(0);
    expect((await describeTree(target)).map((e) => e.path)).toContain('data/new.jsonl');
    const missing = await drkit(['restore', 'latest:nope', '--target', path.join(dir, 'x'), '--repo', repo]);
    expect(missing.stderr).toContain('No snapshot');
  });

  it('tags snapshots that pass a full verify as clean', async () => {
    await drkit(['init', '--repo', repo]);
    const { id } = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
    const v = json((await drkit(['verify', 'all', '--mark-clean', '--repo', repo, '--json'])).stdout);
    expect(v.markedClean).toEqual([id]);
    expect(json((await drkit(['snapshots', '--json', '--repo', repo])).stdout)[0].tags).toContain('clean');
  });

  it(
    'forget --dry-run explains every decision and changes ' + 'nothing; forget --prune keeps every chain restorable',
    async () => {
      const made = await hourly(9);
      const dry = await drkit(['forget', '--keep-last', '2', '--dry-run', '--repo', repo]);
      expect(dry.code).toBe(0);
      for (const id of made) expect(dry.stdout).toMatch(new RegExp(`(keep|remove)\\s+${id}`));
      expect(dry.stdout).toMatch(/needed by kept incremental/);
      // One retention group (this host, source tree), named above its decisions.
      expect(dry.stdout.split('\n')[0]).toBe(`host ${hostname()}, sources tree:`);
      expect(await ids()).toEqual(made);

      const r = json((await drkit(['forget', '--keep-last', '2', '--prune', '--repo', repo, '--json'])).stdout);
      // Fulls at hours 0, 4 and 8: hour 7's incremental keeps its chain back to the full of hour 4.
      expect(r.removed).toEqual(made.slice(0, 4).reverse());
      expect(await ids()).toEqual(made.slice(4));
      expect((await readdir(path.join(repo, 'data'))).sort()).toEqual(made.slice(4));
      await everyListedSnapshotRestores();
    },
  );

  it('a prune killed (failpoints) after metadata and between blobs leaves every listed snapshot restorable; ' +
    'the next prune finishes', async () => {
    const made = await hourly(12);
    // Killed after its 1st and 4th metadata removal, then after its 1st and 4th blob removal.
    for (const point of [
      'prune.after-delete-meta:1',
      'prune.after-delete-meta:4',
      'prune.after-delete-blob:1',
      'prune.after-delete-blob:4',
    ]) {
      const killed = await drkit(['forget', '--keep-last', '1', '--prune', '--repo', repo], {
        env: { DRKIT_FAILPOINTS: `${point}=kill` },
      });
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      expect(json((await drkit(['verify', 'all', '--repo', repo, '--json'])).stdout).ok).toBe(true);
    }
    const final = await drkit(['forget', '--keep-last', '1', '--prune', '--repo', repo, '--json']);
    expect(final.code).toBe(0);
    // hour 11's incremental needs the full of hour 8 and the incrementals in between.
    expect(await ids()).toEqual(made.slice(8));
    expect((await readdir(path.join(repo, 'data'))).sort()).toEqual(made.slice(8));
    await everyListedSnapshotRestores();
  }, 120_000);

  it('two concurrent forget --prune runs: one waits for the other, nothing is lost', async () => {
    const made = await hourly(8);
    const [a, b] = await Promise.all([
      drkit(['forget', '--keep-last', '3', '--prune', '--repo', repo, '--json']),
      drkit(['forget', '--keep-last', '3', '--prune', '--repo', repo, '--json']),
    ]);
    for (const r of [a, b]) expect(r.code === 0 || r.stderr.includes('REPO_LOCKED')).toBe(true);
    expect([a, b].some((r) => r.code === 0)).toBe(true);
    expect(await ids()).toEqual(made.slice(4));
    await everyListedSnapshotRestores();
  });

  it(
    'backup --time dates the snapshot: retention and full_every go by it; a time without a zone or in the ' +
      'future is refused',
    async () => {
      await drkit(['init', '--repo', repo]);
      const config = path.join(dir, 'drkit.config.yaml');
      await writeFile(
        config,
        `sources: [{ name: tree, type: files, path: ${JSON.stringify(tree)} }]\nbackup: { full_every: 7d }\n`,
      );
      const at = async (time: string) => {
        await appendFile(path.join(tree, 'data/feedback.jsonl'), `{"at":"${time}"}\n`);
        const r = await drkit(['backup', '--time', time, '--repo', repo, '--config', config, '--json']);
        expect(r.code, r.stderr).toBe(0);
        return json(r.stdout);
      };
      const first = await at('2026-11-01T03:00:00Z');
      const second = await at('2026-11-02T03:00:00+01:00');
      const third = await at('2026-11-09T03:00:00Z');
      expect(first).toMatchObject({ time: '2026-11-01T03:00:00.000Z', kind: 'full' });
      expect(first.id).toMatch(/^20261101T030000Z-/);
      expect(second).toMatchObject({ time: '2026-11-02T02:00:00.000Z', kind: 'incremental', parent: first.id });
      // 8 days after the chain's full by --time (not by the clock): full_every makes a new full.
      expect(third).toMatchObject({
        kind: 'full',
        chain: expect.stringContaining('older than the full_every interval'),
      });
      // keep-within counts back from the newest snapshot's --time: the first chain is out.
      const forget = json((await drkit(['forget', '--keep-within', '2d', '--repo', repo, '--json'])).stdout);
      expect(forget.removed).toEqual([second.id, first.id]);
      for (const bad of [
        '2026-11-01',
        '2026-11-01T03:00:00',
        'yesterday',
        new Date(Date.now() + 3_600_000).toISOString(),
      ]) {
        const r = await drkit(['backup', tree, '--time', bad, '--repo', repo, '--json']);
        expect(r.code, bad).toBe(2);
        expect(json(r.stdout).error).toMatchObject({
          code: 'CLI_USAGE',
          message: expect.stringMatching(/--time.*(ISO 8601 time with a zone|in the future)/),
        });
      }
      expect(await ids()).toEqual([third.id]);
    },
  );

  it('unlock clears a lock left by a dead process', async () => {
    await drkit(['init', '--repo', repo]);
    await mkdir(path.join(repo, 'locks'), { recursive: true });
    const dead = {
      id: 'dead',
      exclusive: true,
      host: hostname(),
      pid: 2 ** 22 + 11,
      purpose: 'forget --prune',
      time: 'x',
      refreshed: new Date().toISOString(),
    };
    await writeFile(path.join(repo, 'locks', 'dead.json'), JSON.stringify(dead));
    const u = await drkit(['unlock', '--repo', repo]);
    expect(u.stdout).toContain('1 lock(s) removed');
  });
});
