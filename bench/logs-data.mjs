#!/usr/bin/env node
// Log lines for the log-scan benchmark: node bench/logs-data.mjs BYTES > app.log
// Access-log-like lines with time stamps, IPs and users; about 1 in 50 matches a default pattern.
// Deterministic, node built-ins only.
const total = Number(process.argv[2] ?? 1 << 30);
let x = 88172645463325252n;
const next = () => {
  x ^= x << 13n;
  x ^= x >> 7n;
  x ^= x << 17n;
  x &= 0xffffffffffffffffn;
  return Number(x % 1000000n);
};
const words = [
  'GET /api/items 200',
  'POST /api/login 200',
  'GET /health 200',
  'PUT /api/items/7 204',
  'ERROR db timeout',
  'unauthorized token',
  'suspicious path /etc/passwd',
];
let written = 0;
let t = Date.parse('2026-11-01T00:00:00Z');
const chunks = [];
let size = 0;
while (written < total) {
  const r = next();
  t += r % 1000;
  const kind = r % 50 === 0 ? words[4 + (r % 3)] : words[r % 4];
  let line =
    `${new Date(t).toISOString()} 10.${r % 256}.${(r >> 8) % 256}.${r % 7} ` +
    `user=u${r % 997} ${kind} ${'x'.repeat(r % 80)}\n`;
  if (written + line.length > total) line = `${'x'.repeat(total - written - 1)}\n`;
  chunks.push(line);
  size += line.length;
  written += line.length;
  if (size >= 1 << 20) {
    if (!process.stdout.write(chunks.join(''))) await new Promise((r) => process.stdout.once('drain', r));
    chunks.length = 0;
    size = 0;
  }
}
process.stdout.write(chunks.join(''));
