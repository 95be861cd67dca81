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

/**
 * Starts `redis-server` on a free loopback port, without persistence, with its files in `dir`
 * and room for `databases`; resolves once it answers. stop() ends it and waits for its exit.
 */
export async function startScratchRedis(binary: string, dir: string, databases: number): Promise<ScratchRedis> {
  const port = await freePort();
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
  void exited.then((why) => (gone = why));
  while (gone === undefined && Date.now() < deadline) {
    const conn = await RedisConnection.open({ url, connectTimeoutMs: 500 }).catch(() => undefined);
    if (conn) {
      await conn.close();
      return { url, stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new RunbookError(
    RunbookErrorCode.SCRATCH_REDIS,
    `The drill could not start a scratch redis-server (${binary}) on ` +
      `127.0.0.1:${port}: ${gone ?? `no answer within ${STARTUP_MS / 1000} s`}.`,
    {
      hint:
        'Install redis-server, set drill.redis_server to its path, or give drill.redis: the URL of a scratch ' +
        'server the drill may empty.',
    },
  );
}
