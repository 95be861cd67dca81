import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type RunningCluster,
  type RunningSentinel,
  startRedisCluster,
  startRedisSentinel,
  tempDir,
} from '@drkit/test-support';
import { drkit } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await drkit(['init', '--repo', path.join(dir, 'repo')]);
});
afterEach(() => cleanup());

const json = (s: string) => JSON.parse(s);

describe('Redis Cluster and Sentinel sources', () => {
  let cluster: RunningCluster | undefined;
  let sentinel: RunningSentinel | undefined;
  afterEach(async () => {
    await cluster?.stop();
    await sentinel?.stop();
    cluster = sentinel = undefined;
  });

  it('backs up every master of a cluster and restores each key to the master that owns its slot', async () => {
    cluster = await startRedisCluster(3);
    const client = cluster.client();
    {
      for (let i = 0; i < 600; i++) {
        if (i % 2) await client.set(`k:${i}`, `v${i}`, 'PX', 3_600_000);
        else await client.set(`k:${i}`, `v${i}`);
      }
      await client.hset('h', 'a', '1');
      const perNode = await Promise.all(cluster.masters.map((m) => m.client().dbsize()));
      expect(perNode.every((n) => n > 0)).toBe(true);
      await writeFile(
        path.join(dir, 'drkit.config.yaml'),
        `repository: ./repo\nsources:\n  - name: cache\n    type: redis\n    cluster:\n` +
          `      nodes: ["${cluster.nodes[0]}"]\n`,
      );
      const b = await drkit(['backup', '--json'], { cwd: dir });
      expect(b.stderr).not.toMatch(/error/);
      expect(b.code).toBe(0);
      expect(json(b.stdout).sources[0]).toMatchObject({ name: 'cache', keys: 601, dbs: [{ db: 0, keys: 601 }] });
      await cluster.flushAll();
      const r = await drkit(['restore', 'latest', '--source', 'cache', '--mode', 'merge', '--json'], { cwd: dir });
      expect(r.code).toBe(0);
      expect(json(r.stdout)).toMatchObject({ restored: 601, skippedExpired: 0 });
      expect(await Promise.all(cluster.masters.map((m) => m.client().dbsize()))).toEqual(perNode);
      expect(await client.get('k:599')).toBe('v599');
      expect(await client.pttl('k:599')).toBeGreaterThan(3_500_000);
      expect(await client.hget('h', 'a')).toBe('1');
    }
  });

  it('reads through Sentinel from a replica, and restores to the master', async () => {
    sentinel = await startRedisSentinel();
    const m = sentinel.master.client();
    await m.mset('a', '1', 'b', '2');
    await m.set('c', '3', 'PX', 3_600_000);
    // The replica has the three keys once it acknowledges the master's writes so far.
    expect(await m.wait(1, 30_000)).toBe(1);
    await writeFile(
      path.join(dir, 'drkit.config.yaml'),
      `repository: ./repo\nsources:\n  - name: sessions\n    type: redis\n    sentinel:\n` +
        `      master_name: ${sentinel.masterName}\n      nodes: ["127.0.0.1:${sentinel.sentinel.port}"]\n` +
        `      read_from: replica\n`,
    );
    const b = await drkit(['backup', '--json'], { cwd: dir });
    expect(b.code).toBe(0);
    const { id, sources } = json(b.stdout);
    expect(sources[0]).toMatchObject({ name: 'sessions', keys: 3 });
    const meta = JSON.parse(await readFile(path.join(dir, 'repo', 'snapshots', `${id}.json`), 'utf8'));
    expect(meta.sources[0].redis.server).toMatchObject({ mode: 'sentinel', role: 'slave' });
    await m.flushall();
    const r = await drkit(['restore', 'latest', '--source', 'sessions', '--mode', 'replace', '--yes', '--json'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ restored: 3 });
    expect(await m.mget('a', 'b', 'c')).toEqual(['1', '2', '3']);
  });
});
