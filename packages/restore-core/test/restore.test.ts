import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMetadata, KEYS, Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { executeRestore, formatPlan, planRestore, type RestoreProgress, RestoreErrorCode } from '@drkit/restore-core';
import { LONG_PATH, listing, makeTree, setMtimes, snapshotOf, UNICODE_PATH, walkTree } from './helpers.js';

let dir: string;
let repo: Repository;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-restore-'));
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function twoSourceSnapshot() {
  const config = path.join(dir, 'src-config');
  const data = path.join(dir, 'src-data');
  await makeTree(config);
  await mkdir(path.join(data, 'db'), { recursive: true });
  await writeFile(path.join(data, 'db', 'users.jsonl'), '{"id":1}\n');
  await setMtimes(data, 1_600_000_000_000);
  return { config, data, meta: await snapshotOf(repo, { config, data }) };
}

const leftovers = async (parent: string) => (await readdir(parent)).filter((n) => n.startsWith('.drkit-restore-'));

describe('restore round trip', () => {
  it(
    'stops when its signal fires mid-extraction: RESTORE_INTERRUPTED, the target untouched, no staging left; ' +
      "the next restore removes a killed one's staging",
    async () => {
      const { meta } = await twoSourceSnapshot();
      const target = path.join(dir, 'restored');
      const abort = new AbortController();
      const plan = await planRestore(repo, { snapshot: meta.id, target });
      let stagedWhenAborted: string[] = [];
      const run = executeRestore(repo, plan, {
        signal: abort.signal,
        onProgress: () => {
          if (abort.signal.aborted) return;
          stagedWhenAborted = readdirSync(dir).filter((n) => n.startsWith('.drkit-restore-'));
          abort.abort(new Error('stop'));
        },
      });
      await expect(run).rejects.toMatchObject({
        code: RestoreErrorCode.INTERRUPTED,
        message: expect.stringContaining('the target is untouched, and the staging folder was removed'),
      });
      expect(stagedWhenAborted).toHaveLength(1);
      expect(await leftovers(dir)).toEqual([]);
      expect(existsSync(target)).toBe(false);
      // What a killed restore leaves: a staging folder named after a process that is gone.
      const killed = path.join(
        dir,
        `.drkit-restore-${meta.id}-${2 ** 22 + 3}@${encodeURIComponent(hostname())}-AbC123`,
      );
      await mkdir(path.join(killed, 'tree'), { recursive: true });
      const warnings: string[] = [];
      await executeRestore(repo, await planRestore(repo, { snapshot: meta.id, target }), {
        onWarning: (m) => warnings.push(m),
      });
      expect(warnings).toEqual([
        `removed ${killed}, the staging folder of a restore that was killed (pid ${2 ** 22 + 3} is gone)`,
      ]);
      expect(await leftovers(dir)).toEqual([]);
    },
  );

  it(
    'holds a shared lock while it reads the archives, so ' + 'a prune cannot delete them underneath, and releases it',
    async () => {
      const source = path.join(dir, 'src');
      await makeTree(source);
      await snapshotOf(repo, { files: source });
      const plan = await planRestore(repo, { snapshot: 'latest', target: path.join(dir, 'restored') });
      const seen: string[][] = [];
      const lockDir = path.join(dir, 'repo', 'locks');
      const locks = () =>
        (existsSync(lockDir) ? readdirSync(lockDir) : []).map(
          (n) => JSON.parse(readFileSync(path.join(lockDir, n), 'utf8')).purpose,
        );
      await executeRestore(repo, plan, { onProgress: () => seen.push(locks()) });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((l) => l.length === 1 && l[0] === 'restore')).toBe(true);
      expect(locks()).toEqual([]);
    },
  );

  it('restores nested and empty folders, symlinks, modes, mtimes, long and non-ASCII names identically', async () => {
    const source = path.join(dir, 'src');
    await makeTree(source);
    const meta = await snapshotOf(repo, { files: source });
    const target = path.join(dir, 'restored');
    const progress: RestoreProgress[] = [];

    const plan = await planRestore(repo, { snapshot: 'latest', target });
    const result = await executeRestore(repo, plan, { onProgress: (p) => progress.push(p) });

    const before = await listing(source);
    expect(before.map((e) => e.path)).toContain(LONG_PATH);
    expect(before.map((e) => e.path)).toContain(UNICODE_PATH);
    expect(LONG_PATH.length).toBeGreaterThan(150);
    expect(await listing(path.join(target, 'files'))).toEqual(before);
    expect((await listing(target)).filter((e) => !e.path.startsWith('files/')).map((e) => e.path)).toEqual(['files']);
    expect(before.find((e) => e.path === 'app/config.yaml')).toMatchObject({ mode: 0o600 });
    expect(before.find((e) => e.path === 'app/run.sh')).toMatchObject({ mode: 0o755 });
    expect(before.find((e) => e.path === 'empty-dir')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(before.find((e) => e.path === 'app/config-link')).toMatchObject({
      type: 'symlink',
      linkTarget: 'config.yaml',
    });

    // 7 folders of the tree and the one the source lands in.
    expect(result).toEqual({
      snapshot: meta.id,
      target,
      written: { files: 6, dirs: 8, symlinks: 2, bytes: plan.totals.bytes },
      mtimeOnly: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
      skipped: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
      from: [
        {
          source: 'files',
          type: 'files',
          snapshot: meta.id,
          time: meta.time,
          host: meta.host,
          origin: meta.sources[0]!.origin,
        },
      ],
    });
    expect(progress.at(-1)).toMatchObject({ files: 6, bytes: plan.toWrite.bytes, totalBytes: plan.toWrite.bytes });
    expect(await leftovers(dir)).toEqual([]);
  });

  it(
    'restores large files, written behind while later small files are written, with their contents, modes and ' +
      'mtimes',
    async () => {
      const source = path.join(dir, 'src');
      await makeTree(source);
      for (let i = 0; i < 4; i++) {
        await mkdir(path.join(source, `big/${i}`), { recursive: true });
        await writeFile(path.join(source, `big/${i}/large.bin`), randomBytes(3 * 1024 * 1024 + i * 4099), {
          mode: 0o640,
        });
        await writeFile(path.join(source, `big/${i}/small.txt`), `small ${i}\n`);
      }
      await setMtimes(source, 1_650_000_000_000);
      await snapshotOf(repo, { files: source });
      const target = path.join(dir, 'restored');
      await executeRestore(repo, await planRestore(repo, { snapshot: 'latest', target }));
      const before = await listing(source);
      expect(before.filter((e) => e.type === 'file' && (e.size ?? 0) >= 3 * 1024 * 1024)).toHaveLength(4);
      expect(await listing(path.join(target, 'files'))).toEqual(before);
    },
  );

  it(
    "gives the folder a source lands in the mode and mtime of the source's root; snapshots without a root " +
      'leave it be',
    async () => {
      const source = path.join(dir, 'src');
      await makeTree(source);
      const writer = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
      await writer.writeSource(
        { name: 'files', type: 'files', root: { mode: 0o751, mtime: 1_500_000_000_500 } },
        walkTree(source),
      );
      await writer.writeSource({ name: 'older', type: 'files' }, walkTree(source));
      const meta = await writer.commit();
      const modeAndTime = async (p: string) => {
        const st = await stat(p);
        return { mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
      };
      const rooted = { mode: 0o751, mtimeMs: 1_500_000_000_500 };

      const all = path.join(dir, 'all');
      await executeRestore(repo, await planRestore(repo, { snapshot: meta.id, target: all }));
      expect(await modeAndTime(path.join(all, 'files'))).toEqual(rooted);
      expect(await modeAndTime(path.join(all, 'older'))).not.toEqual(rooted);
      expect(await listing(path.join(all, 'older'))).toEqual(await listing(source));

      // Straight into an existing, non-empty target: never leaves the folder as it is, always sets it.
      const existing = path.join(dir, 'existing');
      await mkdir(existing);
      await writeFile(path.join(existing, 'local-only.txt'), 'mine');
      await chmod(existing, 0o700);
      await executeRestore(
        repo,
        await planRestore(repo, { snapshot: meta.id, target: existing, sources: ['files'], overwrite: 'never' }),
      );
      // Like any existing folder under never: its mode stays; its mtime is that of the new entries moved in.
      const after = await modeAndTime(existing);
      expect(after.mode).toBe(0o700);
      expect(after.mtimeMs).not.toBe(rooted.mtimeMs);
      await executeRestore(
        repo,
        await planRestore(repo, { snapshot: meta.id, target: existing, sources: ['files'], overwrite: 'always' }),
      );
      expect(await modeAndTime(existing)).toEqual(rooted);
      expect(await readFile(path.join(existing, 'local-only.txt'), 'utf8')).toBe('mine');
    },
  );

  it(
    'restores a single named source straight into the ' + 'target, and several sources into folders named after them',
    async () => {
      const { config, data, meta } = await twoSourceSnapshot();

      const one = await planRestore(repo, {
        snapshot: meta.id.slice(0, 12),
        target: path.join(dir, 'only-config'),
        sources: ['config'],
      });
      expect(one.sources).toEqual([{ name: 'config', dir: '' }]);
      await executeRestore(repo, one);
      expect(await listing(path.join(dir, 'only-config'))).toEqual(await listing(config));

      const all = await planRestore(repo, { snapshot: meta.id, target: path.join(dir, 'all') });
      expect(all.sources).toEqual([
        { name: 'config', dir: 'config' },
        { name: 'data', dir: 'data' },
      ]);
      await executeRestore(repo, all);
      expect(await listing(path.join(dir, 'all', 'config'))).toEqual(await listing(config));
      expect(await listing(path.join(dir, 'all', 'data'))).toEqual(await listing(data));

      await expect(
        planRestore(repo, { snapshot: meta.id, target: path.join(dir, 'x'), sources: ['nope'] }),
      ).rejects.toMatchObject({
        code: 'REPO_SOURCE_NOT_FOUND',
      });
    },
  );

  it('leaves sources that are not file trees out of a folder restore, and refuses one named explicitly', async () => {
    const { config, meta } = await twoSourceSnapshot();
    const metaFile = path.join(dir, 'repo', ...KEYS.snapshot(meta.id).split('/'));
    const json = JSON.parse(await readFile(metaFile, 'utf8'));
    json.sources[1].type = 'redis';
    await writeFile(metaFile, encodeMetadata(json)); // an edit with its checksum updated

    const plan = await planRestore(repo, { snapshot: meta.id, target: path.join(dir, 'files-only') });
    expect(plan.sources).toEqual([{ name: 'config', dir: 'config' }]);
    expect(plan.notRestored).toEqual([{ name: 'data', type: 'redis' }]);
    expect(formatPlan(plan)).toContain('source data is a redis source: not restored into a folder');
    await executeRestore(repo, plan);
    expect(await listing(path.join(dir, 'files-only', 'config'))).toEqual(await listing(config));
    await expect(
      planRestore(repo, { snapshot: meta.id, target: path.join(dir, 'x'), sources: ['data'] }),
    ).rejects.toMatchObject({
      code: RestoreErrorCode.UNSUPPORTED_SOURCE,
      details: { source: 'data', type: 'redis' },
    });
  });

  it(
    'selects entries with include globs, bringing the ' + 'folders above them and everything below a matched folder',
    async () => {
      const { config, meta } = await twoSourceSnapshot();
      const target = path.join(dir, 'partial');

      const yaml = await planRestore(repo, { snapshot: meta.id, target, sources: ['config'], include: ['**/*.yaml'] });
      expect(yaml.items.map((i) => [i.path, i.type])).toEqual([
        ['', 'dir'],
        ['app', 'dir'],
        ['app/config.yaml', 'file'],
      ]);
      await executeRestore(repo, yaml);
      const source = await listing(config);
      expect(await listing(target)).toEqual(source.filter((e) => e.path === 'app' || e.path === 'app/config.yaml'));

      const folder = await planRestore(repo, {
        snapshot: meta.id,
        target: path.join(dir, 'folder'),
        include: ['data/nested'],
      });
      // Only config has a data/nested folder: data gets no folder at all.
      expect(folder.items.map((i) => i.path)).toEqual([
        'config',
        'config/data',
        'config/data/nested',
        'config/data/nested/deeper',
        'config/data/nested/deeper/records.jsonl',
      ]);

      await expect(
        planRestore(repo, { snapshot: meta.id, target: path.join(dir, 'none'), include: ['*.nothing'] }),
      ).rejects.toMatchObject({
        code: RestoreErrorCode.NOTHING_SELECTED,
      });
    },
  );

  it('makes a JSON-serialisable dry-run plan that writes nothing, and prints it for humans', async () => {
    const { meta } = await twoSourceSnapshot();
    const target = path.join(dir, 'dry');
    const plan = await planRestore(repo, { snapshot: meta.id, target, sources: ['data'] });

    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(plan).toEqual({
      snapshot: meta.id,
      target,
      targetState: 'missing',
      sources: [{ name: 'data', dir: '' }],
      items: [
        { source: 'data', path: '', type: 'dir', size: 0, action: 'create' },
        { source: 'data', path: 'db', type: 'dir', size: 0, action: 'create' },
        { source: 'data', path: 'db/users.jsonl', type: 'file', size: 9, action: 'create' },
      ],
      totals: { files: 1, dirs: 2, symlinks: 0, bytes: 9 },
      toWrite: { files: 1, dirs: 2, symlinks: 0, bytes: 9 },
      mtimeOnly: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
      skipped: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
    });
    const text = formatPlan(plan);
    expect(text).toContain(`Restore snapshot ${meta.id} into ${target} (new folder, no overwrite)`);
    expect(text).toMatch(/create {2}\.\/\n/);
    expect(text).toMatch(/create {2}db\/users\.jsonl {2}9 B/);
    expect(text).toContain('To write: 1 file (9 B), 2 folders, 0 symlinks');
    expect(await readdir(dir)).not.toContain('dry');
  });
});

describe('restore into a folder that already has files', () => {
  async function prepared() {
    const { config, meta } = await twoSourceSnapshot();
    const target = path.join(dir, 'live');
    await mkdir(path.join(target, 'app'), { recursive: true });
    await writeFile(path.join(target, 'app/config.yaml'), 'key: VALUE\n'); // same size, other content
    await writeFile(path.join(target, 'app/run.sh'), '#!/bin/sh\necho hi\n'); // identical content
    await writeFile(path.join(target, 'local-only.txt'), 'mine');
    const plan = (overwrite?: 'never' | 'if-changed' | 'always') =>
      planRestore(repo, { snapshot: meta.id, target, sources: ['config'], overwrite });
    const actionOf = (p: Awaited<ReturnType<typeof plan>>, rel: string) => p.items.find((i) => i.path === rel)?.action;
    return { config, target, plan, actionOf };
  }

  it('refuses a non-empty target unless an overwrite policy is given', async () => {
    const { target, plan } = await prepared();
    const err = await plan().catch((e) => e);
    expect(err).toMatchObject({ code: RestoreErrorCode.TARGET_NOT_EMPTY, details: { target } });
    expect(err.message).toContain(target);
    expect(err.hint).toMatch(/--overwrite never.*if-changed.*always/);
    expect(err.hint).toMatch(/empty/);
  });

  it('never: keeps every existing file and writes only the missing ones', async () => {
    const { target, plan, actionOf } = await prepared();
    const p = await plan('never');
    expect(actionOf(p, 'app/config.yaml')).toBe('skip-existing');
    expect(actionOf(p, 'app/run.sh')).toBe('skip-existing');
    expect(actionOf(p, 'app/config-link')).toBe('create');
    const result = await executeRestore(repo, p);
    expect(await readFile(path.join(target, 'app/config.yaml'), 'utf8')).toBe('key: VALUE\n');
    expect(await readFile(path.join(target, 'data/nested/deeper/records.jsonl'), 'utf8')).toHaveLength(200_000);
    expect(await readFile(path.join(target, 'local-only.txt'), 'utf8')).toBe('mine');
    expect(result.skipped).toMatchObject({ files: 2 });
  });

  it(
    'if-changed: replaces what differs in content, size, mode or link target and says why; sets a differing ' +
      'mtime alone; skips what is equal',
    async () => {
      const { config, target, plan } = await prepared();
      const at = (rel: string) => path.join(target, rel);
      const sameTimes = async (rel: string) => {
        const st = await lstat(path.join(config, rel));
        await lutimes(at(rel), st.atimeMs / 1000, st.mtimeMs / 1000);
      };
      // the snapshot's content, but 0644 where the snapshot has 0600
      await writeFile(at('app/config.yaml'), 'key: value\n');
      await chmod(at('app/config.yaml'), 0o644);
      await sameTimes('app/config.yaml');
      await writeFile(at('app/run.sh'), 'x'); // another size
      await mkdir(at('data'), { recursive: true });
      await writeFile(at('data/empty.txt'), ''); // equal but for its mtime
      await mkdir(at(path.dirname(LONG_PATH)), { recursive: true });
      await writeFile(at(LONG_PATH), 'long\n'); // equal
      await sameTimes(LONG_PATH);
      await symlink('elsewhere', at('app/config-link'));
      await symlink('/nonexistent/absolute/target', at('app/dangling')); // equal but for its mtime
      await mkdir(at('empty-dir'), { mode: 0o755 }); // a folder whose mode differs
      await chmod(at('empty-dir'), 0o755);
      const inode = async (rel: string) => (await lstat(at(rel))).ino;
      const inodes = { yaml: await inode('app/config.yaml'), empty: await inode('data/empty.txt') };

      const p = await plan('if-changed');
      const decided = (rel: string) => {
        const { action, reason } = p.items.find((i) => i.path === rel)!;
        return reason ? `${action} (${reason})` : action;
      };
      expect(decided('app/config.yaml')).toBe('replace (mode 0644 → 0600)');
      expect(decided('app/run.sh')).toBe('replace (mode 0644 → 0755, size 1 → 18 bytes)');
      expect(decided('data/empty.txt')).toMatch(/^set-mtime \(mtime 20\d\d-.*Z → 2023-11-14T22:\d\d:\d\d\.\d{3}Z\)$/);
      expect(decided(LONG_PATH)).toBe('skip-unchanged');
      expect(decided('app/config-link')).toBe('replace (link target "elsewhere" → "config.yaml")');
      expect(decided('app/dangling')).toMatch(/^set-mtime \(mtime /);
      expect(decided('app')).toBe('replace (mode 0755 → 0750)');
      expect(decided('empty-dir')).toBe('replace (mode 0755 → 0700)');
      expect(p.mtimeOnly).toMatchObject({ files: 1, symlinks: 1 });
      const text = formatPlan(p);
      expect(text).toMatch(/replace +app\/config\.yaml {2}11 B {2}\(mode 0644 → 0600\)/);
      expect(text).toContain('Content kept, mtime set: ');

      const result = await executeRestore(repo, p);
      expect(result.mtimeOnly).toEqual(p.mtimeOnly);
      const restored = await listing(target);
      for (const e of await listing(config)) expect(restored).toContainEqual(e);
      expect(await inode('app/config.yaml')).not.toBe(inodes.yaml);
      expect(await inode('data/empty.txt')).toBe(inodes.empty); // its mtime set, its content not rewritten
      expect(await readFile(at('local-only.txt'), 'utf8')).toBe('mine');
      // Run again: everything is equal now (the target itself:
      // this snapshot recorded no root mode and mtime to compare).
      const again = (await plan('if-changed')).items;
      expect(again[0]).toMatchObject({ path: '', action: 'skip-existing' });
      expect(new Set(again.slice(1).map((i) => i.action))).toEqual(new Set(['skip-unchanged']));
    },
  );

  it(
    'always: replaces everything, including a path of ' + 'another type; without it a type clash is a conflict',
    async () => {
      const { config, target, plan, actionOf } = await prepared();
      await mkdir(path.join(target, 'empty-dir-was-file'), { recursive: true });
      await rm(path.join(target, 'app/run.sh'));
      await mkdir(path.join(target, 'app/run.sh/inner'), { recursive: true }); // a folder where a file goes
      await writeFile(path.join(target, 'empty-dir'), 'a file where a folder goes');

      for (const policy of ['never', 'if-changed'] as const) {
        const err = await plan(policy).catch((e) => e);
        expect(err).toMatchObject({ code: RestoreErrorCode.CONFLICT, details: { count: 2 } });
        expect(err.message).toContain(path.join(target, 'app/run.sh'));
      }
      const p = await plan('always');
      expect(actionOf(p, 'app/run.sh')).toBe('replace');
      expect(actionOf(p, 'app/config.yaml')).toBe('replace');
      await executeRestore(repo, p);
      const restored = await listing(target);
      for (const e of await listing(config)) expect(restored).toContainEqual(e);
      expect(await readFile(path.join(target, 'local-only.txt'), 'utf8')).toBe('mine');
      expect(await leftovers(dir)).toEqual([]);
    },
  );

  it(
    'never writes through a symlink in the target: a symlink where a folder goes is a conflict, or replaced ' +
      'with always',
    async () => {
      const { config, target, plan } = await prepared();
      const outside = path.join(dir, 'outside');
      await mkdir(outside);
      await rm(path.join(target, 'app'), { recursive: true });
      await symlink(outside, path.join(target, 'app'));

      await expect(plan('if-changed')).rejects.toMatchObject({ code: RestoreErrorCode.CONFLICT });
      await executeRestore(repo, await plan('always'));
      expect(await readdir(outside)).toEqual([]);
      const restored = await listing(target);
      for (const e of (await listing(config)).filter((x) => x.path.startsWith('app')))
        expect(restored).toContainEqual(e);
    },
  );

  it('refuses to run a plan when the target changed since planning', async () => {
    const { target, plan } = await prepared();
    const p = await plan('never');
    await rm(target, { recursive: true });
    await expect(executeRestore(repo, p)).rejects.toMatchObject({ code: RestoreErrorCode.TARGET_CHANGED });
  });

  it('restores read-only folder modes after their contents are in place, and restores over them', async () => {
    const source = path.join(dir, 'ro');
    await mkdir(path.join(source, 'locked/sub'), { recursive: true });
    await writeFile(path.join(source, 'locked/sub/f.txt'), 'x');
    await chmod(path.join(source, 'locked/sub'), 0o555);
    await chmod(path.join(source, 'locked'), 0o500);
    await setMtimes(source, 1_500_000_000_000);
    const meta = await snapshotOf(repo, { ro: source });
    const target = path.join(dir, 'ro-out');
    await executeRestore(repo, await planRestore(repo, { snapshot: meta.id, target, sources: ['ro'] }));
    expect(await listing(target)).toEqual(await listing(source));
    // Again over the read-only tree: its folders are opened up for the moves, then get their modes back.
    await executeRestore(
      repo,
      await planRestore(repo, { snapshot: meta.id, target, sources: ['ro'], overwrite: 'always' }),
    );
    expect(await listing(target)).toEqual(await listing(source));
    for (const root of [source, target])
      for (const d of ['locked', 'locked/sub']) await chmod(path.join(root, d), 0o700);
  });
});
