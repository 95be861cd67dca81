import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { type RunningRedis, startRedis } from './redis.js';

const run = promisify(execFile);
const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunningCluster {
  masters: RunningRedis[];
  /** `host:port` of every master, as the config's cluster.nodes wants them. */
  nodes: string[];
  /** A cluster client (closed by stop()). */
  client(): Cluster;
  /** FLUSHALL on every master. */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

/** A Redis Cluster of `n` masters (no replicas) on 127.0.0.1, slots spread by redis-cli. */
export async function startRedisCluster(n = 3): Promise<RunningCluster> {
  const masters: RunningRedis[] = [];
  try {
    for (let i = 0; i < n; i++)
      masters.push(
        await startRedis({
          clusterPort: true,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${i}.conf`,
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    const nodes = masters.map((m) => `127.0.0.1:${m.port}`);
    await run(REDIS_CLI, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    await until('cluster_state:ok on every node', async () => {
      for (const m of masters) if (!(await m.client().cluster('INFO')).includes('cluster_state:ok')) return false;
      return true;
    });
    const clients: Cluster[] = [];
    return {
      masters,
      nodes,
      client() {
        const c = new Cluster(masters.map((m) => ({ host: '127.0.0.1', port: m.port })));
        c.on('error', () => {});
        clients.push(c);
        return c;
      },
      async flushAll() {
        for (const m of masters) await m.client().flushall();
      },
      async stop() {
        for (const c of clients) c.disconnect();
        await Promise.all(masters.map((m) => m.stop()));
      },
    };
  } catch (e) {
    await Promise.all(masters.map((m) => m.stop()));
    throw e;
  }
}

export interface RunningSentinel {
  master: RunningRedis;
  replica: RunningRedis;
  sentinel: RunningRedis;
  masterName: string;
  stop(): Promise<void>;
}

/** A master, one replica in sync with it, and one Sentinel watching them. */
export async function startRedisSentinel(masterName = 'drkit-test'): Promise<RunningSentinel> {
  const started: RunningRedis[] = [];
  try {
    const master = await startRedis();
    started.push(master);
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    started.push(replica);
    await until('the replica to sync', async () =>
      (await replica.client().info('replication')).includes('master_link_status:up'),
    );
    const sentinel = await startRedis({
      sentinel: (dir) =>
        writeFile(
          path.join(dir, 'sentinel.conf'),
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1\n` +
            `sentinel down-after-milliseconds ${masterName} 60000\n`,
        ),
    });
    started.push(sentinel);
    await until('Sentinel to see the replica', async () => {
      const c = new Redis({ host: '127.0.0.1', port: sentinel.port, lazyConnect: true });
      try {
        await c.connect();
        const replicas = (await c.call('SENTINEL', 'REPLICAS', masterName)) as unknown[];
        return replicas.length > 0;
      } finally {
        c.disconnect();
      }
    });
    return {
      master,
      replica,
      sentinel,
      masterName,
      async stop() {
        await Promise.all(started.map((r) => r.stop()));
      },
    };
  } catch (e) {
    await Promise.all(started.map((r) => r.stop()));
    throw e;
  }
}
