import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { errnoCode } from '@drkit/errors';
import { RedisConnection } from '@drkit/redis-source';
import { RunbookError, RunbookErrorCode } from './errors.js';

export interface ScratchRedis {
  url: string;
  stop(): Promise<void>;
}

const STARTUP_MS = 15_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const ATTEMPTS = 3;
/** Why a try failed when the port was taken between picking it and binding it: another port is tried. */
const PORT_TAKEN = /another server answers on that port|Address already in use/;

/**
 * Starts `redis-server` on a free loopback port, without persistence, with its files in `dir`
 * and room for `databases`; resolves once it answers. stop() ends it and waits for its exit.
 * `pickPort` is for tests.
 */
export async function startScratchRedis(
  binary: string,
  dir: string,
  databases: number,
  pickPort: () => Promise<number> = freePort,
): Promise<ScratchRedis> {
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort();
    const started = await startOn(binary, dir, databases, port);
    if (typeof started !== 'string') return started;
    if (attempt < ATTEMPTS && PORT_TAKEN.test(started)) continue;
    throw new RunbookError(
      RunbookErrorCode.SCRATCH_REDIS,
      `The drill could not start a scratch redis-server (${binary}) on 127.0.0.1:${port}: ${started}.`,
      {
        hint:
          'Install redis-server, set drill.redis_server to its path, or give drill.redis: the URL of a scratch ' +
          'server the drill may empty.',
      },
    );
  }
}

/**
 * One try on `port`: the server, or why it did not start. The port is free when picked, not when
 * bound: a server answering there that is not ours is never used (the drill empties its scratch
 * databases).
 */
async function startOn(binary: string, dir: string, databases: number, port: number): Promise<ScratchRedis | string> {
  const args = [
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
    '--databases',
    String(Math.max(16, databases)),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer) => (log = (log + d).slice(-2000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(errnoCode(e) === 'ENOENT' ? `${binary} was not found` : e.message));
    child.once('exit', (code, signal) =>
      resolve(`it exited with ${signal ?? code}: ${log.trim().split('\n').slice(-3).join(' | ')}`),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  };
  const deadline = Date.now() + STARTUP_MS;
  let gone: string | undefined;
  void exited.then((why) => (gone ??= why));
  while (gone === undefined && Date.now() < deadline) {
    const conn = await RedisConnection.open({ url, connectTimeoutMs: 500 }).catch(() => undefined);
    if (conn) {
      const info = await conn
        .nodes()[0]!
        .info('server')
        .catch(() => '');
      await conn.close();
      if (new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(info)) return { url, stop };
      gone ??= 'another server answers on that port';
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return gone ?? `no answer within ${STARTUP_MS / 1000} s`;
}
