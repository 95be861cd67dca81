import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decompress as FzstdDecompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { canWriteZstd, type Compression, compressor, decompressor } from '../src/codec.js';
import { looksIncompressible } from '../src/incompressible.js';
import { copiedOut, lend } from '../src/recycle.js';
import { storedFrame } from '../src/zstd-frames.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(source: Iterable<Buffer>, t: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(source), t, async (src: AsyncIterable<string | Buffer>) => {
    for await (const c of src) out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// 11 MiB of alternating text and random bytes, in uneven chunks, so several blocks are cut mid-chunk.
function sample(): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < 11; i++)
    parts.push(i % 2 ? randomBytes(1 << 20) : Buffer.from('a line of text, compressible\n'.repeat(40000)));
  parts.push(Buffer.from('tail'));
  return parts.flatMap((p) => [p.subarray(0, 777), p.subarray(777)]);
}

const formats: Compression[] = canWriteZstd ? ['gzip', 'zstd'] : ['gzip'];

/**
 * What a user checks: drkit's reader, the system tool and (zstd) the pure-JavaScript fallback all give the input back.
 */
async function expectEveryReaderDecodes(c: Compression, packed: Buffer, input: Buffer): Promise<void> {
  expect(sha(await collect([packed], decompressor(c)))).toBe(sha(input));
  const tool = c === 'zstd' ? 'zstd' : 'gzip';
  if (hasTool(tool)) expect(sha(execFileSync(tool, ['-dc'], { input: packed, maxBuffer: 1 << 26 }))).toBe(sha(input));
  if (c === 'zstd') {
    // The pure-JavaScript reader that restores on Node < 22.15, fed in small pieces.
    const got: Buffer[] = [];
    const d = new FzstdDecompress((chunk) => got.push(Buffer.from(chunk)));
    for (let i = 0; i < packed.length; i += 65536) d.push(packed.subarray(i, i + 65536));
    d.push(new Uint8Array(0), true);
    expect(sha(Buffer.concat(got))).toBe(sha(input));
  }
}

const text = (bytes: number) =>
  Buffer.from(
    '{"ts":"2024-05-01T12:00:00Z","level":"info","msg":"a line of text"}\n'.repeat(Math.ceil(bytes / 68)),
  ).subarray(0, bytes);
// Uneven chunks, so blocks are cut mid-chunk.
const chunked = (b: Buffer, size = 300_001) =>
  Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));

