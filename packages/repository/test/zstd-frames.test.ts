import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { canWriteZstd, decompressor } from '../src/codec.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
// Frame header descriptor 0 (no content size, no checksum), then a 128 KiB window descriptor.
const HEADER = Buffer.concat([MAGIC, Buffer.from([0x00, 0x38])]);

const blockHead = (last: boolean, type: number, size: number) => {
  const v = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
};

/** A frame of Raw blocks (RFC 8878 §3.1.1.2), as an encoder writes for incompressible data. */
function rawFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [HEADER];
  for (let at = 0; at < data.length || at === 0; at += 128 * 1024) {
    const block = data.subarray(at, at + 128 * 1024);
    parts.push(blockHead(at + 128 * 1024 >= data.length, 0, block.length), block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

const rleFrame = (byte: number, size: number) => Buffer.concat([HEADER, blockHead(true, 1, size), Buffer.from([byte])]);
const skippableFrame = (body: Buffer) => {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
};

async function decode(stream: Buffer, piece: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < stream.length; at += piece) pieces.push(stream.subarray(at, at + piece));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decompressor('zstd'), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('zstd reader', () => {
  it('decodes every frame of a stream whose frames end anywhere in its chunks', async () => {
    const frames: Array<{ frame: Buffer; plain: Buffer }> = [];
    const text = Buffer.from('{"id":1,"msg":"a record"}\n'.repeat(12_000));
    const random = randomBytes(300_001);
    if (canWriteZstd) {
      const z = zlib as unknown as {
        zstdCompressSync: (b: Buffer, o?: object) => Buffer;
        constants: Record<string, number>;
      };
      const withChecksum = { params: { [z.constants.ZSTD_c_checksumFlag!]: 1 } };
      frames.push(
        { frame: z.zstdCompressSync(text), plain: text },
        { frame: z.zstdCompressSync(random, withChecksum), plain: random },
      );
    }
    frames.push(
      { frame: rawFrame(random.subarray(0, 200_003)), plain: random.subarray(0, 200_003) },
      { frame: skippableFrame(Buffer.from('skipped, never output')), plain: Buffer.alloc(0) },
      { frame: rleFrame(0x78, 70_000), plain: Buffer.alloc(70_000, 0x78) },
      { frame: rawFrame(Buffer.alloc(0)), plain: Buffer.alloc(0) },
      { frame: rawFrame(text.subarray(0, 999)), plain: text.subarray(0, 999) },
    );
    const stream = Buffer.concat([...frames, ...frames].map((f) => f.frame));
    const expected = sha(Buffer.concat([...frames, ...frames].map((f) => f.plain)));
    for (const piece of [stream.length, 1 << 20, 65_536, 4096, 7])
      expect(sha(await decode(stream, piece)), `pieces of ${piece}`).toBe(expected);
  });

  it(
    'decodes a frame too large to hold whole as it streams ' + 'in, between small ones; and rejects what is not zstd',
    async () => {
      const big = randomBytes(20 << 20);
      const small = Buffer.from('{"id":1}\n'.repeat(1000));
      const stream = Buffer.concat([rawFrame(small), rawFrame(big), rawFrame(small)]);
      const expected = sha(Buffer.concat([small, big, small]));
      for (const piece of [stream.length, 1 << 20, 65_536])
        expect(sha(await decode(stream, piece)), `pieces of ${piece}`).toBe(expected);
      await expect(decode(Buffer.from('this is not a zstd stream, but text'), 1 << 20)).rejects.toThrow();
    },
  );
});
