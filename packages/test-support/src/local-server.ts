import type { Server, Socket } from 'node:net';

/**
 * Listens on a free port of 127.0.0.1. `stop` ends open connections first: a client's
 * keep-alive socket would otherwise hold close() open.
 */
export async function listenLocally(server: Server): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
