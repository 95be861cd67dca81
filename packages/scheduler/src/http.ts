import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchedulerError, SchedulerErrorCode } from './errors.js';

export interface Routes {
  healthz: () => Promise<{ ok: boolean; detail?: unknown }>;
  readyz: () => Promise<{ ok: boolean; detail?: unknown; failover?: unknown }>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  status: () => Promise<string>;
  statusJson: () => Promise<unknown>;
  operator: () => Promise<string>;
  /** Returns [status, body]: 4xx with the reason for anything malformed. */
  alertmanager: (body: string) => Promise<[number, unknown]>;
}

const MAX_BODY = 1 << 20;

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>) =>
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One port for everything: health, readiness, metrics, the status page, the operator page and
 * Alertmanager's webhook. With a token, POST /alertmanager needs `Authorization: Bearer TOKEN`.
 */
export async function startHttp(
  listen: string,
  routes: Routes,
  options: { token?: string; onError: (error: unknown) => void },
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.onError(error);
      if (!res.headersSent) json(res, 500, { error: { code: 'SCHEDULER_HTTP', message: (error as Error).message } });
      else res.end();
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/alertmanager') {
      if (req.method !== 'POST')
        return json(res, 405, { error: 'POST Alertmanager webhook payloads here' }, { allow: 'POST' });
      if (options.token !== undefined && !tokenMatches(req.headers.authorization, options.token))
        return json(
          res,
          401,
          {
            error:
              'a bearer token is required: set http_config.authorization.credentials in the Alertmanager ' +
              'receiver to scheduler.token',
          },
          { 'www-authenticate': 'Bearer' },
        );
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
        return json(res, 415, { error: 'the body must be application/json' });
      const body = await readBody(req);
      if (body === undefined) return json(res, 413, { error: `the body is larger than ${MAX_BODY} bytes` });
      const [status, answer] = await routes.alertmanager(body);
      return json(res, status, answer);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { error: 'only GET here' }, { allow: 'GET, HEAD' });
    switch (path) {
      case '/healthz':
      case '/readyz': {
        const r = await (path === '/healthz' ? routes.healthz() : routes.readyz());
        return json(res, r.ok ? 200 : 503, r);
      }
      case '/metrics': {
        const m = await routes.metrics();
        return send(res, 200, m.contentType, m.body);
      }
      case '/status':
        return send(res, 200, 'text/html; charset=utf-8', await routes.status());
      case '/status.json':
      // The status page links its machine-readable twin by this name.
      case '/summary.json':
        return json(res, 200, await routes.statusJson());
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', await routes.operator());
      case '/favicon.ico':
        // Browsers ask for it on every page; there is none, and "none" is not an error.
        res.writeHead(204, { 'cache-control': 'public, max-age=86400' });
        return void res.end();
      default:
        return json(res, 404, {
          error:
            `no such page: ${path}; try /, /status, /status.json, /metrics, /healthz, /readyz or POST ` +
            `/alertmanager`,
        });
    }
  }
  const match = /^(.*):(\d+)$/.exec(listen)!;
  const host = match[1]!.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new SchedulerError(
          SchedulerErrorCode.LISTEN_FAILED,
          `Cannot listen on ${listen}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}.`,
          {
            cause: error,
            hint: 'Stop what uses the port, or pass --listen HOST:PORT (scheduler.listen in the config).',
            details: { listen },
          },
        ),
      ),
    );
    server.listen(Number(match[2]), host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
  };
}
