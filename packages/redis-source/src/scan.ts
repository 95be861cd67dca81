import type { Redis } from 'ioredis';
import { redisFailure } from './errors.js';

export interface ScanOptions {
  /** A glob as SCAN MATCH understands it (default every key). */
  pattern?: string;
  /** SCAN's COUNT hint (default 1000). */
  count?: number;
  /** For messages: the server's masked label. */
  label: string;
}

/**
 * SCANs a node's selected database, one reply's keys at a time. The next SCAN is sent only when
 * the consumer asks for more, so a slow consumer slows the scan instead of filling memory.
 * SCAN may return a key twice if the server resizes its table meanwhile; callers tolerate that.
 */
export async function* scanKeys(node: Redis, options: ScanOptions): AsyncGenerator<Buffer[]> {
  let cursor = '0';
  do {
    let reply: [Buffer, Buffer[]];
    try {
      reply = (await node.scanBuffer(cursor, 'MATCH', options.pattern ?? '*', 'COUNT', options.count ?? 1000)) as [
        Buffer,
        Buffer[],
      ];
    } catch (cause) {
      throw redisFailure(cause, options.label, `SCAN database ${node.options.db ?? 0}`);
    }
    cursor = reply[0].toString();
    if (reply[1].length > 0) yield reply[1];
  } while (cursor !== '0');
}
