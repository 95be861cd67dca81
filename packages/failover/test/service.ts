import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

export type Mode = 'up' | 'error' | 'down' | 'slow';

/** A real HTTP service on 127.0.0.1 that a test breaks, slows and mends; counts the requests it saw. */
export interface TestService {
  url: string;
  port: number;
  mode: Mode;
  /** Request n (from 0) fails with 503 when this says so (overrides mode 'up'). */
  failWhen?: (n: number) => boolean;
  slowMs: number;
  requests: number;
  close(): Promise<void>;
}

export async function startService(): Promise<TestService> {
  const sockets = new Set<Socket>();
  const service = { mode: 'up' as Mode, slowMs: 1_000, requests: 0 } as TestService;
  const server: Server = createServer((req, res) => {
    const n = service.requests++;
    if (service.mode === 'down') return req.socket.destroy();
    if (service.mode === 'error' || service.failWhen?.(n)) return void res.writeHead(503).end('unavailable');
    const reply = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok: ready');
    if (service.mode === 'slow') setTimeout(reply, service.slowMs).unref();
    else reply();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  service.port = port;
  service.url = `http://127.0.0.1:${port}/health`;
  service.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return service;
}

/** A clock the test moves by hand: `sleep` returns at once after moving it. */
export function fakeClock(start = Date.parse('2026-12-06T12:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    async sleep(ms: number) {
      now += Math.max(0, ms);
    },
  };
}

/** Exactly `perHundred` of every 100 consecutive requests fail, spread evenly. */
export const failingPerHundred = (perHundred: number) => (n: number) =>
  Math.floor(((n + 1) * perHundred) / 100) !== Math.floor((n * perHundred) / 100);
