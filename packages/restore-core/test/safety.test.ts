import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMetadata, type IndexEntry, KEYS, Repository, RepoErrorCode, type TarHeader } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { executeRestore, planRestore, RestoreErrorCode } from '@drkit/restore-core';
import { type CraftedEntry, craftSnapshot, listing, makeTree, sha256, snapshotOf } from './helpers.js';

let dir: string;
let repo: Repository;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-restore-safety-'));
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ID = '20260101T000000Z-abcdef';
const MTIME = 1_700_000_000_000;

function file(p: string, text: string): { entry: CraftedEntry; index: IndexEntry } {
  const content = Buffer.from(text);
  const header: TarHeader = { path: p, type: 'file', mode: 0o644, mtime: MTIME, size: content.length };
  return {
    entry: { header, content },
    index: { path: p, type: 'file', mode: 0o644, mtime: MTIME, size: content.length, sha256: sha256(content) },
  };
}

/** A fresh target under `dir/work` plus a sibling folder that must stay empty. */
async function sandbox() {
  const work = path.join(dir, 'work');
  await mkdir(path.join(work, 'sibling'), { recursive: true });
  return { work, target: path.join(work, 'target') };
}

describe('refusing unsafe and damaged snapshots', () => {
  it.each([
    ['a "../" entry', '../evil.txt'],
    ['a deeper "../" entry', 'ok/../../evil.txt'],
    ['an absolute entry', '/tmp/drkit-evil-absolute.txt'],
  ])('refuses %s in the archive and writes nothing anywhere', async (_, evilName) => {
    const ok = file('ok.txt', 'fine');
    const evil = file(evilName, 'pwned');
    await craftSnapshot(repo, ID, 'files', [ok.entry, evil.entry], [ok.index]);
    const { work, target } = await sandbox();
    const before = await listing(work);

    const plan = await planRestore(repo, { snapshot: ID, target });
    const err = await executeRestore(repo, plan).catch((e) => e);

    expect(err).toMatchObject({ code: RestoreErrorCode.UNSAFE_PATH, details: { source: 'files', entry: evilName } });
    expect(err.message).toContain(JSON.stringify(evilName));
    expect(await listing(work)).toEqual(before);
    await expect(readFile('/tmp/drkit-evil-absolute.txt')).rejects.toThrow();
  });

  it('refuses an unsafe name already in the index, at plan time', async () => {
    const evil = file('../evil.txt', 'pwned');
    await craftSnapshot(repo, ID, 'files', [evil.entry], [evil.index]);
    await expect(planRestore(repo, { snapshot: ID, target: (await sandbox()).target })).rejects.toMatchObject({
      code: RestoreErrorCode.UNSAFE_PATH,
      message: expect.stringContaining('"../evil.txt"'),
    });
  });

  // Also two folders down with no index entries between: the check must not stop at the first unindexed folder.
  it.each(['a/passwd', 'a/b/c/passwd'])(
    'refuses %s, below a symlink "a" of the snapshot (writing through it)',
    async (below) => {
      const { work, target } = await sandbox();
      const link: CraftedEntry = {
        header: {
          path: 'a',
          type: 'symlink',
          mode: 0o777,
          mtime: MTIME,
          size: 0,
          linkTarget: path.join(work, 'sibling'),
        },
      };
      const through = file(below, 'pwned');
      await craftSnapshot(
        repo,
        ID,
        'files',
        [link, through.entry],
        [{ path: 'a', type: 'symlink', mode: 0o777, mtime: MTIME, linkTarget: link.header.linkTarget }, through.index],
      );
      await expect(planRestore(repo, { snapshot: ID, target })).rejects.toMatchObject({
        code: RestoreErrorCode.UNSAFE_PATH,
        message: expect.stringContaining('symbolic link "a"'),
      });
      expect(await readdir(path.join(work, 'sibling'))).toEqual([]);
    },
  );

  it(
    'never writes through a symlink in the target where the snapshot has no folder entry: a conflict, or ' +
      'moved aside with always',
    async () => {
      const { work, target } = await sandbox();
      const inside = file('a/x.txt', 'data');
      await craftSnapshot(repo, ID, 'files', [inside.entry], [inside.index]);
      await mkdir(target);
      await symlink(path.join(work, 'sibling'), path.join(target, 'a'));
      await expect(
        planRestore(repo, { snapshot: ID, target, sources: ['files'], overwrite: 'if-changed' }),
      ).rejects.toMatchObject({ code: RestoreErrorCode.CONFLICT });
      // The folder the index leaves out is in the plan like any other, so always replaces the symlink with a folder.
      const plan = await planRestore(repo, { snapshot: ID, target, sources: ['files'], overwrite: 'always' });
      expect(plan.items.map((i) => [i.path, i.type, i.action])).toEqual([
        ['', 'dir', 'skip-existing'],
        ['a', 'dir', 'replace'],
        ['a/x.txt', 'file', 'create'],
      ]);
      await executeRestore(repo, plan);
      expect(await readdir(path.join(work, 'sibling'))).toEqual([]);
      expect((await lstat(path.join(target, 'a'))).isDirectory()).toBe(true);
      expect(await readFile(path.join(target, 'a/x.txt'), 'utf8')).toBe('data');
    },
  );

  it('refuses a symlink swapped into the target after planning, before writing anything through it', async () => {
    const source = path.join(dir, 'src');
    await makeTree(source);
    const meta = await snapshotOf(repo, { files: source });
    const { work, target } = await sandbox();
    await mkdir(path.join(target, 'app'), { recursive: true });
    const plan = await planRestore(repo, { snapshot: meta.id, target, sources: ['files'], overwrite: 'never' });
    await rm(path.join(target, 'app'), { recursive: true });
    await symlink(path.join(work, 'sibling'), path.join(target, 'app'));
    const before = await listing(work);

    await expect(executeRestore(repo, plan)).rejects.toMatchObject({ code: RestoreErrorCode.UNSAFE_PATH });
    expect(await listing(work)).toEqual(before);
  });

  it('refuses a target that is itself a symlink', async () => {
    const ok = file('ok.txt', 'fine');
    await craftSnapshot(repo, ID, 'files', [ok.entry], [ok.index]);
    const { work } = await sandbox();
    await symlink(path.join(work, 'sibling'), path.join(work, 'link'));
    await expect(planRestore(repo, { snapshot: ID, target: path.join(work, 'link') })).rejects.toMatchObject({
      code: RestoreErrorCode.TARGET_INVALID,
    });
  });

  it.each([
    [
      'an entry missing from the index',
      [file('ok.txt', 'fine'), file('extra.txt', 'x')],
      [file('ok.txt', 'fine')],
      'not in the snapshot',
    ],
    [
      'an index entry missing from the archive',
      [file('ok.txt', 'fine')],
      [file('ok.txt', 'fine'), file('gone.txt', 'x')],
      'missing from the archive',
    ],
    [
      'content that does not match the index',
      [file('ok.txt', 'evil')],
      [file('ok.txt', 'fine')],
      'does not match the index',
    ],
    [
      'a type that differs from the index',
      [{ entry: { header: { path: 'ok.txt', type: 'dir', mode: 0o755, mtime: MTIME, size: 0 } } }],
      [file('ok.txt', 'fine')],
      'is a dir in the archive',
    ],
  ] as const)('refuses %s as RESTORE_CORRUPT naming source and entry', async (_, archive, index, why) => {
    await craftSnapshot(
      repo,
      ID,
      'files',
      archive.map((a) => a.entry),
      index.map((i) => ('index' in i ? i.index : i)) as IndexEntry[],
    );
    const { target } = await sandbox();
    const err = await executeRestore(repo, await planRestore(repo, { snapshot: ID, target })).catch((e) => e);
    expect(err).toMatchObject({ code: RestoreErrorCode.CORRUPT, details: { source: 'files' } });
    expect(err.message).toContain(why);
    expect(await readdir(path.dirname(target))).toEqual(['sibling']);
  });

  describe('a flipped byte in a stored archive', () => {
    async function damagedSnapshot() {
      const source = path.join(dir, 'src');
      await makeTree(source);
      // Random bytes do not compress, so gzip stores them and the middle of the blob is file content.
      await writeFile(path.join(source, 'random.bin'), randomBytes(512 * 1024));
      const meta = await snapshotOf(repo, { files: source });
      const blob = path.join(dir, 'repo', ...meta.sources[0]!.archive.key.split('/'));
      const bytes = await readFile(blob);
      bytes[bytes.length >> 1]! ^= 0xff;
      await writeFile(blob, bytes);
      return meta;
    }
    const failure = [RestoreErrorCode.CORRUPT, RepoErrorCode.DIGEST_MISMATCH, RepoErrorCode.CORRUPT_ARCHIVE];

    it('fails the restore into a new folder, which is never created, and leaves no staging folder', async () => {
      const meta = await damagedSnapshot();
      const { work, target } = await sandbox();
      const err = await executeRestore(repo, await planRestore(repo, { snapshot: meta.id, target })).catch((e) => e);
      expect(failure).toContain(err.code);
      expect(err.message).toMatch(/random\.bin|damaged/);
      expect(await readdir(work)).toEqual(['sibling']);
    });

    it('fails the restore into an existing folder and leaves it exactly as it was', async () => {
      const meta = await damagedSnapshot();
      const { work, target } = await sandbox();
      await makeTree(target);
      await writeFile(path.join(target, 'app/config.yaml'), 'changed locally\n');
      const before = await listing(target);
      const err = await executeRestore(
        repo,
        await planRestore(repo, { snapshot: meta.id, target, overwrite: 'always' }),
      ).catch((e) => e);
      expect(failure).toContain(err.code);
      expect(await listing(target)).toEqual(before);
      expect((await readdir(work)).sort()).toEqual(['sibling', 'target']);
    });
  });

  it(
    'fails on the archive digest checked at its end, even when every entry looked right, and leaves the ' +
      'target as it was',
    async () => {
      const source = path.join(dir, 'src');
      await makeTree(source);
      const meta = await snapshotOf(repo, { files: source });
      const metaFile = path.join(dir, 'repo', ...KEYS.snapshot(meta.id).split('/'));
      const json = JSON.parse(await readFile(metaFile, 'utf8'));
      json.sources[0].archive.sha256 = '0'.repeat(64);
      await writeFile(metaFile, encodeMetadata(json)); // an edit with its checksum updated
      const { work, target } = await sandbox();
      await makeTree(target);
      const before = await listing(work);

      const plan = await planRestore(repo, { snapshot: meta.id, target, overwrite: 'always' });
      await expect(executeRestore(repo, plan)).rejects.toMatchObject({ code: RepoErrorCode.DIGEST_MISMATCH });
      expect(await listing(work)).toEqual(before);
    },
  );

  it('refuses a plan that is not a plan', async () => {
    await expect(executeRestore(repo, { snapshot: ID } as never)).rejects.toMatchObject({
      code: RestoreErrorCode.BAD_OPTIONS,
    });
    // An item the snapshot does not have: refused before anything is moved into place.
    const ok = file('ok.txt', 'fine');
    await craftSnapshot(repo, ID, 'files', [ok.entry], [ok.index]);
    const { target } = await sandbox();
    const plan = await planRestore(repo, { snapshot: ID, target });
    plan.items.push({ source: 'files', path: 'files/extra.txt', type: 'file', size: 0, action: 'create' });
    await expect(executeRestore(repo, plan)).rejects.toMatchObject({
      code: RestoreErrorCode.BAD_OPTIONS,
      message: expect.stringContaining('"files/extra.txt" is not in the snapshot'),
    });
    expect(await readdir(path.dirname(target))).toEqual(['sibling']);
    await expect(
      planRestore(repo, { snapshot: 'latest', target: dir, overwrite: 'sometimes' as never }),
    ).rejects.toMatchObject({
      code: RestoreErrorCode.BAD_OPTIONS,
    });
  });
});
