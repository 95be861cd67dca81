import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { RedisError, RedisErrorCode, redisFailure, selectFailure } from './errors.js';
import { maskUrl, parseRedisUrl } from './url.js';

/** ioredis costs ~30 MiB and ~0.1 s to load: only commands that talk to Redis load it, on first use. */
const requireIoredis = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | undefined;
export const loadIoredis = () => (ioredis ??= requireIoredis('ioredis') as typeof import('ioredis'));

export interface RedisEndpoint {
  host: string;
  port: number;
}

export interface RedisTlsOptions {
  /** PEM text of the CA, or `caFile` to read it from. */
  ca?: string;
  caFile?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/**
 * Where a Redis lives, in one of the forms ioredis supports: a URL or host/port (standalone),
 * Sentinel (`sentinel`) or Cluster (`cluster`). Secrets are never part of `label`.
 */
export interface RedisConnectionOptions {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  tls?: boolean | RedisTlsOptions;
  /** A database number for standalone and Sentinel; the URL's `/db` when not given. */
  db?: number;
  sentinel?: {
    masterName: string;
    nodes: RedisEndpoint[];
    username?: string;
    password?: string;
    /** Read from a replica to spare the master (backups); restores always write to the master. */
    readFrom?: 'master' | 'replica';
  };
  cluster?: { nodes: RedisEndpoint[] };
  connectTimeoutMs?: number;
}

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';
export type RedisClient = Redis | Cluster;

export interface ServerFacts {
  version: string;
  mode: RedisMode;
  role: string;
  nodes: number;
}

/** A human label for the server, without secrets: the masked URL, or the Sentinel/Cluster form. */
export function describeRedis(options: RedisConnectionOptions): string {
  if (options.cluster) return `cluster ${options.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (options.sentinel)
    return (
      `sentinel master "${options.sentinel.masterName}" via ` +
      `${options.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
    );
  if (options.url) return maskUrl(options.url);
  const tls = options.tls ? 'rediss' : 'redis';
  return (
    `${tls}://${options.password ? `${options.username ?? ''}:***@` : ''}${options.host ?? '127.0.0.1'}:` +
    `${options.port ?? 6379}${options.db !== undefined ? `/${options.db}` : ''}`
  );
}

function tlsOptions(tls: RedisConnectionOptions['tls']): RedisOptions['tls'] {
  if (!tls) return undefined;
  if (tls === true) return {};
  return {
    ...(tls.ca ? { ca: tls.ca } : tls.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}),
    ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

/**
 * ioredis sends the `db` option's SELECT while it connects and only emits its failure as an
 * 'error' event, then runs every command in database 0. So the SELECT is sent again here and
 * its answer awaited: a database the server does not have is an error, never database 0.
 */
async function selectChecked(client: Redis, db: number, label: string): Promise<void> {
  try {
    await client.select(db);
  } catch (cause) {
    throw selectFailure(cause, label, db);
  }
}

/**
 * One logical connection to a Redis deployment. It never reconnects on its own: a server that
 * goes away mid-backup must fail the backup, not make it wait or skip keys silently.
 */
export class RedisConnection {
  private readonly extra: Redis[] = [];
  private readonly dbClients = new Map<number, Promise<Redis>>();

  private constructor(
    readonly client: RedisClient,
    readonly mode: RedisMode,
    readonly label: string,
    /** The database the URL or options named, if any. */
    readonly defaultDb: number | undefined,
  ) {}

  static async open(options: RedisConnectionOptions): Promise<RedisConnection> {
    const label = describeRedis(options);
    const modes = [options.url || options.host ? 1 : 0, options.sentinel ? 1 : 0, options.cluster ? 1 : 0].reduce(
      (a, b) => a + b,
      0,
    );
    if (modes !== 1)
      throw new RedisError(
        RedisErrorCode.BAD_OPTIONS,
        `A Redis source needs exactly one of url/host, sentinel or cluster (got ${modes}).`,
        {
          hint: 'Give a redis:// URL, or host and port, or a sentinel block, or a cluster block.',
        },
      );
    const parsed = options.url ? parseRedisUrl(options.url) : undefined;
    const tls = tlsOptions(options.tls ?? parsed?.tls);
    const base: RedisOptions = {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      username: options.username ?? parsed?.username,
      password: options.password ?? parsed?.password,
      ...(tls ? { tls } : {}),
    };
    const db = options.db ?? parsed?.db;
    let client: RedisClient;
    let mode: RedisMode;
    if (options.cluster) {
      mode = 'cluster';
      client = new (loadIoredis().Cluster)(options.cluster.nodes, {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        redisOptions: base,
        enableReadyCheck: true,
      });
    } else if (options.sentinel) {
      mode = 'sentinel';
      const s = options.sentinel;
      client = new (loadIoredis().Redis)({
        ...base,
        sentinels: s.nodes,
        name: s.masterName,
        role: s.readFrom === 'replica' ? 'slave' : 'master',
        sentinelUsername: s.username,
        sentinelPassword: s.password,
        sentinelRetryStrategy: () => null,
        db: db ?? 0,
      });
    } else {
      mode = 'standalone';
      client = new (loadIoredis().Redis)({
        ...base,
        host: parsed?.host ?? options.host ?? '127.0.0.1',
        port: parsed?.port ?? options.port ?? 6379,
        db: db ?? 0,
      });
    }
    let lastError: unknown;
    client.on('error', (e) => (lastError = e));
    try {
      await client.connect();
    } catch (cause) {
      client.disconnect();
      throw redisFailure(lastError ?? cause, label, 'connect');
    }
    if (db !== undefined && mode !== 'cluster')
      await selectChecked(client as Redis, db, label).catch((e) => {
        client.disconnect();
        throw e;
      });
    return new RedisConnection(client, mode, label, db);
  }

  /** The servers whose keyspaces together hold the data: the one server, or every cluster master. */
  nodes(): Redis[] {
    return this.client instanceof loadIoredis().Cluster ? this.client.nodes('master') : [this.client];
  }

  /**
   * A connection with `db` selected (its own socket; cluster has
   * only db 0); REDIS_NO_SUCH_DB when the server cannot select it.
   */
  forDb(db: number): Promise<Redis> {
    if (this.client instanceof loadIoredis().Cluster) {
      if (db !== 0)
        throw new RedisError(
          RedisErrorCode.BAD_OPTIONS,
          `Redis Cluster has only database 0; database ${db} was asked for on ${this.label}.`,
          { hint: 'Restore or read database 0 only on a cluster.' },
        );
      throw new RedisError(RedisErrorCode.BAD_OPTIONS, 'internal: forDb on a cluster; use the cluster client.');
    }
    const client = this.client;
    if (client.options.db === db) return Promise.resolve(client);
    let p = this.dbClients.get(db);
    if (!p) {
      p = (async () => {
        const c = client.duplicate({ db, lazyConnect: true });
        let lastError: unknown;
        c.on('error', (e) => (lastError = e));
        this.extra.push(c);
        try {
          await c.connect();
        } catch (cause) {
          throw redisFailure(lastError ?? cause, this.label, `select database ${db}`);
        }
        await selectChecked(c, db, this.label);
        return c;
      })();
      this.dbClients.set(db, p);
    }
    return p;
  }

  /** Databases that hold keys on a node, from INFO keyspace. */
  async keyspace(node: Redis): Promise<Map<number, number>> {
    const info = await node.info('keyspace').catch((e) => {
      throw redisFailure(e, this.label, 'read INFO keyspace');
    });
    const out = new Map<number, number>();
    for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) out.set(Number(m[1]), Number(m[2]));
    return out;
  }

  async facts(): Promise<ServerFacts> {
    const node = this.nodes()[0]!;
    const info = await node.info('server').catch((e) => {
      throw redisFailure(e, this.label, 'read INFO server');
    });
    const repl = await node.info('replication').catch(() => '');
    const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim();
    return {
      version: field(info, 'redis_version') ?? 'unknown',
      mode: this.mode,
      role: field(repl, 'role') ?? 'unknown',
      nodes: this.nodes().length,
    };
  }

  async close(): Promise<void> {
    for (const c of this.extra) c.disconnect();
    this.client.disconnect();
  }
}
