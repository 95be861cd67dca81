import { ByteReader } from '@drkit/tar';
import type { Compression } from './codec.js';
import { isRedisDb, LIMITS } from './validate.js';

/** The first line of every Redis archive (after decompression). */
export const REDIS_MAGIC = 'DRKIT-REDIS 1\n';
const MAGIC = Buffer.from(REDIS_MAGIC, 'latin1');
const TAG_RECORD = 0x52; // 'R'
const TAG_END = 0x45; // 'E'

export const REDIS_EXTENSIONS: Record<Compression, string> = { zstd: '.redis.zst', gzip: '.redis.gz' };

/** One key as DUMPed: `payload` is exactly what `DUMP` returned and `RESTORE` accepts. */
export interface RedisRecord {
  db: number;
  key: Buffer;
  /** Informative (derived from the payload's RDB type byte); restore does not need it. */
  type: string;
  /** Absolute expiry in ms since the epoch, or -1 for none. */
  expireAt: number;
  payload: Buffer;
}

// ---------------------------------------------------------------------------------------------
// CRC-64/Jones as Redis computes it (reflected, poly 0xad93d23594c935a9, init 0, xorout 0), on
// two 32-bit halves: BigInt per byte would be ~50× slower.

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
{
  // The reflected form of 0xad93d23594c935a9.
  const P_HI = 0x95ac9329;
  const P_LO = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let hi = 0;
    let lo = i;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi >>>= 1;
      if (bit) {
        hi = (hi ^ P_HI) >>> 0;
        lo = (lo ^ P_LO) >>> 0;
      }
    }
    TABLE_HI[i] = hi;
    TABLE_LO[i] = lo;
  }
}

/** Incremental CRC-64/Jones, as in Redis's DUMP payload footer and RDB files. */
export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(data: Uint8Array): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  digest(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}

export interface DumpFooter {
  /** The RDB version the payload was serialised with (2 bytes little-endian before the CRC). */
  rdbVersion: number;
  storedCrc: bigint;
  computedCrc: bigint;
  ok: boolean;
}

/** A DUMP payload ends with its RDB version (uint16 LE) and a CRC-64 (uint64 LE) of all bytes before the CRC. */
export function checkDumpPayload(payload: Uint8Array): DumpFooter | undefined {
  if (payload.length < 11) return undefined;
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const storedCrc = buf.readBigUInt64LE(buf.length - 8);
  const computedCrc = crc64(buf.subarray(0, buf.length - 8));
  return { rdbVersion: buf.readUInt16LE(buf.length - 10), storedCrc, computedCrc, ok: storedCrc === computedCrc };
}

/** The RDB version of a DUMP payload, without checking its CRC. */
export function dumpRdbVersion(payload: Uint8Array): number | undefined {
  if (payload.length < 11) return undefined;
  return payload[payload.length - 10]! | (payload[payload.length - 9]! << 8);
}

// RDB object type byte (first byte of a DUMP payload) → the name TYPE reports.
const RDB_TYPES: Record<number, string> = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset',
  6: 'module',
  7: 'module',
  9: 'hash',
  10: 'list',
  11: 'set',
  12: 'zset',
  13: 'hash',
  14: 'list',
  15: 'stream',
  16: 'hash',
  17: 'zset',
  18: 'list',
  19: 'stream',
  20: 'set',
  21: 'stream',
  22: 'hash',
  23: 'hash',
  24: 'hash',
  25: 'hash',
};

export function rdbTypeName(payload: Uint8Array): string {
  const t = payload[0];
  return t === undefined ? 'unknown' : (RDB_TYPES[t] ?? `rdb-type-${t}`);
}

/** A key as people can read it: a JSON string when it is printable UTF-8, else `0x` + hex. */
export function displayKey(key: Uint8Array): string {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const text = buf.toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  if (Buffer.from(text, 'utf8').equals(buf) && !/[\u0000-\u001f\u007f\ufffd]/.test(text)) return JSON.stringify(text);
  return `0x${buf.toString('hex')}`;
}

/** Bytes of a key a message shows: a damaged archive's "key" can be kilobytes of garbage. */
const MESSAGE_KEY_BYTES = 64;

/** A key for a message: displayKey of its first 64 bytes (whole characters), then `… (N bytes)` when it is longer. */
export function messageKey(key: Uint8Array): string {
  if (key.byteLength <= MESSAGE_KEY_BYTES) return displayKey(key);
  // Not inside a UTF-8 character (back to its lead byte), so a printable key stays a JSON string.
  let lead = MESSAGE_KEY_BYTES;
  while (lead > MESSAGE_KEY_BYTES - 3 && (key[lead]! & 0xc0) === 0x80) lead--;
  const cut = key[lead]! >= 0xc0 ? lead : MESSAGE_KEY_BYTES;
  return `${displayKey(key.subarray(0, cut))}… (${key.byteLength} bytes)`;
}

// ---------------------------------------------------------------------------------------------
// encoding

export function encodeMagic(): Buffer {
  return Buffer.from(MAGIC);
}

