import { spawn } from 'node:child_process';

/** What every activate and dns hook is told: the fencing epoch first. */
export interface HookContext {
  epoch: number;
  reason: string;
  site: string;
  step: string;
}

/**
 * Runs a command (`/bin/sh -c`, with DRKIT_FAILOVER_EPOCH, _REASON, _SITE and _STEP in its
 * environment; killed with its children when `signal` aborts) or POSTs `{epoch, reason, site,
 * step}` to a webhook. Resolves with a short detail; rejects with why it failed.
 */
export async function runHook(
  hook: { command?: string; webhook?: string },
  context: HookContext,
  signal: AbortSignal,
): Promise<string> {
  if (hook.webhook) {
    const res = await fetch(hook.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'drkit-failover' },
      body: JSON.stringify(context),
      signal,
    });
    const text = (await res.text()).trim().slice(0, 300);
    if (!res.ok) throw new Error(`the webhook answered ${res.status}${text ? `: ${text}` : ''}`);
    return `webhook answered ${res.status}`;
  }
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      DRKIT_FAILOVER_EPOCH: String(context.epoch),
      DRKIT_FAILOVER_REASON: context.reason,
      DRKIT_FAILOVER_SITE: context.site,
      DRKIT_FAILOVER_STEP: context.step,
    };
    const child = spawn('/bin/sh', ['-c', hook.command!], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d).slice(-2000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    };
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', reject);
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      const last = output.trim().split('\n').pop() ?? '';
      if (code === 0) resolve(last ? `exit 0: ${last}` : 'exit 0');
      else reject(new Error(`${signal.aborted ? 'stopped' : `exited with ${sig ?? code}`}${last ? `: ${last}` : ''}`));
    });
  });
}
