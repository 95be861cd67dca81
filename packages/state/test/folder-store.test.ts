import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStateStore, openStateStore, StateErrorCode, stateStoreContract } from '@drkit/state';
import { tempDir } from '@drkit/test-support';

stateStoreContract({ describe, it, beforeEach, afterEach }, 'FolderStateStore', async () => {
  const { dir, cleanup } = await tempDir('drkit-state-');
  const location = path.join(dir, 'state');
  return { store: await openStateStore(location), location, cleanup };
});

/** The pid of a process that has exited, so nothing holds it. */
function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(run.stdout.toString());
}

describe('FolderStateStore on disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('drkit-state-'));
  });
  afterEach(() => cleanup());

  it('keeps each key in <key>.json, readable with cat, and a key beside a folder of the same name', async () => {
    const store = new FolderStateStore(dir);
    await store.put('incidents/20261206T160000Z-ab12cd', { title: 'x' });
    await store.put('incidents/20261206T160000Z-ab12cd/notes', { n: 1 });
    expect((await readdir(path.join(dir, 'incidents'))).sort()).toEqual([
      '20261206T160000Z-ab12cd',
      '20261206T160000Z-ab12cd.json',
    ]);
    const text = await readFile(path.join(dir, 'incidents', '20261206T160000Z-ab12cd.json'), 'utf8');
    expect(JSON.parse(text)).toEqual({ revision: 1, updatedAt: expect.any(String), value: { title: 'x' } });
  });

  it('commits concurrent writes together; one that fails in the batch fails alone, the others land', async () => {
    // A child process, so the failpoint arms there: the 4th write to reach its rename throws.
    const script = `
      const { FolderStateStore } = await import(${JSON.stringify(path.resolve('dist/index.js'))});
      const store = new FolderStateStore(${JSON.stringify(dir)});
      const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.put('outbox/m' + i, { i })));
      process.stdout.write(JSON.stringify(results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason.code))));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, DRKIT_FAILPOINTS: 'state.after-temp:4=throw' },
      encoding: 'utf8',
    });
    const results = JSON.parse(run.stdout) as string[];
    expect(results.filter((r) => r === 'ok')).toHaveLength(11);
    const failed = results.findIndex((r) => r !== 'ok');
    expect(results[failed]).toBe(StateErrorCode.UNAVAILABLE);
    const store = new FolderStateStore(dir);
    for (const [i, r] of results.entries())
      expect((await store.get(`outbox/m${i}`))?.value).toEqual(r === 'ok' ? { i } : undefined);
    // The failed write's temp file is gone too.
    expect((await readdir(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('takes over the lock of a writer that died holding it, and waits for a live one', async () => {
    const store = new FolderStateStore(dir);
    await store.put('k', 1);
    await writeFile(path.join(dir, 'k.json.lock'), `${deadPid()} 00000000-dead`);
    expect((await store.put('k', 2, { ifRevision: 1 })).revision).toBe(2);
    expect((await readdir(dir)).filter((f) => !f.startsWith('writer.'))).toEqual(['k.json']);
    // A lock held by a live process (this one, as another writer would) is waited for, not broken.
    await writeFile(path.join(dir, 'k.json.lock'), `${process.ppid} 00000000-live`);
    const waiting = store.put('k', 3);
    const settled = await Promise.race([
      waiting.then(() => 'written'),
      new Promise((r) => setTimeout(() => r('waiting'), 300)),
    ]);
    expect(settled).toBe('waiting');
    await import('node:fs/promises').then((fs) => fs.unlink(path.join(dir, 'k.json.lock')));
    expect((await waiting).revision).toBe(3);
  });

  it(
    "locks a key with a hard link to its writer's file (its pid), and takes it over the moment that writer is " +
      'killed',
    async () => {
      const store = new FolderStateStore(dir);
      await store.put('k', 1);
      // A writer in another process stops while it holds the lock.
      const script = `
      const { FolderStateStore } = await import(${JSON.stringify(path.resolve('dist/index.js'))});
      await new FolderStateStore(${JSON.stringify(dir)}).put('k', 'theirs');`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, DRKIT_FAILPOINTS: 'state.after-lock=hang' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      await new Promise<void>((resolve) => child.stderr.on('data', (d) => String(d).includes('hanging') && resolve()));
      const lock = path.join(dir, 'k.json.lock');
      const writer = path.join(dir, (await readdir(dir)).find((f) => f.startsWith(`writer.${child.pid}-`))!);
      expect((await stat(lock)).ino).toBe((await stat(writer)).ino);
      expect(await readFile(lock, 'utf8')).toMatch(new RegExp(`^${child.pid} [0-9a-f]+$`));
      const waiting = store.put('k', 2, { ifRevision: 1 });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      expect((await waiting).revision).toBe(2);
      expect(await readdir(dir)).not.toContain('k.json.lock');
      // The next process to write here removes the killed writer's file, and its own when it exits: this one's is left.
      spawnSync(process.execPath, ['--input-type=module', '-e', script.replace("'theirs'", "'next'")]);
      expect((await readdir(dir)).filter((f) => f.startsWith('writer.'))).toEqual([
        expect.stringMatching(new RegExp(`^writer\\.${process.pid}-`)),
      ]);
    },
  );

  it('reports a file that is not a state document as STATE_DAMAGED, naming it', async () => {
    const store = new FolderStateStore(dir);
    await writeFile(path.join(dir, 'bad.json'), '{"revision": 1, "value": ');
    await expect(store.get('bad')).rejects.toMatchObject({
      code: StateErrorCode.DAMAGED,
      message: expect.stringContaining(path.join(dir, 'bad.json')),
    });
  });

  it('removes temp files of dead writers when it lists, and keeps those of live ones', async () => {
    const store = new FolderStateStore(dir);
    await store.put('o/a', 1);
    const dead = `a.json.${deadPid()}-abcd1234.tmp`;
    const live = `a.json.${process.pid}-abcd1234.tmp`;
    await writeFile(path.join(dir, 'o', dead), 'half');
    await writeFile(path.join(dir, 'o', live), 'half');
    for await (const _ of store.list('o/'));
    await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(path.join(dir, 'o'))).sort()).toEqual(['a.json', live]);
  });

  it('refuses a location that is neither a folder nor redis://', async () => {
    await expect(openStateStore('s3://bucket/state')).rejects.toMatchObject({ code: StateErrorCode.BAD_LOCATION });
  });
});
