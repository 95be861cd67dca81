import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../src/codec.js';
import { salvageDecode, type Span } from '../src/salvage-decode.js';
import { storedFrame } from '../src/zstd-frames.js';

const text = (seed: number, n: number) =>
  Buffer.from(
    Array.from({ length: n / 8 }, (_, i) => `${(i * seed) % 9973}`.padStart(7, '.'))
      .join('\n')
      .padEnd(n, '.'),
  );
// Four blocks as drkit writes them: compressible ones, and a random one stored as it is.
const blocks = [text(3, 1 << 20), randomBytes(1 << 20), text(7, 1 << 20), text(11, 300_000)];

/** One frame, as the zstd CLI writes it. */
const zstd = (input: Buffer) => execFileSync('zstd', ['-q', '-c', '-3'], { input, maxBuffer: 64 << 20 });

/** One frame or member per block, and where each is stored. */
function encode(c: Compression): { blob: Buffer; spans: Span[] } {
  const frames = blocks.map((b, i) =>
    c === 'gzip' ? gzipSync(b, { level: i === 1 ? 0 : 6 }) : i === 1 ? Buffer.concat(storedFrame(b)) : zstd(b),
  );
  const spans: Span[] = [];
  let at = 0;
  for (const f of frames) {
    spans.push({ start: at, end: at + f.length });
    at += f.length;
  }
  return { blob: Buffer.concat(frames), spans };
}

async function* chunks(blob: Buffer, gaps: Span[] = []): AsyncGenerator<Buffer | { gap: Span }> {
  let at = 0;
  for (const g of [...gaps, { start: blob.length, end: blob.length }]) {
    for (; at < g.start; at += 65_536) yield blob.subarray(at, Math.min(at + 65_536, g.start));
    if (g.end > g.start) yield { gap: g };
    at = g.end;
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Pieces with their data as a sha256: comparing megabytes element by element is slow. */
type Summary = { data: string; from: Span } | { gap: Span };
const summary = (data: Buffer, from: Span): Summary => ({ data: sha(data), from });

async function decode(
  input: AsyncIterable<Buffer | { gap: Span }>,
  c: Compression,
  maxUnit?: number,
): Promise<Summary[]> {
  const out: Summary[] = [];
  for await (const p of salvageDecode(input, c, undefined, maxUnit)) out.push('gap' in p ? p : summary(p.data, p.from));
  return out;
}

const damaged = (blob: Buffer, at: number) => {
  const copy = Buffer.from(blob);
  for (let i = 0; i < 4; i++) copy[at + i] = copy[at + i]! ^ 0x5a;
  return copy;
};

describe.each(['gzip', 'zstd'] as const)('salvageDecode (%s)', (c) => {
  const { blob, spans } = encode(c);

  it('decodes an intact stream frame by frame, each with where it is stored', async () => {
    expect(await decode(chunks(blob), c)).toEqual(blocks.map((data, i) => summary(data, spans[i]!)));
  });

  it('skips a damaged compressed frame and goes on with the next one', async () => {
    const third = spans[2]!;
    const pieces = await decode(chunks(damaged(blob, third.start + 200)), c);
    expect(pieces).toEqual([
      summary(blocks[0]!, spans[0]!),
      summary(blocks[1]!, spans[1]!),
      { gap: third },
      summary(blocks[3]!, spans[3]!),
    ]);
  });

  it('skips a frame whose header is damaged, finding the next one by its magic number', async () => {
    const pieces = await decode(chunks(damaged(blob, spans[1]!.start)), c);
    expect(pieces.map((p) => ('gap' in p ? p.gap : p.from))).toEqual([spans[0], spans[1], spans[2], spans[3]]);
    expect('gap' in pieces[1]!).toBe(true);
  });

  it('treats bytes lost before decoding (an age chunk) as damage to the frames they fall in', async () => {
    const lost = { start: spans[0]!.end - 10, end: spans[0]!.end + 100 };
    const pieces = await decode(chunks(blob, [lost]), c);
    expect(pieces).toEqual([
      { gap: { start: spans[0]!.start, end: spans[2]!.start } },
      summary(blocks[2]!, spans[2]!),
      summary(blocks[3]!, spans[3]!),
    ]);
  });

  it('decodes a frame too large to hold as a stream: all of it when intact, and says so when it is not', async () => {
    const whole = c === 'gzip' ? gzipSync(Buffer.concat(blocks)) : zstd(Buffer.concat(blocks));
    const pieces: Buffer[] = [];
    for await (const p of salvageDecode(chunks(whole), c, undefined, 1 << 16))
      pieces.push('data' in p ? p.data : Buffer.alloc(0));
    expect(sha(Buffer.concat(pieces))).toBe(sha(Buffer.concat(blocks)));
    const broken = await decode(chunks(damaged(whole, 200)), c, 1 << 16);
    expect(broken.at(-1)).toEqual({ gap: { start: 0, end: whole.length } });
  });
});

it(
  'salvageDecode (zstd): a stored frame whose block ' + 'header is damaged fails its stated size and is skipped',
  async () => {
    const { blob, spans } = encode('zstd');
    const pieces = await decode(chunks(damaged(blob, spans[1]!.start + 10)), 'zstd');
    expect(pieces.map((p) => 'gap' in p)).toEqual([false, true, false, false]);
  },
);
