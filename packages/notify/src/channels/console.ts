import type { Channel, Delivery } from '../channel.js';
import { subjectLine } from './format.js';

export interface ConsoleChannelOptions {
  name: string;
  /** Default: standard error, so that a command's --json output on standard output stays clean. */
  stream?: NodeJS.WritableStream;
}

/** Writes each notification to a stream: for trying routes out, and for logs collected from stderr. */
export function consoleChannel(options: ConsoleChannelOptions): Channel {
  const stream = options.stream ?? process.stderr;
  return {
    name: options.name,
    type: 'console',
    describe: () =>
      `console (${
        stream === process.stderr ? 'standard error' : stream === process.stdout ? 'standard output' : 'a stream'
      })`,
    send: (n) =>
      new Promise<Delivery>((resolve) => {
        const text = `${subjectLine(n)} (${n.kind})\n${n.text.replace(/^/gm, '  ')}\n`;
        stream.write(text, (error) =>
          resolve(error ? { ok: false, retryable: false, error: `could not write: ${error.message}` } : { ok: true }),
        );
      }),
  };
}
