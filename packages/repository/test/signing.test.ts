import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  copySnapshots,
  generateIdentity,
  KEYS,
  metadataChecksum,
  type OpenOptions,
  Repository,
  RepoErrorCode,
  SigningKey,
  type SourceItem,
} from '@drkit/repository';

const FORMAT_MD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/FORMAT.md');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-sign-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const signer = SigningKey.generate().key;
const pinned = (extra: Partial<NonNullable<OpenOptions['trust']>> = {}): OpenOptions => ({
  trust: { keys: [signer.publicKey], stateDir: path.join(dir, 'cache'), ...extra },
});

async function* oneFile(text: string): AsyncGenerator<SourceItem> {
  yield {
    path: 'a.txt',
    type: 'file',
    mode: 0o644,
    mtime: 1_700_000_000_000,
    size: text.length,
    content: async function* () {
      yield Buffer.from(text);
    },
  };
}

async function backup(repo: Repository, second: number, tags: string[] = []) {
  const w = await repo.beginSnapshot({ time: new Date(Date.UTC(2026, 0, 2, 3, 4, second)), toolVersion: 'test', tags });
  await w.writeSource(
    { name: 'files', type: 'files', root: { mode: 0o755, mtime: 1_796_574_967_522.4346 } },
    oneFile(`v${second}`),
  );
  // A finding about a file whose name is not UTF-8 (a lone surrogate, see the names representation).
  return w.commit({
    findings: {
      files: { list: [{ kind: 'changed', path: 'bad-\udc80-name.txt', message: 'changed while read' }], total: 1 },
    },
  });
}

const open = (name: string, options: OpenOptions = {}) =>
  Repository.open(new LocalStore(path.join(dir, name)), options);
const init = async (name: string, options: Parameters<typeof Repository.init>[1] = {}) => {
  await Repository.init(new LocalStore(path.join(dir, name)), options);
  return open(name, { signingKey: signer });
};
const metaFile = (name: string, id: string) => path.join(dir, name, KEYS.snapshot(id));

/** The fenced `lang` block of docs/FORMAT.md that contains `contains`. */
async function docBlock(lang: string, contains: string): Promise<string> {
  const blocks = [
    ...(await readFile(FORMAT_MD, 'utf8')).matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g')),
  ].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes(contains));
  expect(block, `a ${lang} block with ${contains} in FORMAT.md`).toBeDefined();
  return block!;
}

