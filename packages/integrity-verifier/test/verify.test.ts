import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { readLocks, Repository } from '@drkit/repository';
import { JsonlChecker, VerifyErrorCode, verifyRef, verifySnapshot } from '@drkit/integrity-verifier';
import { makeSampleTree, snapshotTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

async function setup() {
  const tree = path.join(dir, 'tree');
  await makeSampleTree(tree);
  await writeFile(path.join(tree, 'media/random.bin'), randomBytes(1 << 20));
  // gzip keeps random data in stored blocks, so a byte offset maps to a known file.
  const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
  const snap = await snapshotTree(repo, tree);
  return { tree, repo, snap, archive: path.join(dir, 'repo', snap.sources[0]!.archive.key) };
}

describe('verifyRef interrupted', () => {
  it(
    'stops when its signal fires: VERIFY_INTERRUPTED, ' + 'reported as such (not as damage), its lock released',
    async () => {
      const { repo, tree } = await setup();
      await snapshotTree(repo, tree); // a second snapshot: the stop comes at the latest before it
      const abort = new AbortController();
      const run = verifyRef(repo, 'all', { signal: abort.signal, onProgress: () => abort.abort(new Error('stop')) });
      await expect(run).rejects.toMatchObject({
        code: VerifyErrorCode.INTERRUPTED,
        message: expect.stringContaining('it changes nothing'),
      });
      expect(await readLocks(repo.store)).toEqual([]);
    },
  );
});

describe('verifySnapshot', () => {
  it('passes a good snapshot, counting every entry and byte', async () => {
    const { repo, snap } = await setup();
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(true);
    expect(report.sources[0]!.problems).toEqual([]);
    expect(report.sources[0]!.entries).toBe(snap.sources[0]!.index!.entries);
    expect(report.sources[0]!.bytes).toBe(snap.sources[0]!.stats.bytes);
  });

  it('fails when one byte of an archive flips, naming the source and the damaged entry', async () => {
    const { repo, snap, archive } = await setup();
    const fh = await open(archive, 'r+');
    const { size } = await fh.stat();
    const at = Math.floor(size / 2);
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    const [report] = await verifyRef(repo, snap.id);
    expect(report!.ok).toBe(false);
    const problems = report!.sources[0]!.problems;
    expect(problems).toContainEqual(expect.objectContaining({ source: 'files', entry: 'media/random.bin' }));
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'digest-mismatch', source: 'files' }));
  });

  it('reports a missing archive by its key', async () => {
    const { repo, snap, archive } = await setup();
    await rm(archive);
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(false);
    expect(report.sources[0]!.problems).toContainEqual(
      expect.objectContaining({ kind: 'missing-blob', message: expect.stringContaining(snap.sources[0]!.archive.key) }),
    );
  });

  it('reports invalid JSONL lines as findings with file and line, without failing integrity', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'data'), { recursive: true });
    await writeFile(path.join(tree, 'data/a.jsonl'), '{"ok":1}\nnot json\n{"ok":2}\n{"broken":\n');
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const snap = await snapshotTree(repo, tree);
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(true);
    expect(report.sources[0]!.findings.map((f) => [f.path, f.line])).toEqual([
      ['data/a.jsonl', 2],
      ['data/a.jsonl', 4],
    ]);
    // Metadata is not encrypted, so a finding must never quote the data.
    for (const f of report.sources[0]!.findings) expect(f.message).not.toMatch(/not json|broken/);
  });

  it('validates large JSONL files across every batch boundary: exactly the bad lines are found', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'data'), { recursive: true });
    // ~5 MiB per file of 93-byte lines, so lines straddle the 1 MiB batches the checking worker gets.
    const lines = (n: number, bad: number) =>
      Array.from({ length: n }, (_, i) =>
        i + 1 === bad ? 'x'.repeat(96) : `{"seq":"${String(i).padStart(8, '0')}","pad":"${'p'.repeat(65)}"}`,
      ).join('\n');
    await writeFile(path.join(tree, 'data/a.jsonl'), lines(54_000, 30_001));
    await writeFile(path.join(tree, 'data/b.jsonl'), lines(54_000, 2));
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const report = await verifySnapshot(repo, await snapshotTree(repo, tree));
    expect(report.ok).toBe(true);
    expect(report.sources[0]!.findings.map((f) => [f.path, f.line])).toEqual([
      ['data/a.jsonl', 30_001],
      ['data/b.jsonl', 2],
    ]);
  });

  it('passes a snapshot whose file names contain backslashes (plain characters on POSIX)', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'dir\\name'), { recursive: true });
    await writeFile(path.join(tree, 'dir\\name', 'back\\slash.txt'), 'x\n');
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const report = await verifySnapshot(repo, await snapshotTree(repo, tree));
    expect(report.sources[0]!.problems).toEqual([]);
    expect(report.sources[0]!.entries).toBe(2);
  });
});

describe('JsonlChecker', () => {
  it('finds a bad line split across chunks, and accepts a last line without newline', () => {
    const c = new JsonlChecker('x.jsonl');
    for (const piece of ['{"a":', '1}\n{"b"', ':2}\n{bad', '\n{"c":3}']) c.push(Buffer.from(piece));
    expect(c.end().map((f) => f.line)).toEqual([3]);
  });
});
