import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RunningRedis {
  url: string;
  host: string;
  port: number;
  dir: string;
  /** `redis_version` of the server, and the RDB version its DUMP payloads carry. */
  version: string;
  rdbVersion: number;
  process: ChildProcess;
  /** A client on `db` (closed by stop()). */
  client(db?: number): Redis;
  /** Ends the server abruptly (SIGKILL), as a crash would; stop() still cleans up. */
  kill(): void;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. ['--requirepass', 's3cret']. */
  args?: string[];
  password?: string;
  /** Pick a port whose +10000 (the cluster bus) is free as well. */
  clusterPort?: boolean;
  /** Start a Sentinel instead: writes `sentinel.conf` into the given folder first. */
  sentinel?: (dir: string) => Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
}

/** Ends a server this suite started (SIGTERM, waiting for it) and removes its folder. */
export async function stopServer(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
  await rm(dir, { recursive: true, force: true });
}

/** A free TCP port on 127.0.0.1 (free when asked: a server that fails to bind retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.on('data', (d) => {
      data += d;
      if (data.includes('+PONG')) done(true);
      else if (data.startsWith('-') && !password) done(false);
    });
    sock.once('connect', () => sock.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n'));
  });
}

/** A client of the server on `port` and its INFO server, if it is the process `pid`; else undefined. */
async function ours(port: number, pid: number, password?: string): Promise<{ probe: Redis; info: string } | undefined> {
  const probe = new Redis({ host: '127.0.0.1', port, password });
  const info = await probe.info('server').catch(() => '');
  if (new RegExp(`^process_id:${pid}\\r?$`, 'm').test(info)) return { probe, info };
  probe.disconnect();
  return undefined;
}

/**
 * Starts a throw-away `redis-server` on 127.0.0.1 and a free port, without persistence, and
 * waits until it answers PING.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RunningRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'drkit-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = options.clusterPort ? await freeClusterPort() : await freePort();
    await options.sentinel?.(dir);
    const args = options.sentinel
      ? [path.join(dir, 'sentinel.conf'), '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir]
      : [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          ...(options.password ? ['--requirepass', options.password] : []),
          ...(options.args ?? []),
        ];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d) => (log = (log + d).slice(-4000)));
    child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await ping(port, options.password)))
      await new Promise((r) => setTimeout(r, 50));
    // The port is free when picked, not when bound: another server that took it meanwhile answers PING too.
    const found = !exited && Date.now() < deadline ? await ours(port, child.pid!, options.password) : undefined;
    if (found) {
      const { probe } = found;
      const clients: Redis[] = [];
      const version = /^redis_version:(.*)$/m.exec(found.info)?.[1]?.trim() ?? 'unknown';
      let rdbVersion = 0;
      // A replica is read-only, a Sentinel has no keyspace, a new cluster node no slots: only plain servers are probed.
      if (!options.sentinel && !(options.args ?? []).some((a) => a === '--replicaof' || a === '--cluster-enabled')) {
        await probe.set('test-support:probe', '1');
        const dumped = (await probe.dumpBuffer('test-support:probe'))!;
        await probe.del('test-support:probe');
        rdbVersion = dumped.readUInt16LE(dumped.length - 10);
      }
      probe.disconnect();
      const pw = options.password ? `:${encodeURIComponent(options.password)}@` : '';
      return {
        url: `redis://${pw}127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        dir,
        version,
        rdbVersion,
        process: child,
        client(db = 0) {
          const c = new Redis({
            host: '127.0.0.1',
            port,
            db,
            password: options.password,
            lazyConnect: false,
            maxRetriesPerRequest: 1,
          });
          c.on('error', () => {});
          clients.push(c);
          return c;
        },
        kill() {
          child.kill('SIGKILL');
        },
        async stop() {
          for (const c of clients) c.disconnect();
          await stopServer(child, dir);
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on port ${port}: ${log.trim().split('\n').slice(-5).join(' | ')}`);
    }
  }
}
