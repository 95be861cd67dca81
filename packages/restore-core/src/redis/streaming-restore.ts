import type { Writable } from 'node:stream';
import { loadIoredis } from '@drkit/redis-source';
import type { Command } from 'ioredis';

/**
 * `RESTORE key ttl payload REPLACE ABSTTL` written to the socket in three pieces, so a large
 * payload is never copied: ioredis would concatenate every argument into one new buffer, i.e.
 * hold the payload twice. Only for commands sent alone (`client.sendCommand`), never in a
 * pipeline: ioredis passes the connection's socket to `toWritable` exactly then, and writes
 * what this returns right after.
 */
export function streamingRestore(key: Buffer, ttl: number, payload: Buffer): Command {
  return new (streamingRestoreClass())(key, ttl, payload);
}

// Defined on first use: subclassing needs ioredis loaded (see loadIoredis).
let defined: ReturnType<typeof define> | undefined;
const streamingRestoreClass = () => (defined ??= define(loadIoredis()));

const define = ({ Command: Base }: ReturnType<typeof loadIoredis>) =>
  class StreamingRestore extends Base {
    constructor(
      private readonly key: Buffer,
      private readonly ttl: number,
      private readonly payload: Buffer,
    ) {
      super('restore', [key, String(ttl), payload, 'REPLACE', 'ABSTTL']);
    }

    override toWritable(socket: unknown): string | Buffer {
      const ttl = String(this.ttl);
      const head = Buffer.concat([
        Buffer.from(`*6\r\n$7\r\nRESTORE\r\n$${this.key.length}\r\n`),
        this.key,
        Buffer.from(`\r\n$${ttl.length}\r\n${ttl}\r\n$${this.payload.length}\r\n`),
      ]);
      const s = socket as Writable;
      s.write(head);
      s.write(this.payload);
      return '\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n';
    }
  };
