import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  canWriteZstd,
  generateIdentity,
  KEYS,
  readIdentities,
  Repository,
  RepoErrorCode,
  type SourceItem,
} from '@drkit/repository';

const MARKER = 'MARKER-7f3a9c-plaintext-must-not-leak';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-enc-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const content = Buffer.from(`${MARKER}\n`.repeat(5000));
const items = (): SourceItem[] => [
  { path: 'd', type: 'dir', mode: 0o755, mtime: 1_700_000_000_000, size: 0 },
  {
    path: 'd/secret.txt',
    type: 'file',
    mode: 0o600,
    mtime: 1_700_000_001_000,
    size: content.length,
    content: async function* () {
      yield content;
    },
  },
];

async function* from<T>(list: T[]): AsyncGenerator<T> {
  yield* list;
}

async function backup(repo: Repository) {
  const w = await repo.beginSnapshot({ time: new Date('2026-01-02T03:04:05Z'), toolVersion: 'test' });
  await w.writeSource({ name: 'files', type: 'files' }, from(items()));
  return w.commit();
}

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe('encrypted repositories (age)', () => {
  it('stores .age archives and indexes that hold no plaintext, and that age -d | tar restores', async () => {
    const key = generateIdentity();
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root), { encryption: { recipients: [key.recipient] } });
    const meta = await backup(repo);
    const src = meta.sources[0]!;
    expect(src.archive.key).toBe(`data/${meta.id}/files${canWriteZstd ? '.tar.zst' : '.tar.gz'}.age`);
    expect(src.archive.encryption).toBe('age');
    expect(src.index!.key).toMatch(/\.index\.jsonl\.(zst|gz)\.age$/);
    expect(meta.encryption).toEqual({ type: 'age', recipients: [key.recipient] });
    const config = JSON.parse(await readFile(path.join(root, KEYS.config), 'utf8'));
    expect(config.encryption).toEqual({ type: 'age', recipients: [key.recipient] });
    // No file of the repository, metadata included, contains the content or the file name in clear.
    for (const f of await allFiles(root)) {
      const bytes = await readFile(f);
      expect(bytes.includes(MARKER), f).toBe(false);
      expect(bytes.includes('secret.txt'), f).toBe(false);
    }
    const keyFile = path.join(dir, 'key.txt');
    await writeFile(keyFile, key.fileText, { mode: 0o600 });
    const out = path.join(dir, 'out');
    await mkdir(out);
    execFileSync('sh', [
      '-c',
      `age -d -i "$1" "$2" | tar ${canWriteZstd ? '--zstd' : '-z'} -xf - -C "$3"`,
      'sh',
      keyFile,
      path.join(root, src.archive.key),
      out,
    ]);
    expect((await readFile(path.join(out, 'd/secret.txt'))).equals(content)).toBe(true);
  });

  it('reads back with the identity; without it or with another one fails naming what is needed', async () => {
    const key = generateIdentity();
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { recipients: [key.recipient] } });
    const meta = await backup(await Repository.open(store));
    const src = meta.sources[0]!;

    const noKey = await Repository.open(store);
    expect(noKey.keys.canDecrypt).toBe(false);
    await expect(noKey.readIndex(src).next()).rejects.toMatchObject({
      code: RepoErrorCode.IDENTITY_REQUIRED,
      message: expect.stringContaining(key.recipient),
      hint: expect.stringContaining('--identity'),
    });

    const other = await Repository.open(store, { identities: [generateIdentity().identity] });
    await expect(other.readIndex(src).next()).rejects.toMatchObject({
      code: RepoErrorCode.WRONG_IDENTITY,
      message: expect.stringContaining(key.recipient),
    });

    const good = await Repository.open(store, { identities: readIdentities(key.fileText, 'key.txt') });
    const paths: string[] = [];
    for await (const e of good.readIndex(src)) paths.push(e.path);
    expect(paths).toEqual(['d', 'd/secret.txt']);
    const chunks: Buffer[] = [];
    for await (const e of good.readArchive(src))
      if (e.type === 'file') for await (const c of e.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('with a passphrase: backs up without it, reads with it, refuses a wrong one', async () => {
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { passphrase: 'a long passphrase', scryptLogN: 12 } });
    const meta = await backup(await Repository.open(store));
    const src = meta.sources[0]!;
    const wrong = await Repository.open(store, { passphrase: 'not it' });
    await expect(wrong.readIndex(src).next()).rejects.toMatchObject({ code: RepoErrorCode.WRONG_PASSPHRASE });
    const right = await Repository.open(store, { passphrase: async () => 'a long passphrase' });
    const paths: string[] = [];
    for await (const e of right.readIndex(src)) paths.push(e.path);
    expect(paths).toEqual(['d', 'd/secret.txt']);
  });

  it('reports a tampered encrypted archive as damaged, naming the blob', async () => {
    const key = generateIdentity();
    const root = path.join(dir, 'repo');
    await Repository.init(new LocalStore(root), { encryption: { recipients: [key.recipient] } });
    const repo = await Repository.open(new LocalStore(root), { identities: [key.identity] });
    const src = (await backup(repo)).sources[0]!;
    const file = path.join(root, src.archive.key);
    const bytes = await readFile(file);
    bytes[bytes.length - 40]! ^= 0x55;
    await writeFile(file, bytes);
    const read = async () => {
      for await (const e of repo.readArchive(src)) for await (const _ of e.stream);
    };
    await expect(read()).rejects.toMatchObject({
      code: RepoErrorCode.CORRUPT_ARCHIVE,
      message: expect.stringContaining(src.archive.key),
    });
  });
});
