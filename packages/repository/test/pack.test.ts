import { describe, expect, it } from 'vitest';
import { ChunkPacker } from '../src/pack.js';

describe('ChunkPacker', () => {
  it('passes every byte on in order, packing small pieces into 64 KiB chunks and large ones through uncopied', () => {
    const pack = new ChunkPacker();
    const pieces = [512, 3000, 20_000, 100, 70_000, ...Array.from({ length: 200 }, (_, i) => 512 + (i % 7) * 1000), 16 * 1024, 16 * 1024 + 1].map((n, i) =>
      Buffer.alloc(n, i % 251),
    );
    const out = [...pieces.flatMap((p) => [...pack.add(p)]), ...pack.flush()];
    expect(Buffer.concat(out).equals(Buffer.concat(pieces))).toBe(true);
    expect(out.every((c) => c.length <= 64 * 1024 || pieces.includes(c as (typeof pieces)[number]))).toBe(true);
    expect(out).toContain(pieces[2]);
    expect(out.length).toBeLessThan(pieces.length / 5);
    expect(pack.flush()).toEqual([]);
  });
});
