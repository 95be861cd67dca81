import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decompress as FzstdDecompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { canWriteZstd, type Compression, compressor, decompressor } from '../src/codec.js';

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
  for (let i = 0; i < 11; i++) parts.push(i % 2 ? randomBytes(1 << 20) : Buffer.from('a line of text, compressible\n'.repeat(40000)));
  parts.push(Buffer.from('tail'));
  return parts.flatMap((p) => [p.subarray(0, 777), p.subarray(777)]);
}

const formats: Compression[] = canWriteZstd ? ['gzip', 'zstd'] : ['gzip'];

describe.each(formats)('block compressor (%s)', (c) => {
  it('writes one stream (concatenated frames/members) that every reader decodes', async () => {
    const parts = sample();
    const input = Buffer.concat(parts);
    const packed = await collect(parts, compressor(c));
    expect(packed.length).toBeLessThan(input.length);
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
  });

  it('writes a valid stream for empty input', async () => {
    const packed = await collect([], compressor(c));
    expect(packed.length).toBeGreaterThan(0);
    expect((await collect([packed], decompressor(c))).length).toBe(0);
  });
});
