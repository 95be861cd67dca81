import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { listenLocally } from './local-server.js';

/** What the proxy does to one request instead of passing it through untouched. */
export type Fault =
  /** Close the connection before anything reaches the server. */
  | { kind: 'reset' }
  /** Pass `bytes` of the request body on, then close the connection (a reset mid-upload). */
  | { kind: 'reset-after'; bytes: number }
  /** Answer with an S3 error document, e.g. 500 InternalError or 503 SlowDown; the server sees nothing. */
  | { kind: 'status'; status: number; code?: string }
  /** Read `afterBytes` of the request body (all of it by default), then go silent: a stalled upload. */
  | { kind: 'stall'; afterBytes?: number }
  /** Pass the request on, send `bytes` of the response body, then close the connection. */
  | { kind: 'cut-response'; bytes: number }
  /** Pass the request on, send `bytes` of the response body, then go silent. */
  | { kind: 'stall-response'; bytes: number }
  /** Pass the request on, then send the response body `bytes` (default 1) at a time, every `everyMs`. */
  | { kind: 'trickle-response'; everyMs: number; bytes?: number };

export interface ProxiedRequest {
  /** 1 for the first request the proxy saw. */
  n: number;
  method: string;
  path: string;
  query: URLSearchParams;
  /** The S3 operation, guessed from method and query: UploadPart, PutObject, GetObject, … */
  op: string;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  /** Every request, with the fault applied to it, if any. */
  log: Array<ProxiedRequest & { fault?: Fault['kind'] }>;
  /** Decides each request's fault from now on; return undefined to pass it through. */
  setFaults(rule: ((r: ProxiedRequest) => Fault | undefined) | undefined): void;
  stop(): Promise<void>;
}

function s3Op(method: string, q: URLSearchParams): string {
  if (method === 'PUT') return q.has('partNumber') ? 'UploadPart' : 'PutObject';
  if (method === 'POST')
    return q.has('uploads')
      ? 'CreateMultipartUpload'
      : q.has('uploadId')
        ? 'CompleteMultipartUpload'
        : q.has('delete')
          ? 'DeleteObjects'
          : 'Post';
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'GET')
    return q.has('uploads') ? 'ListMultipartUploads' : q.get('list-type') === '2' ? 'ListObjectsV2' : 'GetObject';
  return method;
}

/** Sends what `from` brings `bytes` at a time, every `everyMs`, until it is all sent or the client goes away. */
function trickle(from: IncomingMessage, to: ServerResponse, everyMs: number, bytes: number): void {
  let held = Buffer.alloc(0);
  let ended = false;
  from.on('data', (chunk: Buffer) => (held = Buffer.concat([held, chunk])));
  from.on('end', () => (ended = true));
  const timer = setInterval(() => {
    to.write(held.subarray(0, bytes));
    held = held.subarray(bytes);
    if (ended && held.length === 0) {
      clearInterval(timer);
      to.end();
    }
  }, everyMs);
  to.on('close', () => {
    clearInterval(timer);
    from.destroy();
  });
}

/**
 * A real HTTP proxy between an S3 client and an S3 server that injects faults chosen per
 * request: connection resets (before or mid-upload), 5xx answers, and stalls that only a
 * client timeout ends. Point the client's endpoint at `endpoint`.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const log: FaultProxy['log'] = [];
  let rule: ((r: ProxiedRequest) => Fault | undefined) | undefined;
  let n = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, fault: Fault | undefined) => {
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault?.kind === 'trickle-response') return trickle(upRes, res, fault.everyMs, fault.bytes ?? 1);
        if (fault?.kind === 'cut-response' || fault?.kind === 'stall-response') {
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= fault.bytes) return;
            const part = chunk.subarray(0, fault.bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= fault.bytes) {
              upRes.destroy();
              if (fault.kind === 'cut-response') res.socket?.destroy();
            }
          });
          return;
        }
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    if (fault?.kind === 'reset-after') {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        if (seen >= fault.bytes) return;
        const part = chunk.subarray(0, fault.bytes - seen);
        seen += part.length;
        up.write(part);
        if (seen >= fault.bytes) {
          up.destroy();
          req.socket.destroy();
        }
      });
      return;
    }
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const info: ProxiedRequest = {
      n: ++n,
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      op: s3Op(req.method ?? 'GET', url.searchParams),
    };
    const fault = rule?.(info);
    log.push({ ...info, ...(fault ? { fault: fault.kind } : {}) });
    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'status': {
        const code = fault.code ?? (fault.status === 503 ? 'SlowDown' : 'InternalError');
        req.resume();
        req.on('end', () => {
          res.writeHead(fault.status, { 'content-type': 'application/xml' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the ` +
              `fault proxy</Message><RequestId>fault-${info.n}</RequestId></Error>`,
          );
        });
        return;
      }
      case 'stall': {
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (fault.afterBytes !== undefined && seen >= fault.afterBytes) req.pause();
        });
        return;
      }
      default:
        forward(req, res, fault);
    }
  });
  const { port, stop } = await listenLocally(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    log,
    setFaults(r) {
      rule = r;
    },
    stop,
  };
}
