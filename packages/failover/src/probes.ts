import { spawn } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Clock, systemClock } from '@drkit/notify';
import { parseRedisUrl } from '@drkit/redis-source';

interface ProbeTiming {
  /** A name for status output; defaults to the type and target. */
  name?: string;
  /** How often the monitor runs it (ms). */
  intervalMs?: number;
  /** A probe that has not answered by then failed (ms). */
  timeoutMs?: number;
}

/** An HTTP(S) GET: passes when the status is in range, it answered within `latencyMs` and its body contains `body`. */
export interface HttpProbe extends ProbeTiming {
  type: 'http';
  url: string;
  /** Inclusive status range; default 200–399. */
  status?: { min: number; max: number };
  latencyMs?: number;
  /** Text the body must contain. */
  body?: string;
}
/** A TCP connect to `host:port`. */
export interface TcpProbe extends ProbeTiming {
  type: 'tcp';
  host: string;
  port: number;
}
/** Redis PING (AUTH first when the URL has a password): passes on +PONG. */
export interface RedisProbe extends ProbeTiming {
  type: 'redis';
  url: string;
}
/** A shell command: passes when it exits 0 in time (it is killed, with its children, at the timeout). */
export interface CommandProbe extends ProbeTiming {
  type: 'command';
  command: string;
}
export type Probe = HttpProbe | TcpProbe | RedisProbe | CommandProbe;

export interface ProbeResult {
  probe: string;
  ok: boolean;
  /** When it started (ms since 1970, by the clock given to runProbe). */
  at: number;
  /** How long it took (ms, real time). */
  ms: number;
  /** Why it failed. */
  error?: string;
}

export const DEFAULT_PROBE_INTERVAL_MS = 10_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

/** What a probe is called in results and status output (passwords in URLs masked). */
export function probeName(probe: Probe): string {
  if (probe.name) return probe.name;
  if (probe.type === 'http') return `http ${probe.url.replace(/\/\/[^@/]*@/, '//***@')}`;
  if (probe.type === 'tcp') return `tcp ${probe.host}:${probe.port}`;
  if (probe.type === 'redis') return `redis ${probe.url.replace(/\/\/[^@/]*@/, '//***@')}`;
  return `command ${probe.command}`;
}

let httpClient: Promise<unknown> | undefined;

/**
 * Node loads its HTTP client (undici) on a process's first fetch, 100 ms and more on a busy host: done
 * before the first HTTP probe's clock starts, so its timeout counts only the service's answer.
 */
function loadHttpClient(): Promise<unknown> {
  httpClient ??= fetch('data:,').then(
    (res) => res.arrayBuffer(),
    () => undefined,
  );
  return httpClient;
}

/** Runs one probe once; never throws: a failure is a result with `ok: false` and why. */
export async function runProbe(probe: Probe, now: () => number = Date.now): Promise<ProbeResult> {
  if (probe.type === 'http') await loadHttpClient();
  const at = now();
  const started = performance.now();
  const timeoutMs = probe.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  let error: string | undefined;
  try {
    error = await withTimeout(timeoutMs, (signal) => check(probe, signal));
  } catch (e) {
    error = (e as Error).message;
  }
  const ms = Math.round(performance.now() - started);
  return { probe: probeName(probe), ok: error === undefined, at, ms, ...(error === undefined ? {} : { error }) };
}

/** Runs `work` with a signal that aborts at the timeout; rejects then with "timed out". */
async function withTimeout<R>(timeoutMs: number, work: (signal: AbortSignal) => Promise<R>): Promise<R> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Undefined when the probe passes, else why it failed. */
async function check(probe: Probe, signal: AbortSignal): Promise<string | undefined> {
  if (probe.type === 'http') return checkHttp(probe, signal);
  if (probe.type === 'tcp')
    return checkSocket(netConnect({ host: probe.host, port: probe.port }), signal, undefined, 'connect');
  if (probe.type === 'redis') {
    const url = parseRedisUrl(probe.url);
    const socket = url.tls
      ? tlsConnect({ host: url.host, port: url.port, servername: url.host })
      : netConnect({ host: url.host, port: url.port });
    const auth =
      url.password === undefined ? '' : command(['AUTH', ...(url.username ? [url.username] : []), url.password]);
    return checkSocket(
      socket,
      signal,
      { send: `${auth}${command(['PING'])}`, expect: url.password === undefined ? 1 : 2 },
      url.tls ? 'secureConnect' : 'connect',
    );
  }
  return checkCommand(probe, signal);
}

