// The worker side of ContentChecker: hashes and validates the file contents the main thread sends.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { Batch, FileResult } from './content-check.js';
import { JsonlChecker } from './jsonl.js';

let current: { hash: Hash; size: number; jsonl?: JsonlChecker } | undefined;

parentPort!.on('message', ({ bytes, ops }: Batch) => {
  const data = Buffer.from(bytes);
  const results: FileResult[] = [];
  for (const op of ops) {
    if ('begin' in op) current = { hash: createHash('sha256'), size: 0, jsonl: op.jsonl ? new JsonlChecker(op.begin) : undefined };
    else if ('at' in op) {
      const chunk = data.subarray(op.at, op.at + op.length);
      current!.hash.update(chunk);
      current!.jsonl?.push(chunk);
      current!.size += op.length;
    } else {
      const c = current!;
      const findings = c.jsonl?.end() ?? [];
      results.push({ sha256: c.hash.digest('hex'), size: c.size, findings, findingsTotal: c.jsonl?.total ?? 0 });
      current = undefined;
    }
  }
  parentPort!.postMessage(results);
});
