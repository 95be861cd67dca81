import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, stopServer } from './redis.js';

export const ETCD_SERVER = process.env.ETCD_SERVER ?? '/usr/bin/etcd';

export interface RunningEtcd {
  /** `127.0.0.1:<port>`, as drkit's `lease.endpoints` take it. */
  endpoint: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Ends the server abruptly (SIGKILL), as a crash would; stop() still cleans up. */
  kill(): void;
  stop(): Promise<void>;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** True when the etcd answering on `url` is the one keeping its data in `dataDir`: another may have taken the port. */
async function ours(url: string, dataDir: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/debug/vars`, { signal: AbortSignal.timeout(2_000) });
    return ((await res.json()) as { cmdline?: string[] }).cmdline?.includes(dataDir) === true;
  } catch {
    return false;
  }
}

/**
 * Starts a throw-away single-member `etcd` (Debian's etcd-server) on 127.0.0.1, free client and
 * peer ports and its own data folder, and waits until /health says true. Heartbeat 50 ms and
 * election 500 ms, so etcd's smallest lease TTL is one second (it is 1.5 × the election timeout).
 */
export async function startEtcd(): Promise<RunningEtcd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'drkit-etcd-'));
  for (let attempt = 0; ; attempt++) {
    const [port, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = path.join(dir, `data-${attempt}`);
    const args = [
      '--name',
      'test',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `test=${peerUrl}`,
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--log-level',
      'warn',
    ];
    const child = spawn(ETCD_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d) => (log = (log + d).slice(-4000)));
    child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('error', () => (exited = true));
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline && !(await healthy(url))) await new Promise((r) => setTimeout(r, 50));
    // The ports are free when picked, not when bound: an etcd that took them meanwhile is healthy too.
    if (!exited && Date.now() < deadline && (await ours(url, dataDir))) {
      return {
        endpoint: `127.0.0.1:${port}`,
        url,
        port,
        dir,
        process: child,
        kill() {
          child.kill('SIGKILL');
        },
        stop: () => stopServer(child, dir),
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(
        `etcd did not start on port ${port}: ${log.trim().split('\n').slice(-5).join(' | ')} (install ` +
          `Debian's etcd-server, or set ETCD_SERVER)`,
      );
    }
  }
}
