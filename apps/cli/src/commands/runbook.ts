import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { stepId } from '@drkit/config';
import {
  allRunbooks,
  type CommandResult,
  findRunbook,
  planStep,
  resumeCommand,
  RunbookError,
  RunbookErrorCode,
  runCommand,
  runRunbook,
} from '@drkit/runbooks';
import { loadConfig } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type NotifyOptions, openNotifier, sayDelivery } from '../notify-context.js';
import { printJson, say, table, warn } from '../output.js';
import { serviceProbes } from '../probes.js';
import { sourcesOf } from '../runbook-sources.js';

interface RunFlags extends NotifyOptions {
  dryRun?: boolean;
  yes?: boolean;
  from?: string;
  incident?: string;
  repo?: string;
  identity?: string;
  passphraseFile?: string;
  trustKey?: string[];
}

export async function list(_args: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const books = allRunbooks(config?.runbooks);
  if (opts.json)
    printJson(
      books.map((b) => ({
        name: b.name,
        origin: b.origin,
        description: b.runbook.description,
        severity: b.runbook.severity,
        steps: b.runbook.steps.length,
      })),
    );
  else
    table(
      ['NAME', 'FROM', 'STEPS', 'DESCRIPTION'],
      books.map((b) => [b.name, b.origin, String(b.runbook.steps.length), b.runbook.description]),
    );
  return ExitCode.OK;
}

export async function show([name]: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const { runbook, origin } = findRunbook(String(name), config?.runbooks);
  if (opts.json) {
    printJson({ name, origin, ...runbook });
    return ExitCode.OK;
  }
  say(`${name} (${origin}, opens a ${runbook.severity}): ${runbook.description}`);
  for (const [i, step] of runbook.steps.entries())
    say(
      `  ${i + 1}. ${stepId(step, i)} [${step.type}] ` +
        `${step.title ?? planStep(step, sourcesOf(config), String(name)).describe}`,
    );
  return ExitCode.OK;
}

export async function run([name]: unknown[], opts: RunFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const { runbook } = findRunbook(String(name), config?.runbooks);
  const notifier = opts.dryRun ? undefined : await openNotifier(opts);
  try {
    const record = await runRunbook(
      {
        name: String(name),
        runbook,
        dryRun: opts.dryRun === true,
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.incident ? { incident: opts.incident } : {}),
      },
      {
        drkit: (args, timeoutMs) => drkitChild([...globalFlags(opts), ...args, '--json'], timeoutMs),
        shell: (command, timeoutMs) => runCommand(command, process.cwd(), process.env, undefined, timeoutMs),
        probes: (probes, withinMs) => serviceProbes(config, probes, withinMs),
        confirm: (message) => confirm(message, opts.yes === true),
        sources: sourcesOf(config),
        ...(notifier ? { notifier, store: notifier.store } : {}),
        onStep: (step, i, total) => {
          if (opts.json) return;
          if (step.status === 'running') warn(`[${i + 1}/${total}] ${step.id} (${step.type})…`);
          else
            warn(
              `[${i + 1}/${total}] ${step.id}: ${step.status}` +
                `${step.seconds === undefined ? '' : ` in ${step.seconds.toFixed(1)} s`}` +
                `${step.summary ? `: ${step.summary}` : ''}`,
            );
        },
      },
    );
    if (opts.json) printJson(record);
    else {
      const by = (status: string) => record.steps.filter((s) => s.status === status).map((s) => s.id);
      say(
        `runbook ${name}${record.dry_run ? ' (dry run: nothing was done)' : ''}: ${record.status}` +
          `${record.incident ? `, incident ${record.incident}` : ''}`,
      );
      if (record.status === 'failed') {
        say(`  ran: ${by('ok').join(', ') || 'nothing'}`);
        say(`  failed: ${by('failed').join(', ')}: ${record.steps.find((s) => s.status === 'failed')?.summary ?? ''}`);
        say(`  not run: ${by('not-run').join(', ') || 'nothing'}`);
        say(`  to resume: ${resumeCommand(record)}`);
      }
    }
    if (notifier) sayDelivery(notifier, await notifier.deliver());
    return record.status === 'ok' ? ExitCode.OK : ExitCode.ERROR;
  } finally {
    await notifier?.store.close();
  }
}

/** The flags a step's drkit command inherits, so that it works on the same config, repository and state. */
function globalFlags(opts: RunFlags): string[] {
  return [
    ...(opts.config ? ['--config', opts.config] : []),
    ...(opts.repo ? ['--repo', opts.repo] : []),
    ...(opts.state ? ['--state', opts.state] : []),
    ...(opts.identity ? ['--identity', opts.identity] : []),
    ...(opts.passphraseFile ? ['--passphrase-file', opts.passphraseFile] : []),
    ...(opts.trustKey ?? []).flatMap((k) => ['--trust-key', k]),
  ];
}

/** This drkit again, in a child process: each step is the command a person would run. */
function drkitChild(args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The human gate: --yes, or a "yes" typed at the terminal; never assumed. */
async function confirm(message: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY)
    throw new RunbookError(
      RunbookErrorCode.NOT_CONFIRMED,
      `This step needs a person to confirm it, and there is no terminal to ask: ${message}`,
      {
        hint:
          'Run it on a terminal to answer the question, or pass --yes if you have read the runbook (drkit ' +
          'runbook show NAME) and mean every step.',
      },
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(`${message} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
