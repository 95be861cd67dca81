import { appendFileSync } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { describeTree } from '@drkit/test-support';
import { drkit, initForNobody, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const ids = async (...filters: string[]) =>
  json((await drkit(['snapshots', '--repo', repo, '--json', ...filters])).stdout).map((s: { id: string }) => s.id);
const configFile = (lines: string[]) =>
  writeFile(
    path.join(dir, 'drkit.config.yaml'),
    `repository: ./repo\nsources:\n${lines.map((l) => `  - ${l}\n`).join('')}`,
  );

/** Opens files as the backup does; the first read of `grows` appends to it first: a real change while it is read. */
function appendingOnRead(grows: string) {
  return async (p: string): Promise<FileHandle> => {
    const fh = await open(p, 'r');
    if (p !== grows) return fh;
    let appended = false;
    return new Proxy(fh, {
      get(t, k) {
        const v = Reflect.get(t, k);
        if (k !== 'read' || appended) return typeof v === 'function' ? v.bind(t) : v;
        return (...args: unknown[]) => {
          appended = true;
          appendFileSync(grows, 'appended while read\n');
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  };
}

describe('which snapshot latest means; failed sources; findings', () => {
  it(
    'with a config, latest is its newest snapshot on this host, passed-over snapshots are named, and restore ' +
      'says where each source came from',
    async () => {
      await drkit(['init', '--repo', repo]);
      await configFile([
        '{ name: config, type: files, path: ./tree/config }',
        '{ name: data, type: files, path: ./tree/data }',
      ]);
      const service = json((await drkit(['backup', '--json'], { cwd: dir })).stdout);
      // An ad-hoc backup of another folder gets the same source name, and is newer.
      const elsewhere = path.join(dir, 'elsewhere', 'config');
      await mkdir(elsewhere, { recursive: true });
      await writeFile(path.join(elsewhere, 'other.txt'), 'not the service\n');
      const adHoc = json((await drkit(['backup', elsewhere, '--json'], { cwd: dir })).stdout);
      expect(adHoc.sources).toEqual([expect.objectContaining({ name: 'config', origin: elsewhere })]);
      // And another host backs up the same config, newer still.
      const sources = sourcesFromPaths([path.join(tree, 'config'), path.join(tree, 'data')]);
      const other = (
        await runBackup(await Repository.open(new LocalStore(repo)), { sources, toolVersion: 'test', host: 'app-2' })
      ).snapshot;

      const target = path.join(dir, 'restored');
      const r = await drkit(['restore', 'latest', '--source', 'config', '--target', target, '--json'], { cwd: dir });
      expect(r.code).toBe(0);
      expect(json(r.stdout).from).toEqual([
        {
          source: 'config',
          type: 'files',
          snapshot: service.id,
          time: service.time,
          host: hostname(),
          origin: path.join(tree, 'config'),
        },
      ]);
      expect(r.stderr).toContain(
        `note: latest is ${service.id}, the newest snapshot of this config's sources on host ${hostname()}; 2 ` +
          `newer snapshot(s) of other hosts or paths were passed over: `,
      );
      expect(r.stderr).toContain(
        `${other.id} (host app-2: config from ${path.join(tree, 'config')}, data from ${path.join(tree, 'data')})`,
      );
      expect(r.stderr).toContain(`${adHoc.id} (host ${hostname()}: config from ${elsewhere})`);
      expect(await describeTree(target)).toEqual(await describeTree(path.join(tree, 'config')));

      const text = await drkit(['restore', 'latest', '--target', path.join(dir, 'all')], { cwd: dir });
      expect(text.stdout).toContain(
        `  config: snapshot ${service.id} of ${service.time} from host ${hostname()}, ${path.join(tree, 'config')}\n`,
      );
      expect(text.stdout).toContain(
        `  data: snapshot ${service.id} of ${service.time} from host ${hostname()}, ${path.join(tree, 'data')}\n`,
      );
      // --path and --host choose the others; an id is always that snapshot.
      const byPath = await drkit(
        [
          'restore',
          'latest',
          '--source',
          'config',
          '--path',
          elsewhere,
          '--target',
          path.join(dir, 'by-path'),
          '--json',
        ],
        { cwd: dir },
      );
      expect(json(byPath.stdout).from).toEqual([expect.objectContaining({ snapshot: adHoc.id, origin: elsewhere })]);
      const byHost = await drkit(
        ['restore', 'latest', '--source', 'config', '--host', 'app-2', '--target', path.join(dir, 'by-host'), '--json'],
        { cwd: dir },
      );
      expect(json(byHost.stdout).from).toEqual([expect.objectContaining({ snapshot: other.id, host: 'app-2' })]);
      // Without a config nothing narrows latest: it is the newest snapshot, and restore says whose it is.
      const bare = await drkit([
        'restore',
        'latest',
        '--source',
        'config',
        '--target',
        path.join(dir, 'bare'),
        '--repo',
        repo,
      ]);
      expect(bare.stdout).toContain(
        `  config: snapshot ${other.id} of ${other.time} from host app-2, ${path.join(tree, 'config')}`,
      );
    },
  );

  it('snapshots, ls, verify, copy and forget take --host, --source, --path and --tag, as restic does', async () => {
    await drkit(['init', '--repo', repo]);
    const backup = async (...args: string[]) =>
      json((await drkit(['backup', '--repo', repo, '--json', '--full', ...args])).stdout).id as string;
    const a0 = await backup(tree);
    const a1 = await backup(tree, '--tag', 'daily', '--tag', 'clean');
    const a2 = await backup(path.join(tree, 'config'), '--tag', 'daily');
    const r = await Repository.open(new LocalStore(repo));
    const made = (tags: string[]) =>
      runBackup(r, { sources: sourcesFromPaths([tree]), toolVersion: 'test', host: 'app-2', tags, full: true });
    const b1 = (await made(['weekly'])).snapshot.id;
    const b2 = (await made(['weekly'])).snapshot.id;

    expect(await ids('--host', 'app-2')).toEqual([b1, b2]);
    expect(await ids('--host', 'app-2', '--host', hostname())).toEqual([a0, a1, a2, b1, b2]);
    expect(await ids('--source', 'config')).toEqual([a2]);
    expect(await ids('--path', tree, '--host', hostname())).toEqual([a0, a1]);
    expect(await ids('--tag', 'daily,clean')).toEqual([a1]);
    expect(await ids('--tag', 'clean', '--tag', 'weekly')).toEqual([a1, b1, b2]);
    const table = await drkit(['snapshots', '--repo', repo, '--tag', 'nothing-has-this']);
    expect(table.stdout).toBe('no snapshot matches the filter\n');

    const sourcesOf = async (...args: string[]) =>
      new Set(
        json((await drkit(['ls', 'latest', '--repo', repo, '--json', ...args])).stdout).map(
          (e: { source: string }) => e.source,
        ),
      );
    expect(await sourcesOf('--host', hostname())).toEqual(new Set(['config']));
    expect(await sourcesOf('--tag', 'clean')).toEqual(new Set(['tree']));

    const v = json((await drkit(['verify', 'all', '--host', 'app-2', '--repo', repo, '--json'])).stdout);
    expect(v.snapshots.map((s: { snapshot: string }) => s.snapshot)).toEqual([b1, b2]);

    const repo2 = path.join(dir, 'repo2');
    await drkit(['init', '--repo', repo2]);
    const c = await drkit(['copy', 'all', '--tag', 'daily', '--to', repo2, '--repo', repo, '--json']);
    expect(json(c.stdout).copied).toBe(2);
    expect(
      json((await drkit(['snapshots', '--repo', repo2, '--json'])).stdout).map((s: { id: string }) => s.id),
    ).toEqual([a1, a2]);

    // Only app-2's snapshots are planned: this host's a0, which --keep-last 1 alone would remove, stays.
    const f = await drkit(['forget', '--keep-last', '1', '--host', 'app-2', '--repo', repo, '--json']);
    expect(json(f.stdout).removed).toEqual([b1]);
    expect(await ids()).toEqual([a0, a1, a2, b2]);
  });

  it(
    'backs up every source it can read: a missing path and an unreachable Redis are failed sources (exit 3); ' +
      'when none can be read, exit 1',
    async () => {
      await drkit(['init', '--repo', repo]);
      await configFile([
        '{ name: config, type: files, path: ./tree/config }',
        '{ name: gone, type: files, path: ./no-such-folder }',
        '{ name: cache, type: redis, url: "redis://:s3cret@127.0.0.1:1" }',
      ]);
      const b = await drkit(['backup', '--json'], { cwd: dir });
      expect(b.code).toBe(3);
      const out = json(b.stdout);
      expect(out).toMatchObject({
        status: 'partial',
        host: hostname(),
        sources: [expect.objectContaining({ name: 'config', origin: path.join(tree, 'config'), files: 2 })],
        errors: [],
      });
      expect(out.failedSources).toEqual([
        {
          name: 'gone',
          type: 'files',
          origin: path.join(dir, 'no-such-folder'),
          code: 'BACKUP_SOURCE_MISSING',
          reason: `Source "gone": ${path.join(dir, 'no-such-folder')} does not exist.`,
        },
        {
          name: 'cache',
          type: 'redis',
          origin: 'redis://:***@127.0.0.1:1',
          code: 'BACKUP_REDIS_FAILED',
          reason: expect.stringContaining('could not open the connection to Redis'),
        },
      ]);
      expect(b.stdout + b.stderr).not.toContain('s3cret');

      const text = await drkit(['backup'], { cwd: dir });
      expect(text.code).toBe(3);
      expect(text.stderr).toContain(
        'error: source "cache" was not backed up [BACKUP_REDIS_FAILED]: The backup of Redis source "cache" ' +
          '(redis://:***@127.0.0.1:1) failed',
      );
      expect(text.stdout).toMatch(/ saved PARTIAL: 2 source\(s\) failed \(gone, cache\) in /);
      const list = await drkit(['snapshots'], { cwd: dir });
      expect(list.stdout).toContain(
        `${out.id} is partial: source gone failed (BACKUP_SOURCE_MISSING); source cache failed (BACKUP_REDIS_FAILED)`,
      );
      const v = await drkit(['verify', out.id], { cwd: dir });
      expect(v.code).toBe(0);
      expect(v.stderr).toContain(
        `    not in this snapshot: Source "gone": ${path.join(dir, 'no-such-folder')} does not exist.`,
      );

      await configFile([
        '{ name: gone, type: files, path: ./no-such-folder }',
        '{ name: cache, type: redis, url: "redis://127.0.0.1:1" }',
      ]);
      const none = await drkit(['backup', '--json'], { cwd: dir });
      expect(none.code).toBe(1);
      expect(json(none.stdout).error).toMatchObject({
        code: 'BACKUP_ALL_SOURCES_FAILED',
        message: expect.stringContaining('No source could be backed up, so no snapshot was made'),
      });
      expect(await ids()).toHaveLength(2);
      expect((await readdir(path.join(repo, 'data'))).sort()).toEqual((await ids()).sort());
    },
  );

  it('records a source folder drkit may not read as a failed source, and keeps the others', async () => {
    // As root every folder is readable, so the backup runs as nobody with real permissions.
    await initForNobody({ dir, repo, tree });
    await chmod(path.join(tree, 'media'), 0o000);
    const b = await drkit(['backup', path.join(tree, 'config'), path.join(tree, 'media'), '--repo', repo, '--json'], {
      unprivileged: true,
    });
    expect(b.code).toBe(3);
    const out = json(b.stdout);
    expect(out.sources.map((s: { name: string }) => s.name)).toEqual(['config']);
    expect(out.failedSources).toEqual([
      expect.objectContaining({
        name: 'media',
        code: 'BACKUP_SOURCE_UNREADABLE',
        reason: expect.stringContaining('permission denied'),
      }),
    ]);
  });

  it('names the file of every finding; snapshots counts them and verify shows what the backup noted', async () => {
    await drkit(['init', '--repo', repo]);
    await writeFile(path.join(tree, 'data/feedback.jsonl'), '{"id":1}\n{"id":2,\n');
    const b = await drkit(['backup', tree, '--repo', repo]);
    expect(b.stderr).toContain('warning: tree: data/feedback.jsonl line 2 is not valid JSON (8 bytes)\n');
    const grows = path.join(tree, 'data/grows.log');
    await writeFile(grows, 'start\n');
    const r = await Repository.open(new LocalStore(repo));
    const changed = (
      await runBackup(r, {
        sources: sourcesFromPaths([tree]),
        toolVersion: 'test',
        full: true,
        openFile: appendingOnRead(grows),
      })
    ).snapshot;

    const list = await drkit(['snapshots', '--repo', repo]);
    expect(list.stdout.split('\n')[0]).toMatch(/ SIZE +FINDINGS +TAGS$/);
    expect(list.stdout.split('\n').find((l) => l.startsWith(changed.id))).toMatch(/ 2$/);
    const listed = json((await drkit(['snapshots', '--repo', repo, '--json'])).stdout).find(
      (s: { id: string }) => s.id === changed.id,
    );
    expect(listed).toMatchObject({ findingsTotal: 2, status: 'complete' });
    expect(listed.findings).toEqual([
      expect.objectContaining({ source: 'tree', kind: 'invalid-jsonl', path: 'data/feedback.jsonl', line: 2 }),
      expect.objectContaining({
        source: 'tree',
        kind: 'changed',
        path: 'data/grows.log',
        message: expect.stringMatching(/^data\/grows\.log changed while it was read/),
      }),
    ]);

    const v = await drkit(['verify', changed.id, '--repo', repo]);
    expect(v.code).toBe(0);
    expect(v.stderr).toContain('    finding: data/feedback.jsonl line 2 is not valid JSON (8 bytes)\n');
    expect(v.stderr).toContain('    noted at backup time: data/grows.log changed while it was read');
    // The JSONL line verify found again itself is not repeated as a backup-time note.
    expect(v.stderr.match(/feedback\.jsonl line 2/g)).toHaveLength(1);
    const vj = json((await drkit(['verify', changed.id, '--repo', repo, '--json'])).stdout);
    expect(vj.snapshots[0].sources[0].backupFindings).toEqual(changed.sources[0]!.findings);
  });
});
