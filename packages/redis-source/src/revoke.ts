import type { Redis } from 'ioredis';
import type { RedisConnection } from './connection.js';
import { redisFailure } from './errors.js';
import { scanKeys } from './scan.js';

export interface KeySelection {
  /** SCAN MATCH glob, e.g. `token:*`; every key when absent. */
  pattern?: string;
  /** Databases to look in; all databases that hold keys when absent. */
  dbs?: number[];
}

export interface DbCount {
  db: number;
  keys: number;
}

async function dbsOf(conn: RedisConnection, dbs: number[] | undefined): Promise<number[]> {
  if (conn.mode === 'cluster') return [0];
  if (dbs) return [...dbs].sort((a, b) => a - b);
  return [...(await conn.keyspace(conn.nodes()[0]!)).keys()].sort((a, b) => a - b);
}

async function eachNode(conn: RedisConnection, db: number): Promise<Redis[]> {
  return conn.mode === 'cluster' ? conn.nodes() : [await conn.forDb(db)];
}

/** How many keys match, per database, without changing anything. */
export async function countKeys(conn: RedisConnection, selection: KeySelection): Promise<DbCount[]> {
  const out: DbCount[] = [];
  for (const db of await dbsOf(conn, selection.dbs)) {
    let keys = 0;
    for (const node of await eachNode(conn, db)) {
      if (!selection.pattern || selection.pattern === '*') {
        keys += await node.dbsize().catch((e) => {
          throw redisFailure(e, conn.label, `count the keys of database ${db}`);
        });
        continue;
      }
      for await (const batch of scanKeys(node, { pattern: selection.pattern, label: conn.label })) keys += batch.length;
    }
    out.push({ db, keys });
  }
  return out;
}

/**
 * Deletes the matching keys with UNLINK (the server frees memory in the background), one SCAN
 * reply per round trip, and returns how many the server actually removed per database.
 */
export async function unlinkKeys(
  conn: RedisConnection,
  selection: KeySelection,
  onProgress?: (p: DbCount) => void,
): Promise<DbCount[]> {
  const out: DbCount[] = [];
  for (const db of await dbsOf(conn, selection.dbs)) {
    let removed = 0;
    for (const node of await eachNode(conn, db)) {
      for await (const batch of scanKeys(node, { pattern: selection.pattern, label: conn.label })) {
        try {
          if (conn.mode === 'cluster') {
            // Multi-key commands must stay in one hash slot on a cluster: one UNLINK per key, pipelined.
            const p = node.pipeline();
            for (const k of batch) p.unlink(k);
            for (const [err, n] of (await p.exec()) ?? []) {
              if (err) throw err;
              removed += Number(n);
            }
          } else removed += await node.unlink(...batch);
        } catch (cause) {
          throw redisFailure(cause, conn.label, `UNLINK keys in database ${db} (${removed} removed so far)`);
        }
        onProgress?.({ db, keys: removed });
      }
    }
    out.push({ db, keys: removed });
  }
  return out;
}
