import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { encodeMetadata, Repository, type SourceItem } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { drkit, useSampleWorkspace } from './cli.js';

// The repository is hostile input: what others (or bit rot) changed in it is refused or
// reported by name, never followed out of the repository, the target or the cache.

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const metaFile = (id: string) => path.join(repo, 'snapshots', `${id}.json`);
const editJson = async (file: string, edit: (v: Record<string, any>) => void) => {
  const v = json(await readFile(file, 'utf8'));
  edit(v);
  await writeFile(file, encodeMetadata(v)); // with its checksum updated: what a hostile writer would do
};

/** n snapshots an hour apart (fulls every 4th unless `allFull`), each changing the tree. */
async function hourly(n: number, options: { allFull?: boolean; compression?: 'gzip' } = {}): Promise<string[]> {
  const r = await Repository.init(new LocalStore(repo), { compression: options.compression });
  const made: string[] = [];
  for (let i = 0; i < n; i++) {
    await writeFile(path.join(tree, `data/hour-${i}.jsonl`), `{"i":${i}}\n`);
    const time = new Date(Date.UTC(2026, 10, 20, i));
    const res = await runBackup(r, {
      sources: sourcesFromPaths([tree]),
      toolVersion: 'test',
      full: options.allFull || i % 4 === 0,
      clock: { now: () => time },
    });
    made.push(res.snapshot.id);
  }
  return made;
}

/** A snapshot written through the repository writer with exactly these entries (archive and index agree). */
async function crafted(items: SourceItem[]): Promise<string> {
  const r = await Repository.init(new LocalStore(repo), { compression: 'gzip' });
  const w = await r.beginSnapshot({ time: new Date(Date.UTC(2026, 10, 20)), toolVersion: 'test' });
  async function* all(): AsyncGenerator<SourceItem> {
    yield* items;
  }
  await w.writeSource({ name: 'files', type: 'files' }, all());
  return (await w.commit()).id;
}

const file = (p: string, text = 'x'): SourceItem => ({
  path: p,
  type: 'file',
  mode: 0o644,
  mtime: 1_700_000_000_000,
  size: Buffer.byteLength(text),
  content: async function* () {
    yield Buffer.from(text);
  },
});
const folder = (p: string): SourceItem => ({ path: p, type: 'dir', mode: 0o755, mtime: 1_700_000_000_000, size: 0 });

