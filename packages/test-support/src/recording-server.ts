import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listenLocally } from './local-server.js';

/** One request as the receiver saw it, body complete. */
export interface RecordedRequest {
  /** 1 for the first request the server saw. */
  n: number;
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-cased names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the body had arrived. */
  receivedAt: number;
  /** The body parsed as JSON. */
  json<T = any>(): T;
  /** The body parsed as application/x-www-form-urlencoded. */
  form(): URLSearchParams;
}

/** How the server answers one request. */
export type Answer =
  /** A response; `body` objects are sent as JSON. Default: 200 with body `ok`. */
  | { status?: number; headers?: Record<string, string>; body?: string | object; delayMs?: number }
  /** Close the connection after reading the request, without answering. */
  | { reset: true }
  /** Read the request and never answer: only a client timeout (or stop()) ends it. */
  | { hang: true };

export type AnswerRule = Answer | ((request: RecordedRequest) => Answer | undefined);

export interface RecordingServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[];
  /** How requests are answered from now on (after any queued answers); undefined answers 200 `ok`. */
  answer(rule: AnswerRule | undefined): void;
  /** Answers for the next requests, in order, before the rule applies again. */
  queue(...answers: Answer[]): void;
  /** Resolves once `count` requests in all have arrived. */
  waitForRequests(count: number): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

/**
 * A real HTTP receiver on 127.0.0.1 standing in for Slack, PagerDuty, Twilio or a webhook: it
 * records every request and answers as the test scripts it (status, headers such as
 * Retry-After, a delay, a reset, or no answer at all).
 */
export async function startRecordingServer(options: { answer?: AnswerRule } = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const queued: Answer[] = [];
  const waiters: Array<{ count: number; resolve: (r: RecordedRequest[]) => void }> = [];
  let rule = options.answer;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        n: requests.length + 1,
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        receivedAt: Date.now(),
        json: () => JSON.parse(body),
        form: () => new URLSearchParams(body),
      };
      requests.push(recorded);
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve([...requests]);
      }
      const answer = queued.shift() ?? (typeof rule === 'function' ? rule(recorded) : rule) ?? {};
      if ('reset' in answer) {
        req.socket.destroy();
        return;
      }
      if ('hang' in answer) return;
      const send = () => {
        const json = answer.body !== undefined && typeof answer.body !== 'string';
        const text = json ? JSON.stringify(answer.body) : ((answer.body as string | undefined) ?? 'ok');
        res.writeHead(answer.status ?? 200, {
          'content-type': json ? 'application/json' : 'text/plain',
          ...answer.headers,
        });
        res.end(text);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  const { port, stop } = await listenLocally(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    answer(r) {
      rule = r;
    },
    queue(...answers) {
      queued.push(...answers);
    },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve([...requests]);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    stop,
  };
}
