import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Answer = { status: number; headers?: Record<string, string> };

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as the test scripts it
 * (default 200). `down()` closes the port (connections refused, as from a receiver that is down) until `up()`
 * binds it again.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest, nth: number) => Answer = () => ({ status: 200 });
  private server: Server | undefined;
  port = 0;

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await r.listen();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests to one path (a channel each), in arrival order. */
  at(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  private async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        const request = { path: req.url ?? '/', headers: req.headers, body };
        const nth = [...this.requests, ...this.refused].filter((r) => r.path === request.path).length;
        const answer = this.answer(request, nth);
        // Only what the receiver accepted counts as received.
        if (answer.status < 300) this.requests.push(request);
        else this.refused.push(request);
        res.writeHead(answer.status, answer.headers).end(answer.status < 300 ? 'ok' : 'no');
      });
    });
    // Rejects (e.g. EADDRINUSE: another process took the port while it was down) rather than hang.
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  readonly refused: ReceivedRequest[] = [];

  /** Closes the port: connections are refused (a retryable failure) until up(). */
  down(): Promise<void> {
    return this.stop();
  }

  up(): Promise<void> {
    return this.listen(this.port);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
