import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IndexEntry } from '@drkit/repository';
import { FileWriter, type NewFile } from '../src/write-entry.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-file-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entryFor = (data: Buffer, mode: number, mtime: number): IndexEntry => ({ path: 'x', type: 'file', mode, mtime, size: data.length, sha256: sha256(data) });

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe('FileWriter', () => {
  it('writes large files behind the extraction, more of them than it may queue at once, each complete with mode and mtime', async () => {
    const writer = new FileWriter();
    const files = [0o640, 0o600, 0o755, 0o644].map((mode, i) => ({ dest: path.join(dir, `big-${i}`), data: randomBytes(5 * MiB + i * 777), mode, mtime: 1_600_000_000_000 + i * 1001 }));
    for (const f of files) {
      const digest = await writer.write(f.dest, chunksOf(f.data, 300_000), entryFor(f.data, f.mode, f.mtime));
      expect(digest).toEqual({ size: f.data.length, sha256: sha256(f.data) });
    }
    await writer.finish();
    for (const f of files) {
      expect(sha256(await readFile(f.dest))).toBe(sha256(f.data));
      const st = await stat(f.dest);
      expect({ mode: st.mode & 0o7777, mtimeMs: st.mtimeMs }).toEqual({ mode: f.mode, mtimeMs: f.mtime });
    }
  });

  it('reports a write that fails in the background (a full disk) at finish and at the next file, and closes the file', async () => {
    const closed: string[] = [];
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const writer = new FileWriter(async (dest) => {
      const fh = await open(dest, 'wx', 0o600);
      let writes = 0;
      const failing: NewFile = {
        write: (buffer, offset) => (++writes > 1 ? Promise.reject(full) : fh.write(buffer, offset)),
        chmod: (mode) => fh.chmod(mode),
        utimes: (a, m) => fh.utimes(a, m),
        close: async () => {
          closed.push(path.basename(dest));
          await fh.close();
        },
      };
      return failing;
    });
    const data = randomBytes(3 * MiB);
    const first = writer.write(path.join(dir, 'first'), chunksOf(data, MiB), entryFor(data, 0o644, 1_600_000_000_000));
    await first.catch(() => {}); // the failure may land before or after all chunks are queued
    await expect(writer.finish()).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(writer.write(path.join(dir, 'second'), chunksOf(data, MiB), entryFor(data, 0o644, 1_600_000_000_000))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(closed).toEqual(['first']);
  });
});
