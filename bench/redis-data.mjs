#!/usr/bin/env node
// Redis data for the benchmark, as RESP on stdout for `redis-cli --pipe`:
//   node bench/redis-data.mjs KEYS | redis-cli -p PORT --pipe
// KEYS small string keys (`bench:<i>`, 16-40 byte values, every 10th with a one-day TTL) plus
// LARGE_HASHES hashes of HASH_FIELDS fields each (`bench:hash:<n>`, ~5 MB DUMP each).
// Deterministic, node built-ins only.

export const LARGE_HASHES = 3;
export const HASH_FIELDS = 100_000;

/** Keys the data set holds for a given number of small keys. */
export const expectedKeys = (keys) => keys + LARGE_HASHES;

function resp(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

export function* commands(keys) {
  let x = 2463534242;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < keys; i++) {
    const value = `v${next().toString(36)}${'x'.repeat(next() % 24)}`;
    yield i % 10 === 0 ? resp(['SET', `bench:${i}`, value, 'EX', '86400']) : resp(['SET', `bench:${i}`, value]);
  }
  for (let h = 0; h < LARGE_HASHES; h++)
    for (let f = 0; f < HASH_FIELDS; f += 1000) {
      const args = ['HSET', `bench:hash:${h}`];
      for (let j = f; j < f + 1000; j++) args.push(`field-${j}`, `value-${j}-${next().toString(36)}`);
      yield resp(args);
    }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = Number(process.argv[2] ?? 1_000_000);
  let buf = '';
  for (const c of commands(keys)) {
    buf += c;
    if (buf.length > 1 << 20) {
      if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
      buf = '';
    }
  }
  process.stdout.write(buf);
}