/** Everything of a record before its payload; the payload is written as it is, never copied. */
export function encodeRecordHead(r: Omit<RedisRecord, 'payload'> & { payloadLength: number }): Buffer {
  const type = Buffer.from(r.type, 'latin1');
  if (type.length > 255) throw new Error(`internal: type name too long: ${r.type}`);
  const head = Buffer.allocUnsafe(1 + 4 + 4 + r.key.length + 1 + type.length + 8 + 8);
  let o = head.writeUInt8(TAG_RECORD, 0);
  o = head.writeUInt32BE(r.db, o);
  o = head.writeUInt32BE(r.key.length, o);
  o += r.key.copy(head, o);
  o = head.writeUInt8(type.length, o);
  o += type.copy(head, o);
  o = head.writeBigInt64BE(BigInt(r.expireAt), o);
  head.writeBigUInt64BE(BigInt(r.payloadLength), o);
  return head;
}

export function encodeEnd(count: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt8(TAG_END, 0);
  b.writeBigUInt64BE(BigInt(count), 1);
  return b;
}

// ---------------------------------------------------------------------------------------------
// decoding

/** Where a framing error was found, for messages. */
export interface RecordPosition {
  /** 1-based number of the record being read. */
  record: number;
  /** The key of that record, when its key had been read. */
  key?: string;
}

/** A ByteReader that can also take a whole record out of the current chunk without awaiting. */
class RecordReader extends ByteReader {
  /**
   * A whole record parsed from the current chunk without awaiting, or undefined when the chunk
   * does not hold all of it (the caller then reads it piece by piece). Payload is a view.
   */
  tryRecord(): RedisRecord | undefined {
    const c = this.chunk;
    let p = this.pos;
    if (c.length - p < 9 || c[p] !== TAG_RECORD) return undefined;
    const db = c.readUInt32BE(p + 1);
    const keyLen = c.readUInt32BE(p + 5);
    if (!isRedisDb(db)) return undefined; // the slow path names the damage
    p += 9;
    if (c.length - p < keyLen + 1) return undefined;
    const keyAt = p;
    p += keyLen;
    const typeLen = c[p]!;
    p += 1;
    if (c.length - p < typeLen + 16) return undefined;
    const type = c.toString('latin1', p, p + typeLen);
    p += typeLen;
    const expireAt = Number(c.readBigInt64BE(p));
    const payloadLen = c.readBigUInt64BE(p + 8);
    p += 16;
    if (payloadLen > BigInt(c.length - p) || (expireAt < 0 && expireAt !== -1)) return undefined;
    const len = Number(payloadLen);
    const record = {
      db,
      key: Buffer.from(c.subarray(keyAt, keyAt + keyLen)),
      type,
      expireAt,
      payload: c.subarray(p, p + len),
    };
    this.pos = p + len;
    return record;
  }
}

export class RedisFramingError extends Error {
  constructor(
    message: string,
    readonly position: RecordPosition,
  ) {
    super(message);
  }
}

/**
 * Parses a decompressed Redis archive into records; damage throws RedisFramingError naming the
 * record number and, when known, its key; the end marker must count every record.
 */
export async function* decodeRedisRecords(source: AsyncIterable<Buffer>): AsyncGenerator<RedisRecord> {
  const r = new RecordReader(source);
  let n = 0;
  const fail = (why: string, key?: Buffer): never => {
    throw new RedisFramingError(why, { record: n, ...(key ? { key: messageKey(key) } : {}) });
  };
  try {
    const magic = await r.read(MAGIC.length);
    if (!magic.equals(MAGIC)) fail(`it does not start with ${JSON.stringify(REDIS_MAGIC.trim())}`);
    for (;;) {
      const fast = r.tryRecord();
      if (fast) {
        n++;
        yield fast;
        continue;
      }
      const tag = await r.read(1);
      n++;
      if (tag.length === 0) fail('it ends without its end marker (truncated)');
      if (tag[0] === TAG_END) {
        const count = await r.read(8);
        if (count.length < 8) fail('its end marker is truncated');
        const expected = Number(count.readBigUInt64BE(0));
        if (expected !== n - 1) fail(`its end marker counts ${expected} records but ${n - 1} were read`);
        if (!(await r.atEnd())) fail('there are bytes after its end marker');
        return;
      }
      if (tag[0] !== TAG_RECORD) fail(`record ${n} starts with byte 0x${tag[0]!.toString(16)} instead of "R"`);
      const fixed = await r.read(8);
      if (fixed.length < 8) fail('it is truncated in a record header');
      const db = fixed.readUInt32BE(0);
      const keyLen = fixed.readUInt32BE(4);
      if (!isRedisDb(db)) fail(`record ${n} names database ${db} (at most ${LIMITS.redisDbMax})`);
      if (keyLen > LIMITS.redisKeyBytes)
        fail(`record ${n} has a key of ${keyLen} bytes (a server takes at most ${LIMITS.redisKeyBytes})`);
      const key = Buffer.from(await r.read(keyLen));
      if (key.length < keyLen) fail('it is truncated in a key');
      const typeLen = (await r.read(1))[0];
      if (typeLen === undefined) fail('it is truncated after a key', key);
      const type = await r.read(typeLen!);
      const tail = await r.read(16);
      if (type.length < typeLen! || tail.length < 16) fail('it is truncated in a record header', key);
      const expireAt = Number(tail.readBigInt64BE(0));
      const payloadLen = tail.readBigUInt64BE(8);
      if (payloadLen > BigInt(Number.MAX_SAFE_INTEGER) || (expireAt < 0 && expireAt !== -1))
        fail('its record header is damaged', key);
      const len = Number(payloadLen);
      const payload = len === 0 ? Buffer.alloc(0) : await r.read(len);
      if (payload.length < len) fail('it is truncated in a payload', key);
      yield { db, key, type: type.toString('latin1'), expireAt, payload };
    }
  } finally {
    await r.close();
  }
}
