import { writeSync } from 'node:fs';
import { DrkitError } from '@drkit/errors';
import { ExitCode } from './exit-codes.js';

// SIGINT and SIGTERM become an abort the packages see at their next safe point (they roll back
// and say what is left); the entry then exits 130 or 143. The entry is the only place that ends
// the process, except for a stop at once: a second signal, or a command with nothing to roll back.
const controller = new AbortController();
let received: NodeJS.Signals | undefined;
let leftBehind: string | undefined;

export function exitCodeOf(signal: NodeJS.Signals): ExitCode {
  return signal === 'SIGINT' ? ExitCode.SIGINT : ExitCode.SIGTERM;
}

/** The signal that interrupted this run, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/**
 * Called by a command that stops at safe points and rolls back: returns the signal to hand to
 * the packages. `leftBehind` says what a second signal, which stops at once, may leave.
 */
export function stopsSafely(whatAStopAtOnceLeaves: string): AbortSignal {
  leftBehind = whatAStopAtOnceLeaves;
  return controller.signal;
}

export function watchSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      if (received || leftBehind === undefined) {
        const what =
          leftBehind === undefined ? 'stopped' : `stopped at once, without finishing the clean-up: ${leftBehind}`;
        writeSync(2, `drkit: ${received ? `second ${sig}` : sig}: ${what}\n`);
        process.exit(exitCodeOf(received ?? sig));
      }
      received = sig;
      controller.abort(new DrkitError('INTERRUPTED', `Interrupted by ${sig}.`, { hint: 'Run the command again.' }));
    });
}

/** The same command line with passwords masked (`redis://:***@host`), with `extra` flags replacing their namesakes. */
export async function commandToFinish(extra: string[] = []): Promise<string> {
  // Loaded only here: startup stays free of the Redis package.
  const { maskUrl } = await import('@drkit/redis-source');
  const args = process.argv.slice(2);
  for (let i = 0; i < extra.length; i += 2) {
    const at = args.indexOf(extra[i]!);
    if (at >= 0) args.splice(at, 2);
    args.push(extra[i]!, extra[i + 1]!);
  }
  const masked = args.map((a) =>
    a.startsWith('--') && a.includes('=')
      ? `${a.slice(0, a.indexOf('='))}=${maskUrl(a.slice(a.indexOf('=') + 1))}`
      : maskUrl(a),
  );
  return ['drkit', ...masked.map(quote)].join(' ');
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