describe('a snapshot is the key it is stored under', () => {
  it('metadata whose id differs from its file name is damaged: reported, and prune keeps its data', async () => {
    const made = await hourly(6, { allFull: true });
    const victim = made[3]!;
    // One changed character, still a well-formed id.
    await editJson(metaFile(victim), (m) => (m.id = `${victim.slice(0, -1)}${victim.endsWith('0') ? '1' : '0'}`));

    const forget = await drkit(['forget', '--keep-last', '5', '--prune', '--repo', repo, '--json']);
    expect(forget.code, forget.stderr).toBe(0);
    expect(json(forget.stdout).pruned).toMatchObject({ blobs: 0 });
    expect(await readdir(path.join(repo, 'data', victim))).toHaveLength(2);

    const v = await drkit(['verify', 'all', '--repo', repo, '--json']);
    expect(v.code).toBe(4);
    const reports = json(v.stdout).snapshots as Array<{
      snapshot: string;
      ok: boolean;
      status: string;
      damaged?: string;
    }>;
    expect(reports.filter((r) => r.ok).map((r) => r.snapshot)).toEqual(made.filter((id) => id !== victim));
    expect(reports.find((r) => r.snapshot === victim)).toMatchObject({
      status: 'unreadable',
      damaged: expect.stringContaining('differs from its file name'),
    });

    // Put the id back: nothing was lost.
    await editJson(metaFile(victim), (m) => (m.id = victim));
    expect((await drkit(['restore', victim, '--target', path.join(dir, 'back'), '--repo', repo])).code).toBe(0);
  });

  it('a crafted id cannot place a restore outside its target', async () => {
    const [id] = await hourly(1);
    await mkdir(path.join(dir, 'elsewhere'));
    // Used to become the staging folder dir/elsewhere/stage-XXXXXX, and the restore exited 0.
    await editJson(metaFile(id!), (m) => (m.id = 'x/../elsewhere/stage'));
    const target = path.join(dir, 'target');
    const r = await drkit(['restore', id!, '--target', target, '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'REPO_BAD_METADATA',
      message: expect.stringContaining(`snapshots/${id}.json`),
    });
    expect(await readdir(path.join(dir, 'elsewhere'))).toEqual([]);
    expect(await readdir(dir)).not.toContain('target');
  });

  it("a crafted config.json id cannot turn the cache's eviction on folders outside the cache", async () => {
    expect((await drkit(['init', '--repo', repo, '--generate-key', path.join(dir, 'key.txt')])).code).toBe(0);
    // Four folders alike: the eviction keeps "the newest 3" of a kind.
    for (const n of ['a', 'b', 'c', 'd']) {
      await mkdir(path.join(dir, 'victim', n), { recursive: true });
      await writeFile(path.join(dir, 'victim', n, 'keep.txt'), n);
    }
    await editJson(path.join(repo, 'config.json'), (c) => (c.id = '../victim'));
    const r = await drkit(['backup', tree, '--repo', repo, '--cache-dir', path.join(dir, 'cache'), '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'REPO_BAD_METADATA',
      message: expect.stringContaining('id: not a repository id'),
    });
    expect((await readdir(path.join(dir, 'victim'))).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a bad config.json field is named in a sentence, not dumped as JSON', async () => {
    expect((await drkit(['init', '--repo', repo])).code).toBe(0);
    await editJson(path.join(repo, 'config.json'), (c) => (c.compression = 'lz4'));
    const r = await drkit(['snapshots', '--repo', repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json in .* is damaged: compression: /);
    expect(r.stderr).not.toContain('"code"');
  });
});

describe('verify of a chain whose full is damaged', () => {
  it('reports every snapshot, and each incremental as unrestorable because of the named full (exit 4)', async () => {
    const [full, inc1, inc2] = await hourly(3);
    await writeFile(metaFile(full!), '{"format": 1, "id": ');

    const r = await drkit(['verify', 'all', '--repo', repo, '--json']);
    expect(r.code).toBe(4);
    const reports = json(r.stdout).snapshots as Array<{
      snapshot: string;
      ok: boolean;
      status: string;
      unrestorableBecause?: unknown[];
    }>;
    expect(reports.map((x) => [x.snapshot, x.ok, x.status])).toEqual([
      [inc1, false, 'complete'],
      [inc2, false, 'complete'],
      [full, false, 'unreadable'],
    ]);
    for (const inc of reports.slice(0, 2))
      expect(inc.unrestorableBecause).toEqual([
        { snapshot: full, source: 'tree', state: 'damaged', reason: expect.stringContaining('not valid JSON') },
      ]);

    const text = await drkit(['verify', inc2!, '--repo', repo]);
    expect(text.code).toBe(4);
    expect(text.stderr).toContain(`unrestorable: source "tree" needs snapshot ${full}, whose metadata is damaged`);
  });
});

describe('a damaged entry index', () => {
  it('is named, with its snapshot, when a plain (gzip) index does not decompress', async () => {
    const [id] = await hourly(1, { compression: 'gzip' });
    const key = `data/${id}/tree.index.jsonl.gz`;
    const bytes = await readFile(path.join(repo, key));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(path.join(repo, key), bytes);

    const r = await drkit(['restore', id!, '--target', path.join(dir, 't'), '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    const { error } = json(r.stdout);
    expect(error.code).toBe('REPO_CORRUPT_ARCHIVE');
    expect(error.message).toContain(key);
    expect(error.message).toContain(`snapshot ${id}`);
    expect(error.hint).not.toContain('Check the disk');
  });
});

describe('a blob the disk cannot read', () => {
  it(
    'is a storage error for restore and verify, not a damaged archive (no --salvage advice), and nothing is ' +
      'written',
    async () => {
      const [id] = await hourly(1);
      const archive = (await readdir(path.join(repo, 'data', id!))).find((f) => f.startsWith('tree.tar'))!;
      // A folder where the archive should be: it opens, and every read of it fails (EISDIR), as a failing disk's would.
      await rm(path.join(repo, 'data', id!, archive));
      await mkdir(path.join(repo, 'data', id!, archive));
      const target = path.join(dir, 't');
      for (const args of [
        ['restore', id!, '--target', target],
        ['verify', id!],
      ]) {
        const r = await drkit([...args, '--repo', repo, '--json']);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
        const { error } = json(r.stdout);
        expect(error.code, args[0]).toBe('STORAGE_IO');
        expect(error.message).toContain(`Could not read data/${id}/${archive}`);
        expect(error.hint).toContain('Check the disk');
        expect(error.hint).not.toContain('--salvage');
      }
      await expect(readdir(target)).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );
});

describe('verify reports what restore would refuse', () => {
  it.each([
    [
      'a file indexed below a symlink',
      [
        {
          path: 'a',
          type: 'symlink',
          mode: 0o777,
          mtime: 1_700_000_000_000,
          size: 0,
          linkTarget: '/tmp',
        } as SourceItem,
        file('a/passwd'),
      ],
      'unsafe-path',
      'RESTORE_UNSAFE_PATH',
    ],
    ['a name over 255 bytes', [file('n'.repeat(300))], 'invalid-path', 'RESTORE_CORRUPT'],
    [
      'a path over 4,500 bytes',
      [
        ...Array.from({ length: 23 }, (_, i) => folder(Array.from({ length: i + 1 }, () => 'd'.repeat(199)).join('/'))),
        file(`${Array.from({ length: 23 }, () => 'd'.repeat(199)).join('/')}/f`),
      ],
      'invalid-path',
      'RESTORE_CORRUPT',
    ],
  ])('%s', async (_, items, kind, restoreCode) => {
    const id = await crafted(items);
    const v = await drkit(['verify', id, '--repo', repo, '--json']);
    expect(v.code).toBe(4);
    const problems = json(v.stdout).snapshots[0].sources[0].problems as Array<{ kind: string }>;
    expect(problems.map((p) => p.kind)).toContain(kind);
    const r = await drkit(['restore', id, '--target', path.join(dir, 't'), '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error.code).toBe(restoreCode);
  });

  it('a source named ".." is damaged metadata for verify and restore alike', async () => {
    const [id] = await hourly(1);
    await editJson(metaFile(id!), (m) => (m.sources[0].name = '..'));
    const v = await drkit(['verify', 'all', '--repo', repo, '--json']);
    expect(v.code).toBe(4);
    expect(json(v.stdout).snapshots[0]).toMatchObject({
      status: 'unreadable',
      damaged: expect.stringContaining('source name ".." is not a folder name'),
    });
    const r = await drkit(['restore', id!, '--target', path.join(dir, 't'), '--repo', repo, '--json']);
    expect(json(r.stdout).error.code).toBe('REPO_BAD_METADATA');
  });

  it('backup never stores a path a restore could not write: it is reported, the backup partial', async () => {
    // A short root so that the kernel still lists the whole path (PATH_MAX is 4,096 bytes).
    const root = path.join('/tmp', `d${process.pid}`);
    execFileSync('bash', [
      '-c',
      `rm -rf ${root} && mkdir ${root} && cd ${root} && for i in $(seq 16); do mkdir ${'l'.repeat(250)} && ` +
        `cd ${'l'.repeat(250)}; done; echo x > f`,
    ]);
    try {
      expect((await drkit(['init', '--repo', repo])).code).toBe(0);
      const r = await drkit(['backup', root, '--repo', repo, '--json']);
      expect(r.code).toBe(3);
      const out = json(r.stdout);
      expect(out.errors).toEqual([
        expect.objectContaining({
          kind: 'unreadable',
          message: expect.stringMatching(/is 40\d\d bytes long \(a restore can write at most 4000\)/),
        }),
      ]);
      expect((await drkit(['verify', 'latest', '--repo', repo])).code).toBe(0);
    } finally {
      execFileSync('rm', ['-rf', root]);
    }
  });
});

describe('tags and locks', () => {
  it.each([
    ['tag', ['--add', '']],
    ['backup', ['--tag', ' daily']],
  ])('%s refuses a tag the repository cannot store (usage error)', async (command, flags) => {
    expect((await drkit(['init', '--repo', repo])).code).toBe(0);
    expect((await drkit(['backup', tree, '--repo', repo])).code).toBe(0);
    const args = command === 'tag' ? ['tag', 'latest', ...flags] : ['backup', tree, ...flags];
    const r = await drkit([...args, '--repo', repo, '--json']);
    expect(r.code).toBe(2);
    expect(json(r.stdout).error.code).toBe('CLI_USAGE');
    expect(
      json((await drkit(['snapshots', '--repo', repo, '--json'])).stdout).map((x: { tags: string[] }) => x.tags),
    ).toEqual([[]]);
  });

  it("removing a stale lock removes that lock's own file, whatever id it claims", async () => {
    expect((await drkit(['init', '--repo', repo])).code).toBe(0);
    const now = new Date().toISOString();
    const live = {
      id: 'live',
      exclusive: false,
      host: hostname(),
      pid: process.pid,
      purpose: 'backup',
      time: now,
      refreshed: now,
    };
    // A dead process's lock that claims to be the live one.
    const dead = { ...live, pid: 2 ** 22 + 11, purpose: 'forget --prune' };
    await writeFile(path.join(repo, 'locks', 'live.json'), JSON.stringify(live)).catch(async () => {
      await mkdir(path.join(repo, 'locks'));
      await writeFile(path.join(repo, 'locks', 'live.json'), JSON.stringify(live));
    });
    await writeFile(path.join(repo, 'locks', 'dead.json'), JSON.stringify(dead));
    const u = await drkit(['unlock', '--repo', repo]);
    expect(u.code, u.stderr).toBe(0);
    expect(await readdir(path.join(repo, 'locks'))).toEqual(['live.json']);
  });
});