describe('signed snapshots', () => {
  it(
    "are checked by docs/FORMAT.md's Python script and openssl command, byte for byte as drkit canonicalises " +
      '(non-UTF-8 names, fractional times)',
    async () => {
      const repo = await init('repo');
      const meta = await backup(repo, 1);
      const work = path.join(dir, 'work');
      await mkdir(work);
      await writeFile(path.join(work, 'drkit_check.py'), await docBlock('python', '# python3 drkit_check.py'));
      const opensslLine = (await docBlock('sh', 'openssl pkeyutl')).split('\n').find((l) => l.startsWith('openssl '))!;
      const check = (file: string, key?: string) =>
        execFileSync('python3', ['drkit_check.py', file, ...(key ? [key] : [])], { cwd: work, encoding: 'utf8' });
      const openssl = () => spawnSync('sh', ['-c', opensslLine], { cwd: work, encoding: 'utf8' });

      expect(check(metaFile('repo', meta.id), signer.publicKey)).toBe(
        `checksum ok\nsigned by ${signer.publicKey} (pinned)\nid matches the file name\n`,
      );
      expect(openssl()).toMatchObject({
        status: 0,
        stdout: expect.stringContaining('Signature Verified Successfully'),
      });
      expect(check(path.join(dir, 'repo', KEYS.config))).toBe('checksum ok\n');

      // One changed value: both the checksum and the signature say so.
      const text = await readFile(metaFile('repo', meta.id), 'utf8');
      await writeFile(metaFile('repo', meta.id), text.replace('"mode": 493', '"mode": 511'));
      expect(check(metaFile('repo', meta.id), signer.publicKey)).toMatch(/^checksum MISMATCH\n/);
      expect(openssl()).toMatchObject({ status: 1, stdout: expect.stringContaining('Signature Verification Failure') });
    },
  );

  it('are read under a pinned key; tags change without the key and the signature still holds', async () => {
    const repo = await init('repo');
    const meta = await backup(repo, 1, ['daily']);
    const reader = await open('repo', pinned());
    const read = await reader.resolveSnapshot(meta.id);
    expect(reader.signedBy(read)).toBe(signer.publicKey);
    await (await open('repo')).setTags(meta.id, ['clean', 'daily']);
    const stored = JSON.parse(await readFile(metaFile('repo', meta.id), 'utf8'));
    expect(stored.tags).toEqual(['clean', 'daily']);
    expect(stored.checksum).toBe(metadataChecksum(stored));
    expect((await reader.resolveSnapshot('latest:clean')).id).toBe(meta.id);
  });

  it(
    'are refused when altered, and `latest` then does not ' + 'fall back to an older one; an explicit id still reads',
    async () => {
      const repo = await init('repo');
      const older = await backup(repo, 1);
      const newer = await backup(repo, 2);
      const stored = JSON.parse(await readFile(metaFile('repo', newer.id), 'utf8'));
      stored.host = 'elsewhere';
      stored.checksum = metadataChecksum(stored);
      await writeFile(metaFile('repo', newer.id), JSON.stringify(stored));
      const reader = await open('repo', pinned());
      await expect(reader.resolveSnapshot('latest')).rejects.toMatchObject({
        code: RepoErrorCode.SIGNATURE_INVALID,
        message: expect.stringContaining(
          `latest would be snapshot ${older.id}, but a newer one is refused: ${KEYS.snapshot(newer.id)}`,
        ),
      });
      expect((await reader.resolveSnapshot(older.id)).id).toBe(older.id);
      // Without a pinned key nothing changes: the edit reads as it always did.
      expect((await (await open('repo')).resolveSnapshot('latest')).host).toBe('elsewhere');
    },
  );

  it(
    'notice, through the high-water mark, that the newest snapshot was deleted; forgetting the mark accepts ' +
      'the repository as it is',
    async () => {
      const repo = await init('repo');
      const older = await backup(repo, 1);
      const newest = await backup(repo, 2);
      expect((await (await open('repo', pinned())).resolveSnapshot('latest')).id).toBe(newest.id);
      await unlink(metaFile('repo', newest.id));
      const reader = await open('repo', pinned());
      const damaged: Array<{ id: string; code: string; reason: string }> = [];
      expect((await reader.listSnapshots({ onDamaged: (d) => damaged.push(d) })).map((s) => s.id)).toEqual([older.id]);
      expect(damaged).toMatchObject([
        {
          id: newest.id,
          code: RepoErrorCode.ROLLBACK,
          reason: expect.stringContaining('it is gone, and no newer signed snapshot took its place'),
        },
      ]);
      await expect(reader.resolveSnapshot('latest')).rejects.toMatchObject({ code: RepoErrorCode.ROLLBACK });
      // A later backup moves the mark on; so does deleting the mark file (named in the message).
      const later = await backup(repo, 3);
      expect((await reader.resolveSnapshot('latest')).id).toBe(later.id);
      await unlink(metaFile('repo', later.id));
      const again: Array<{ reason: string }> = [];
      await reader.listSnapshots({ onDamaged: (d) => again.push(d) });
      await unlink(again[0]!.reason.match(/delete (\S+) to accept/)![1]!);
      expect((await reader.resolveSnapshot('latest')).id).toBe(older.id);
    },
  );

  it('say when latest:TAG passes over newer signed snapshots that lack the tag (tags are not signed)', async () => {
    const repo = await init('repo');
    const clean = await backup(repo, 1, ['clean']);
    await backup(repo, 2);
    const newest = await backup(repo, 3);
    const warnings: string[] = [];
    const reader = await open('repo', pinned({ onWarning: (m) => warnings.push(m) }));
    expect((await reader.resolveSnapshot('latest:clean')).id).toBe(clean.id);
    expect(warnings).toEqual([
      expect.stringContaining(
        `latest:clean is ${clean.id} (2026-01-02T03:04:01.000Z); 2 newer signed snapshot(s) are not tagged ` +
          `"clean", the newest ${newest.id}`,
      ),
    ]);
  });

  it('are required by a repository whose config names a signing key: a backup without one writes nothing', async () => {
    await Repository.init(new LocalStore(path.join(dir, 'repo')), { signingKeys: [signer.publicKey] });
    const keyless = await open('repo');
    await expect(keyless.beginSnapshot({ time: new Date(), toolVersion: 'test' })).rejects.toMatchObject({
      code: RepoErrorCode.SIGNING_KEY_REQUIRED,
    });
    await expect(
      Repository.init(new LocalStore(path.join(dir, 'other')), { signingKeys: ['ed25519:nope'] }),
    ).rejects.toMatchObject({ code: RepoErrorCode.BAD_SIGNING_KEY });
  });
});

describe('copies of signed snapshots', () => {
  it('carry the signature over unchanged when blobs travel as stored', async () => {
    const from = await init('a');
    const meta = await backup(from, 1);
    const to = await init('b');
    expect(await copySnapshots(from, to, 'all')).toMatchObject([
      { id: meta.id, status: 'copied', mode: 'as-stored', signature: 'kept' },
    ]);
    const copied = await (await open('b', pinned())).resolveSnapshot(meta.id);
    expect(copied.sources[0]!.archive.sha256).toBe(meta.sources[0]!.archive.sha256);
  });

  it(
    'encrypted on the way: re-signed only by a destination key, after a pinned key checked the source; ' +
      'otherwise unsigned and said so',
    async () => {
      const from = await init('a');
      const meta = await backup(from, 1);
      const recipient = generateIdentity().recipient;
      await Repository.init(new LocalStore(path.join(dir, 'unsigned')), { encryption: { recipients: [recipient] } });
      expect(await copySnapshots(from, await open('unsigned', { signingKey: signer }), 'all')).toMatchObject([
        { mode: 'encrypted', signature: 'dropped' },
      ]);
      await expect((await open('unsigned', pinned())).resolveSnapshot(meta.id)).rejects.toMatchObject({
        code: RepoErrorCode.SIGNATURE_MISSING,
      });

      await Repository.init(new LocalStore(path.join(dir, 'resigned')), { encryption: { recipients: [recipient] } });
      expect(
        await copySnapshots(await open('a', pinned()), await open('resigned', { signingKey: signer }), 'all'),
      ).toMatchObject([{ mode: 'encrypted', signature: 're-signed' }]);
      const copied = await (await open('resigned', pinned())).resolveSnapshot(meta.id);
      expect(copied.sources[0]!.archive.encryption).toBe('age');
    },
  );
});
