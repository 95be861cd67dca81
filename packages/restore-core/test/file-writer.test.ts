import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IndexEntry } from '@drkit/repository';
import { FileWriter, type NewFile } from '@drkit/restore-core';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-file-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entryFor = (data: Buffer, mode: number, mtime: number): IndexEntry => ({
  path: 'x',
  type: 'file',
  mode,
  mtime,
  size: data.length,
  sha256: sha256(data),
});

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe('FileWriter', () => {
  it(
    'writes large files behind the extraction, more of them than it may queue at once, each complete with ' +
      'mode and mtime',
    async () => {
      const writer = new FileWriter();
      const files = [0o640, 0o600, 0o755, 0o644].map((mode, i) => ({
        dest: path.join(dir, `big-${i}`),
        data: randomBytes(5 * MiB + i * 777),
        mode,
        mtime: 1_600_000_000_000 + i * 1001,
      }));
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
    },
  );

  it(
    'makes folders and small files on its writer thread, ' + 'in batches, each with its content, mode and mtime',
    async () => {
      const writer = new FileWriter();
      const files: { dest: string; data: Buffer; mode: number; mtime: number }[] = [];
      for (let d = 0; d < 40; d++) {
        await writer.dir(path.join(dir, `d${d}`));
        for (let f = 0; f < 40; f++) {
          const data = randomBytes((d * 40 + f) % 7 === 0 ? 150_000 : f * 37);
          const file = {
            dest: path.join(dir, `d${d}`, `f${f}`),
            data,
            mode: f % 2 ? 0o640 : 0o755,
            mtime: 1_600_000_000_000 + f * 1000 + d,
          };
          // Chunks as the archive hands them out: views, written here as two.
          await writer.write(
            file.dest,
            chunksOf(data, Math.max(1, data.length >> 1)),
            entryFor(data, file.mode, file.mtime),
          );
          files.push(file);
        }
      }
      await writer.finish();
      for (const f of files) {
        const st = await stat(f.dest);
        expect({ sha256: sha256(await readFile(f.dest)), mode: st.mode & 0o7777, mtimeMs: st.mtimeMs }).toEqual({
          sha256: sha256(f.data),
          mode: f.mode,
          mtimeMs: f.mtime,
        });
      }
    },
  );

  it(
    'makes names that are not UTF-8 (lone surrogates inside ' +
      'drkit) as their bytes, on the writer thread and off it',
    async () => {
      const writer = new FileWriter();
      const folder = path.join(dir, 'd-\uDCFE');
      await writer.dir(folder);
      // More entries than one batch holds, so the writer thread makes most of them.
      for (let i = 0; i < 1500; i++)
        await writer.write(
          path.join(folder, `f-\uDCFF-${i}`),
          chunksOf(Buffer.from(`${i}`), 8),
          entryFor(Buffer.from(`${i}`), 0o644, 1e12),
        );
      const big = randomBytes(300_000);
      await writer.write(path.join(dir, 'big-\uDCE9'), chunksOf(big, 65_536), entryFor(big, 0o600, 1e12));
      await writer.symlink(path.join(dir, 'ln-\uDC80'), {
        path: 'ln',
        type: 'symlink',
        mode: 0o777,
        mtime: 1e12,
        linkTarget: 'd-\uDCFE',
      });
      await writer.finish();
      const bytes = (latin1: string) => Buffer.from(latin1, 'latin1');
      const top = (await readdir(bytes(dir), { encoding: 'buffer' })).map((n) => n.toString('latin1')).sort();
      expect(top).toEqual(['big-\xe9', 'd-\xfe', 'ln-\x80']);
      const inner = await readdir(bytes(`${dir}/d-\xfe`), { encoding: 'buffer' });
      expect(inner).toHaveLength(1500);
      expect(await readFile(bytes(`${dir}/d-\xfe/f-\xff-1234`), 'utf8')).toBe('1234');
      expect(sha256(await readFile(bytes(`${dir}/big-\xe9`)))).toBe(sha256(big));
      expect((await readlink(bytes(`${dir}/ln-\x80`), 'buffer')).toString('latin1')).toBe('d-\xfe');
    },
  );

  it('reports a failure on the writer thread (a folder where a file is) and makes nothing after it', async () => {
    const writer = new FileWriter();
    const small = (i: number) =>
      writer.write(
        path.join(dir, `f${i}`),
        chunksOf(Buffer.from(`${i}`), 8),
        entryFor(Buffer.from(`${i}`), 0o644, 1_600_000_000_000),
      );
    await writeFile(path.join(dir, 'plain-file'), 'x');
    for (let i = 0; i < 1500; i++) await small(i);
    await writer.dir(path.join(dir, 'plain-file', 'below'));
    const after = async () => {
      for (let i = 1500; i < 3000; i++) await small(i);
      await writer.finish();
    };
    await expect(after()).rejects.toMatchObject({ code: 'ENOTDIR' });
    const names = await readdir(dir);
    expect(names).toContain('f1499');
    expect(names).not.toContain('f1500');
  });

  it(
    'reports a write that fails in the background (a full disk) at finish and at the next file, and closes ' +
      'the file',
    async () => {
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
      const first = writer.write(
        path.join(dir, 'first'),
        chunksOf(data, MiB),
        entryFor(data, 0o644, 1_600_000_000_000),
      );
      await first.catch(() => {}); // the failure may land before or after all chunks are queued
      await expect(writer.finish()).rejects.toMatchObject({ code: 'ENOSPC' });
      await expect(
        writer.write(path.join(dir, 'second'), chunksOf(data, MiB), entryFor(data, 0o644, 1_600_000_000_000)),
      ).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(closed).toEqual(['first']);
    },
  );
});