describe.each(formats)('block compressor (%s)', (c) => {
  it('writes one stream (concatenated frames/members) that every reader decodes', async () => {
    const parts = sample();
    const input = Buffer.concat(parts);
    const packed = await collect(parts, compressor(c));
    expect(packed.length).toBeLessThan(input.length);
    await expectEveryReaderDecodes(c, packed, input);
  });

  it('keeps random input within a few bytes of framing, readable by every reader', async () => {
    // Not a whole number of blocks or of 128 KiB / 64 KiB stored blocks.
    const input = randomBytes((5 << 20) + 12_345);
    const packed = await collect(chunked(input), compressor(c));
    expect(packed.length).toBeLessThanOrEqual(input.length * 1.001);
    await expectEveryReaderDecodes(c, packed, input);
  });

  it('still compresses text that has random blocks in between', async () => {
    const input = Buffer.concat([text(3 << 20), randomBytes(4 << 20), text(3 << 20)]);
    const packed = await collect(chunked(input), compressor(c));
    expect(packed.length).toBeLessThan((4 << 20) * 1.001 + (6 << 20) * 0.05);
    await expectEveryReaderDecodes(c, packed, input);
  });

  it('compresses a block that is half text, half random', async () => {
    const input = Buffer.concat([text(1 << 20), randomBytes(5 << 20)]);
    const packed = await collect(chunked(input, 1 << 20), compressor(c));
    await expectEveryReaderDecodes(c, packed, input);
  });

  it('hands each lent chunk back once it has copied it, so a reader may refill it at once', async () => {
    const input = Buffer.concat([text(3 << 20), randomBytes(3 << 20), text(1 << 20)]);
    const free: Buffer[] = [];
    let lent = 0;
    let givenBack = 0;
    let allocated = 0;
    const newBuffer = () => {
      allocated++;
      return Buffer.alloc(1 << 20);
    };
    // Like a file reader with a buffer pool: a buffer handed back is overwritten before it is reused.
    async function* reads(): AsyncGenerator<Buffer> {
      for (let at = 0; at < input.length; at += 1 << 20) {
        const buf = free.pop() ?? newBuffer();
        const n = input.copy(buf, 0, at);
        lent++;
        yield lend(buf.subarray(0, n), () => {
          givenBack++;
          free.push(buf.fill(0xee));
        });
      }
    }
    const out: Buffer[] = [];
    await pipeline(Readable.from(reads(), { objectMode: false }), compressor(c), async (src: AsyncIterable<Buffer>) => {
      for await (const chunk of src) out.push(chunk);
    });
    await expectEveryReaderDecodes(c, Buffer.concat(out), input);
    expect(givenBack).toBe(lent);
    expect(allocated).toBeLessThan(lent / 2);
  });

  it('takes a block back only once the stage after it has written it: a random block goes on uncopied', async () => {
    const input = Buffer.concat([randomBytes(6 << 20), text(1 << 20), randomBytes((2 << 20) + 5)]);
    const written: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let pieces = 0;
    // Like the local store: a chunk is written a little later, then handed back.
    const slowStore = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => {
          written.push(Buffer.from(chunk)); // a block reused before this point would show here
          if (chunk.length === 128 * 1024) {
            pieces++;
            buffers.add(chunk.buffer);
          }
          copiedOut(chunk);
          done();
        }, 2);
      },
    });
    await pipeline(Readable.from(chunked(input), { objectMode: false }), compressor(c), slowStore);
    await expectEveryReaderDecodes(c, Buffer.concat(written), input);
    if (c === 'zstd') {
      expect(pieces).toBeGreaterThanOrEqual(64); // the 8 random MiB, in 128 KiB raw blocks, as views of the block
      expect(buffers.size).toBeLessThan(pieces / 8); // and the blocks under them were reused
    }
  });

  it('keeps the streams of compressors running at once apart (an archive and its index share one codec)', async () => {
    const inputs = [
      Buffer.concat([text(5 << 20), randomBytes(1 << 20)]),
      text(300_000),
      Buffer.concat([randomBytes(3 << 20), text(2 << 20)]),
    ];
    const packed = await Promise.all(inputs.map((input) => collect(chunked(input), compressor(c))));
    for (const [i, input] of inputs.entries()) await expectEveryReaderDecodes(c, packed[i]!, input);
    // And the codec still works once they have all finished and released it.
    await expectEveryReaderDecodes(c, await collect(chunked(inputs[0]!), compressor(c)), inputs[0]!);
  });

  it('writes a valid stream for empty input', async () => {
    const packed = await collect([], compressor(c));
    expect(packed.length).toBeGreaterThan(0);
    expect((await collect([packed], decompressor(c))).length).toBe(0);
    await expectEveryReaderDecodes(c, packed, Buffer.alloc(0));
  });
});

describe('incompressible blocks', () => {
  it(
    'are recognised by sampling: random bytes are, text, ' + 'JSONL, base64 and a block with one text stretch are not',
    () => {
      expect(looksIncompressible(randomBytes(2 << 20))).toBe(true);
      expect(looksIncompressible(text(2 << 20))).toBe(false);
      expect(looksIncompressible(Buffer.from(randomBytes(3 << 19).toString('base64')))).toBe(false);
      const mixed = randomBytes(2 << 20);
      text(300_000).copy(mixed, 1 << 20);
      expect(looksIncompressible(mixed)).toBe(false);
      expect(looksIncompressible(randomBytes(60_000))).toBe(false); // too small to bother
    },
  );

  it.each([0, 1, 128 * 1024, 128 * 1024 + 1, (2 << 20) + 3])(
    'are stored as a zstd frame of raw blocks that every reader decodes (%i bytes)',
    async (n) => {
      const data = randomBytes(n);
      const pieces = storedFrame(data);
      const frame = Buffer.concat(pieces);
      expect(frame.length).toBe(9 + 3 * Math.max(1, Math.ceil(n / (128 * 1024))) + n);
      // The data pieces are views of the block, not copies; only the headers are new.
      const inData = (p: Buffer) =>
        p.buffer === data.buffer &&
        p.byteOffset >= data.byteOffset &&
        p.byteOffset + p.length <= data.byteOffset + data.length;
      expect(pieces.filter((p) => !inData(p)).reduce((sum, p) => sum + p.length, 0)).toBe(frame.length - n);
      if (canWriteZstd)
        await expectEveryReaderDecodes(
          'zstd',
          Buffer.concat([frame, ...storedFrame(data.subarray(0, n >> 1))]),
          Buffer.concat([data, data.subarray(0, n >> 1)]),
        );
      else expect(sha(await collect([frame], decompressor('zstd')))).toBe(sha(data));
    },
  );
});