async function checkHttp(probe: HttpProbe, signal: AbortSignal): Promise<string | undefined> {
  const started = performance.now();
  const res = await fetch(probe.url, { signal, redirect: 'manual', headers: { 'user-agent': 'drkit-failover-probe' } });
  const body = probe.body === undefined ? await res.arrayBuffer().then(() => '') : await res.text();
  const took = performance.now() - started;
  const { min, max } = probe.status ?? { min: 200, max: 399 };
  if (res.status < min || res.status > max) return `status ${res.status}, expected ${min}–${max}`;
  if (probe.latencyMs !== undefined && took > probe.latencyMs)
    return `answered in ${Math.round(took)} ms, over the ${probe.latencyMs} ms limit`;
  if (probe.body !== undefined && !body.includes(probe.body))
    return `the body does not contain ${JSON.stringify(probe.body)}`;
  return undefined;
}

/** A Redis command as a RESP array of bulk strings. */
function command(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Connects; with `talk`, sends it and waits for `expect` replies, the last of which must be +PONG. */
function checkSocket(
  socket: Socket,
  signal: AbortSignal,
  talk: { send: string; expect: number } | undefined,
  ready: 'connect' | 'secureConnect',
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let data = '';
    const done = (error: string | undefined) => {
      socket.destroy();
      resolve(error);
    };
    signal.addEventListener('abort', () => socket.destroy(), { once: true });
    socket.once('error', (e) => done(e.message));
    socket.once(ready, () => {
      if (!talk) return done(undefined);
      socket.write(talk.send);
    });
    socket.on('data', (d) => {
      data += d;
      const lines = data.split('\r\n').filter((l) => l !== '');
      const refused = lines.find((l) => l.startsWith('-'));
      if (refused) return done(`Redis answered ${refused.slice(1)}`);
      if (talk && lines.length >= talk.expect)
        done(lines[talk.expect - 1] === '+PONG' ? undefined : `Redis answered ${lines[talk.expect - 1]}`);
    });
    socket.once('close', () => done('the connection closed before an answer'));
  });
}

function checkCommand(probe: CommandProbe, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', probe.command], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-500)));
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    };
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => resolve(e.message));
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      resolve(
        code === 0
          ? undefined
          : `exited with ${sig ?? code}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
      );
    });
  });
}

export interface WaitForProbes {
  /** Give up after this long (ms). */
  withinMs: number;
  /** Every probe must pass on every round for this long (ms); 0: one round where all pass. */
  passForMs?: number;
  /** Between rounds (ms); default the shortest probe interval, at most 1 s. */
  everyMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

/**
 * Runs all the probes in rounds until every one has passed on every round for `passForMs`
 * (then `ok`), or `withinMs` runs out (then not, with the last round's results). The drills and
 * failover's `verify` step wait for a service this way.
 */
export async function waitForProbes(
  probes: Probe[],
  options: WaitForProbes,
): Promise<{ ok: boolean; results: ProbeResult[]; tookMs: number }> {
  const clock = options.clock ?? systemClock;
  const start = clock.now();
  const every = options.everyMs ?? Math.min(1_000, ...probes.map((p) => p.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS));
  let passingSince: number | undefined;
  for (;;) {
    const results = await Promise.all(probes.map((p) => runProbe(p, () => clock.now())));
    const now = clock.now();
    if (results.every((r) => r.ok)) passingSince ??= results[0]?.at ?? now;
    else passingSince = undefined;
    if (passingSince !== undefined && now - passingSince >= (options.passForMs ?? 0))
      return { ok: true, results, tookMs: now - start };
    if (now - start >= options.withinMs || options.signal?.aborted) return { ok: false, results, tookMs: now - start };
    await clock.sleep(Math.min(every, start + options.withinMs - now), options.signal);
  }
}
