import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContentChecker, type FileResult } from '@drkit/integrity-verifier';

// Files of ~0.3-1.3 MiB: JSONL ones with one bad line each, and binary ones.
const files = Array.from({ length: 24 }, (_, i) => {
  const jsonl = i % 3 !== 2;
  const lines = 4000 + i * 500;
  const bad = 17 + i * 101;
  const text = jsonl
    ? Array.from({ length: lines }, (_, n) =>
        n + 1 === bad ? `{"broken": ${n}` : JSON.stringify({ n, file: i, pad: 'x'.repeat(200 + (n % 50)) }),
      ).join('\n')
    : 'b'.repeat(300_000 + i * 40_000);
  return { path: `f${i}.${jsonl ? 'jsonl' : 'bin'}`, jsonl, bytes: Buffer.from(text), bad: jsonl ? bad : undefined };
});

async function checkAll(inFlight: number): Promise<FileResult[]> {
  const checker = new ContentChecker(inFlight);
  const results: Promise<FileResult>[] = [];
  const settled: string[] = [];
  try {
    for (const f of files) {
      checker.begin(f.path, f.jsonl);
      // 64 KiB chunks, as an archive hands them over
      for (let at = 0; at < f.bytes.length; at += 65_536) await checker.push(f.bytes.subarray(at, at + 65_536));
      results.push(
        checker.end().then((r) => {
          settled.push(f.path);
          return r;
        }),
      );
    }
    await checker.flush();
    const all = await Promise.all(results);
    expect(settled).toEqual(files.map((f) => f.path));
    return all;
  } finally {
    await checker.close();
  }
}

describe('ContentChecker', () => {
  // 0: every file on the main thread; 1: the worker is behind after one batch, so files go both ways; 8: the default.
  it.each([0, 1, 8])(
    'gives each file its sha256, size and bad JSONL line, in file order, with %i batches in flight',
    async (inFlight) => {
      const results = await checkAll(inFlight);
      expect(results.map((r) => [r.sha256, r.size, r.findings.map((f) => f.line)])).toEqual(
        files.map((f) => [createHash('sha256').update(f.bytes).digest('hex'), f.bytes.length, f.bad ? [f.bad] : []]),
      );
    },
  );
});
