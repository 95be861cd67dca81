import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const listed = async () =>
  json((await drkit(['snapshots', '--json', '--repo', repo])).stdout).map((s: { id: string }) => s.id) as string[];

/** A full and three incrementals, each built on the one before. */
async function chain(): Promise<string[]> {
  const r = await Repository.init(new LocalStore(repo));
  const made: string[] = [];
  for (let i = 0; i < 4; i++) {
    await appendFile(path.join(tree, 'data/feedback.jsonl'), `{"hour":${i}}\n`);
    const time = new Date(Date.UTC(2026, 10, 20, i));
    made.push(
      (await runBackup(r, { sources: sourcesFromPaths([tree]), toolVersion: 'test', clock: { now: () => time } }))
        .snapshot.id,
    );
  }
  return made;
}

describe('drkit forget ID…', () => {
  it('refuses a snapshot later incrementals need, naming them, and removes nothing', async () => {
    const [full, i1, i2, i3] = await chain();
    const r = await drkit(['forget', i1!, '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    const { error } = json(r.stdout);
    expect(error.code).toBe('BACKUP_FORGET_HAS_DEPENDENTS');
    expect(error.message).toContain(
      `${i1} is needed by 2 later snapshot(s) that would no longer restore: ${i2}, ${i3}`,
    );
    expect(error.hint).toContain(`drkit forget ${i1} --with-dependents`);
    expect(await listed()).toEqual([full, i1, i2, i3]);
  });

  it(
    'removes the newest by prefix; --with-dependents removes ' + 'the chain after a snapshot, and what stays restores',
    async () => {
      const [full, i1, i2, i3] = await chain();
      const last = await drkit(['forget', i3!.slice(0, 20), '--repo', repo]);
      expect(last.code).toBe(0);
      expect(last.stdout).toMatch(new RegExp(`remove\\s+${i3}.*named`));
      const dry = json(
        (await drkit(['forget', i1!, '--with-dependents', '--dry-run', '--repo', repo, '--json'])).stdout,
      );
      expect(dry).toMatchObject({ dryRun: true, removed: [i2, i1] });
      expect(dry.decisions).toEqual([
        expect.objectContaining({ id: i1, reasons: ['named'] }),
        expect.objectContaining({ id: i2, reasons: [`needs ${i1}`] }),
      ]);
      expect(await listed()).toEqual([full, i1, i2]);
      const gone = json(
        (await drkit(['forget', i1!, '--with-dependents', '--prune', '--repo', repo, '--json'])).stdout,
      );
      expect(gone.removed).toEqual([i2, i1]);
      expect(gone.pruned.snapshots).toEqual([i1, i2, i3].sort());
      expect(await listed()).toEqual([full]);
      expect((await drkit(['restore', full!, '--target', path.join(dir, 'out'), '--repo', repo])).code).toBe(0);
    },
  );

  it('an unknown id, ids with a policy, and --with-dependents alone get coded errors with a hint', async () => {
    const [full] = await chain();
    const unknown = json((await drkit(['forget', '20200101T000000Z-000000', '--repo', repo, '--json'])).stdout).error;
    expect(unknown).toMatchObject({
      code: 'REPO_SNAPSHOT_NOT_FOUND',
      hint: expect.stringContaining('drkit snapshots'),
    });
    const both = await drkit(['forget', full!, '--keep-last', '1', '--repo', repo, '--json']);
    expect(both.code).toBe(2);
    expect(json(both.stdout).error.code).toBe('CLI_USAGE');
    const alone = await drkit(['forget', '--with-dependents', '--repo', repo]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--with-dependents needs snapshot ids/);
    expect((await listed()).length).toBe(4);
  });
});

describe('drkit stats', () => {
  it('sizes per kind and source, chain lengths, growth, and what a prune would free (then frees)', async () => {
    const [full, , i2, i3] = await chain();
    await drkit(['forget', i3!, '--repo', repo]);
    const stats = json((await drkit(['stats', '--repo', repo, '--json'])).stdout);
    expect(stats).toMatchObject({
      snapshots: 3,
      oldest: expect.stringMatching(/^2026-11-20T00:00/),
      newest: expect.stringMatching(/^2026-11-20T02:00/),
    });
    expect(stats.byKind.full).toMatchObject({ snapshots: 1 });
    expect(stats.byKind.incremental).toMatchObject({ snapshots: 2 });
    expect(stats.bySource.tree.snapshots).toBe(3);
    expect(stats.bySource.tree.stored).toBe(stats.byKind.full.stored + stats.byKind.incremental.stored);
    expect(stats.chains).toEqual({ count: 1, longest: 3, lengths: [{ base: full, length: 3 }] });
    expect(stats.data.bytes).toBe(stats.bySource.tree.stored + stats.prunable.bytes);
    expect(stats.prunable).toMatchObject({ snapshots: 1, blobs: 2 });
    expect(stats.growth.windowDays).toBe(30);
    const pruned = json((await drkit(['forget', i2!, '--prune', '--repo', repo, '--json'])).stdout).pruned;
    expect(pruned.bytes).toBeGreaterThan(stats.prunable.bytes);
    const human = await drkit(['stats', '--repo', repo, '--window', '7d']);
    expect(human.stdout).toMatch(/^incremental +1 +/m);
    expect(human.stdout).toMatch(/chains: 1, longest 2 snapshot\(s\)/);
    expect(human.stdout).toMatch(/\(window 7d\)/);
    expect(human.stdout).toContain('a prune would free nothing now');
  });
});
