import { describe, expect, it } from 'vitest';
import { ChunkPacker } from '../src/pack.js';
import { copiedOut } from '../src/recycle.js';

describe('ChunkPacker', () => {
  it('passes every byte on in order, packing small pieces into 64 KiB chunks and large ones through uncopied', () => {
    const pack = new ChunkPacker();
    const pieces = [
      512,
      3000,
      20_000,
      100,
      70_000,
      ...Array.from({ length: 200 }, (_, i) => 512 + (i % 7) * 1000),
      16 * 1024,
      16 * 1024 + 1,
    ].map((n, i) => Buffer.alloc(n, i % 251));
    const out = [...pieces.flatMap((p) => [...pack.add(p)]), ...pack.flush()];
    expect(Buffer.concat(out).equals(Buffer.concat(pieces))).toBe(true);
    expect(out.every((c) => c.length <= 64 * 1024 || pieces.includes(c as (typeof pieces)[number]))).toBe(true);
    expect(out).toContain(pieces[2]);
    expect(out.length).toBeLessThan(pieces.length / 5);
    expect(pack.flush()).toEqual([]);
  });

  it('reuses a chunk only after it was copied out, and never changes one still held', () => {
    const pack = new ChunkPacker();
    const fill = (n: number) => [...pack.add(Buffer.alloc(10_000, n))];
    const held = [...fill(1), ...fill(2), ...fill(3), ...fill(4), ...fill(5), ...fill(6), ...fill(7)];
    expect(held).toHaveLength(1);
    const first = held[0]!;
    const snapshot = Buffer.from(first);
    // Not copied out yet: later chunks use other memory.
    const second = [...fill(8), ...fill(9), ...fill(10), ...fill(11), ...fill(12), ...fill(13), ...fill(14)];
    expect(second).toHaveLength(1);
    expect(first.equals(snapshot)).toBe(true);
    expect(second[0]!.buffer).not.toBe(first.buffer);
    // Copied out: its memory is filled again by a later chunk.
    copiedOut(first);
    const later = [...Array.from({ length: 14 }, (_, i) => fill(15 + i)).flat(), ...pack.flush()];
    expect(later.some((c) => c.buffer === first.buffer)).toBe(true);
  });
});
