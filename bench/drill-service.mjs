#!/usr/bin/env node
// The drill benchmark's service: a small HTTP server over the data a drill restored.
//   PORT=N node bench/drill-service.mjs
// Reads DRKIT_DRILL_TREE (the restored tree: every file's size) and DRKIT_DRILL_REDIS_URL
// (DBSIZE over RESP), then answers GET /health with 200 and the counts, GET /file?path=P with a
// restored file. Node built-ins only.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';

const root = process.env.DRKIT_DRILL_TREE;
const redisUrl = new URL(process.env.DRKIT_DRILL_REDIS_URL ?? 'redis://127.0.0.1:6379');

function countFiles(dir) {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = countFiles(p);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

function dbsize() {
  return new Promise((resolve, reject) => {
    const s = connect(Number(redisUrl.port), redisUrl.hostname, () => s.write('*1\r\n$6\r\nDBSIZE\r\n'));
    s.once('data', (d) => {
      s.end();
      const m = /^:(\d+)/.exec(String(d));
      m ? resolve(Number(m[1])) : reject(new Error(String(d)));
    });
    s.once('error', reject);
  });
}

const tree = countFiles(root);
const keys = await dbsize();
createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/health') return res.end(JSON.stringify({ ok: true, ...tree, keys }));
  if (url.pathname === '/file') {
    const p = path.join(root, url.searchParams.get('path') ?? '');
    if (!p.startsWith(root)) return res.writeHead(400).end();
    return createReadStream(p)
      .on('error', () => res.writeHead(404).end())
      .pipe(res);
  }
  res.writeHead(404).end();
}).listen(Number(process.env.PORT), '127.0.0.1');
