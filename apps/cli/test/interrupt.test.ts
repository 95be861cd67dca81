import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Repository, type SourceItem } from '@drkit/repository';
import { LocalStore, processTag } from '@drkit/storage';
import { describeTree } from '@drkit/test-support';
import { drkit, MAIN, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const entries = (d: string) => readdir(d).catch(() => [] as string[]);
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1) ?? '';

/** Runs a shell pipeline through real pipes (bash, for PIPESTATUS). */
function sh(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], { env: { ...process.env, DRKIT_REPO: repo } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * A snapshot whose index has `files` entries (about 270 bytes each
 * as `--json ls`), written without touching the disk for each.
 */
async function bigSnapshot(files: number): Promise<string> {
  const r = await Repository.init(new LocalStore(repo));
  const w = await r.beginSnapshot({ time: new Date(), toolVersion: 'test' });
  async function* items(): AsyncGenerator<SourceItem> {
    for (let d = 0; d < files / 100; d++) {
      yield { path: `dir-${d}`, type: 'dir', mode: 0o755, mtime: 1_700_000_000_000, size: 0 };
      for (let f = 0; f < 100; f++)
        yield {
          path: `dir-${d}/file-${f}.txt`,
          type: 'file',
          mode: 0o644,
          mtime: 1_700_000_000_000,
          size: 2,
          content: async function* () {
            yield Buffer.from('hi');
          },
        };
    }
  }
  await w.writeSource({ name: 'big', type: 'files' }, items());
  return (await w.commit()).id;
}

describe('output through a pipe', () => {
  it('is complete when piped (several MiB), and a reader that stops early ends drkit quietly with its usual ' +
    'exit code', async () => {
    const id = await bigSnapshot(20_000);
    const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)}`;
    const toFile = path.join(dir, 'ls.json');
    expect((await sh(`${cli} --json ls ${id} > ${toFile}`)).code).toBe(0);
    const full = (await stat(toFile)).size;
    expect(full).toBeGreaterThan(4 << 20);
    expect(Number((await sh(`${cli} --json ls ${id} | wc -c`)).stdout)).toBe(full);
    expect(Number((await sh(`${cli} ls ${id} | wc -l`)).stdout)).toBe(20_200);
    const plan = (await sh(`${cli} --json restore ${id} --target ${path.join(dir, 'nowhere')} --dry-run | cat`)).stdout;
    expect(plan.length).toBeGreaterThan(2 << 20);
    expect(json(plan).plan.items.filter((i: { type: string }) => i.type === 'file')).toHaveLength(20_000);

    const head = await sh(`set -o pipefail; ${cli} ls ${id} | head -n 1 > /dev/null; echo "drkit exited $?"`);
    expect(head.stderr).toBe('');
    expect(head.stdout).toBe('drkit exited 0\n');
  }, 120_000);
});

describe('SIGINT and SIGTERM', () => {
  it('--help lists the exit codes, 130 and 143 among them', async () => {
    const help = await drkit(['--help']);
    expect(help.stdout).toMatch(
      // long-line: a regex over the whole message, as the user reads it
      /Exit codes:\n {2}0 {4}success[\s\S]*\n {2}4 {4}verify[\s\S]*\n {2}130 {2}interrupted by SIGINT[\s\S]*\n {2}143 {2}interrupted by SIGTERM/,
    );
  });

  it(
    'a backup interrupted between sources exits 130, rolled back: no snapshot, lock, temp file or data; one ' +
      'line says so and how to finish',
    async () => {
      await drkit(['init', '--repo', repo]);
      const other = path.join(dir, 'other');
      await mkdir(other);
      await writeFile(path.join(other, 'x.txt'), 'x');
      const args = ['backup', tree, other, '--repo', repo];
      const r = await drkit(args, {
        env: { DRKIT_FAILPOINTS: 'backup.after-source=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGINT'),
      });
      expect(r.code).toBe(130);
      expect(lastLine(r.stderr)).toBe(
        `drkit: interrupted by SIGINT [BACKUP_INTERRUPTED]: The backup was interrupted and rolled back: ` +
          `snapshot ${/snapshot (\S+) was not committed/.exec(r.stderr)?.[1]} was not committed, and what it had ` +
          `written, its temporary files and its lock were removed. To finish: drkit ${args.join(' ')}`,
      );
      expect(r.stdout).toBe('');
      expect(await entries(path.join(repo, 'snapshots'))).toEqual([]);
      expect(await entries(path.join(repo, 'data'))).toEqual([]);
      expect(await entries(path.join(repo, 'locks'))).toEqual([]);
      expect((await entries(path.join(repo, '.tmp'))).filter((n) => n.endsWith('.part'))).toEqual([]);
      // --json says it too, with a stable code.
      const j = await drkit([...args, '--json'], {
        env: { DRKIT_FAILPOINTS: 'commit.before-metadata=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGTERM'),
      });
      expect(j.code).toBe(143);
      expect(json(j.stdout).error).toMatchObject({
        code: 'BACKUP_INTERRUPTED',
        hint: expect.stringMatching(/^To finish: drkit backup /),
      });
    },
  );

  it("a backup waiting for a prune's lock stops when interrupted, having written nothing", async () => {
    await drkit(['init', '--repo', repo]);
    const prune = await (await Repository.open(new LocalStore(repo))).lock({
      exclusive: true,
      purpose: 'forget --prune',
    });
    try {
      const r = await drkit(['backup', tree, '--repo', repo, '--wait', '5m'], {
        env: { DRKIT_FAILPOINTS: 'lock.after-write=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGTERM'),
      });
      expect(r.code).toBe(143);
      expect(lastLine(r.stderr)).toMatch(
        // long-line: a regex over the whole message, as the user reads it
        /^drkit: interrupted by SIGTERM \[REPO_INTERRUPTED\]: Interrupted while waiting for the lock "forget --prune" holds on \S+: nothing was written\. To finish: drkit backup /,
      );
      expect(await entries(path.join(repo, 'locks'))).toEqual([`${prune.info.id}.json`]);
    } finally {
      await prune.release();
    }
  });

  it(
    'a second signal during the clean-up stops at once ' + 'and says what it left; the next backup removes that',
    async () => {
      await drkit(['init', '--repo', repo]);
      const other = path.join(dir, 'other');
      await mkdir(other);
      await writeFile(path.join(other, 'x.txt'), 'x');
      // The first SIGINT lets the backup go on to its rollback, whose first delete then hangs.
      let signals = 0;
      const r = await drkit(['backup', tree, other, '--repo', repo], {
        env: { DRKIT_FAILPOINTS: 'backup.after-source=hang,store.before-remove-folder=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && ++signals && process.kill(pid, 'SIGINT'),
      });
      expect(signals).toBe(2);
      expect(r.code).toBe(130);
      expect(lastLine(r.stderr)).toMatch(
        // long-line: a regex over the whole message, as the user reads it
        /^drkit: second SIGINT: stopped at once, without finishing the clean-up: this backup's lock and unfinished data/,
      );
      expect(await entries(path.join(repo, 'locks'))).toHaveLength(1);
      const next = await drkit(['backup', tree, '--repo', repo]);
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(
        /note: removed a stale lock of "backup" \(pid \d+ on .*\): process \d+ on this host .* is no longer running/,
      );
      expect(await entries(path.join(repo, 'locks'))).toEqual([]);
      expect((await entries(path.join(repo, 'data'))).sort()).toEqual(
        await entries(path.join(repo, 'snapshots')).then((s) => s.map((n) => n.replace(/\.json$/, '')).sort()),
      );
    },
  );

  it(
    'a restore interrupted while extracting leaves the target untouched and no staging; interrupted while ' +
      'moving, it says how to finish, and that command finishes',
    async () => {
      await drkit(['init', '--repo', repo]);
      const { id } = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
      const target = path.join(dir, 'restored');
      const early = await drkit(['restore', id, '--target', target, '--repo', repo], {
        env: { DRKIT_FAILPOINTS: 'restore.after-extract=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGTERM'),
      });
      expect(early.code).toBe(143);
      expect(lastLine(early.stderr)).toMatch(
        // long-line: a regex over the whole message, as the user reads it
        /^drkit: interrupted by SIGTERM \[RESTORE_INTERRUPTED\]: The restore of \S+ into \S+ was interrupted before anything was moved into place: the target is untouched, and the staging folder was removed\. To finish: drkit restore /,
      );
      expect(await entries(dir)).not.toContain('restored');
      expect((await entries(dir)).filter((n) => n.startsWith('.drkit-restore-'))).toEqual([]);

      await mkdir(target);
      await writeFile(path.join(target, 'keep.txt'), 'mine');
      const args = ['restore', id, '--target', target, '--overwrite', 'never', '--repo', repo];
      const mid = await drkit(args, {
        env: { DRKIT_FAILPOINTS: 'restore.during-move=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGINT'),
      });
      expect(mid.code).toBe(130);
      const finish = ['restore', id, '--target', target, '--repo', repo, '--overwrite', 'if-changed'];
      expect(lastLine(mid.stderr)).toBe(
        `drkit: interrupted by SIGINT [RESTORE_INTERRUPTED]: The restore of ${id} into ${target} was ` +
          `interrupted part-way through moving files into place (1 change(s) made): the target holds part of the ` +
          `snapshot; the staging folder was removed. To finish: drkit ${finish.join(' ')}`,
      );
      expect((await entries(dir)).filter((n) => n.startsWith('.drkit-restore-'))).toEqual([]);
      expect((await drkit(finish)).code).toBe(0);
      expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
    },
  );
});

describe('leftovers of killed runs', () => {
  it(
    'a backup removes the temp files of a writer that ' + 'was killed, says so, and keeps those of a live one',
    async () => {
      await drkit(['init', '--repo', repo]);
      const tmp = path.join(repo, '.tmp');
      // A real writer killed mid-put leaves its temp file behind.
      const storage = createRequire(import.meta.url).resolve('@drkit/storage');
      const writer = spawn(process.execPath, [
        '--input-type=module',
        '-e',
        `
      import { PassThrough } from 'node:stream';
      import { LocalStore } from ${JSON.stringify(storage)};
      const body = new PassThrough();
      new LocalStore(${JSON.stringify(repo)}).put('data/x/never.tar.zst', body);
      body.write(Buffer.alloc(1 << 20));
      setInterval(() => {}, 1000);`,
      ]);
      let parts: string[] = [];
      while (parts.length === 0)
        parts = (await entries(tmp)).filter((n) => n.endsWith('.part') && n.startsWith(`${writer.pid}@`));
      while ((await stat(path.join(tmp, parts[0]!))).size < 1 << 20) await new Promise((r) => setImmediate(r));
      writer.kill('SIGKILL');
      await new Promise((r) => writer.on('close', r));
      // This test's own process is alive: its temp file stays, however old.
      const live = `${processTag()}-0123456789abcdef.part`;
      await writeFile(path.join(tmp, live), 'still being written');
      const hoursAgo = (Date.now() - 3 * 3_600_000) / 1000;
      await utimes(path.join(tmp, live), hoursAgo, hoursAgo);

      const b = await drkit(['backup', tree, '--repo', repo]);
      expect(b.code).toBe(0);
      expect(b.stderr).toContain(
        `note: removed 1 temporary file(s) of interrupted writes (1.0 MiB; pid ${writer.pid} on ${hostname()})`,
      );
      expect((await entries(tmp)).sort()).toEqual([live]);
    },
  );

  it(
    'prune removes an empty data folder and temp files of unknown writers older than 30 minutes, and says ' +
      'what it removed',
    async () => {
      await drkit(['init', '--repo', repo]);
      await drkit(['backup', tree, '--repo', repo]);
      await mkdir(path.join(repo, 'data', '20261101T000000Z-abcdef'));
      await mkdir(path.join(repo, '.tmp'), { recursive: true });
      for (const name of ['old.part', 'new.part']) await writeFile(path.join(repo, '.tmp', name), 'x');
      const hourAgo = (Date.now() - 3_600_000) / 1000;
      await utimes(path.join(repo, '.tmp', 'old.part'), hourAgo, hourAgo);
      const p = await drkit(['forget', '--keep-last', '5', '--prune', '--repo', repo, '--json']);
      expect(p.code).toBe(0);
      expect(json(p.stdout).pruned.leftovers).toEqual({
        tempFiles: [expect.objectContaining({ name: 'old.part', size: 1 })],
        emptyFolders: ['data/20261101T000000Z-abcdef/'],
      });
      expect(await entries(path.join(repo, '.tmp'))).toEqual(['new.part']);
      expect(await entries(path.join(repo, 'data'))).toHaveLength(1);
      await mkdir(path.join(repo, 'data', '20261101T000000Z-abcdef'));
      // Unlisted data without a lock, as a running backup's after `drkit unlock --all`: kept, and said why.
      const running = await (await Repository.open(new LocalStore(repo))).beginSnapshot({
        time: new Date(),
        toolVersion: 'test',
      });
      await running.writeSource(
        { name: 'files', type: 'files' },
        (async function* (): AsyncGenerator<SourceItem> {})(),
      );
      const human = await drkit(['forget', '--keep-last', '5', '--prune', '--repo', repo]);
      expect(human.stdout).toContain('removed 1 empty data folder(s) (data/20261101T000000Z-abcdef/)');
      expect(human.stdout).toContain(
        `pruned 0 blob(s), 0 B, of 0 snapshot(s)\nkept the data of 1 unlisted snapshot(s) younger than 30 ` +
          `minutes, which a backup may still be writing (${running.id}); a later prune removes it`,
      );
    },
  );

  it(
    'a lock file that is not a lock is removed by unlock ' + '(and by the next command that locks), and named',
    async () => {
      await drkit(['init', '--repo', repo]);
      await mkdir(path.join(repo, 'locks'));
      await writeFile(path.join(repo, 'locks', 'broken.json'), '{"id": "half');
      const u = await drkit(['unlock', '--repo', repo]);
      expect(u.stdout).toContain('removed locks/broken.json, which is not a lock file: it is not valid JSON');
      expect(await entries(path.join(repo, 'locks'))).toEqual([]);
      await mkdir(path.join(repo, 'locks'), { recursive: true });
      await writeFile(path.join(repo, 'locks', 'other.json'), '[]');
      const b = await drkit(['backup', tree, '--repo', repo]);
      expect(b.code).toBe(0);
      expect(b.stderr).toContain('note: removed locks/other.json, which is not a lock file: it is not a drkit lock');
      const all = await drkit(['unlock', '--all', '--repo', repo, '--json']);
      expect(json(all.stdout)).toEqual({ removed: [], damaged: [] });
    },
  );
});
