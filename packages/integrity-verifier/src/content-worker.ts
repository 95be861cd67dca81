// The worker side of ContentChecker: hashes and validates the file contents the main thread sends.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type Answer, BEGIN, type Batch, END, type FileResult } from './content-check.js';
import { JsonlChecker } from './jsonl.js';

let current: { hash: Hash; size: number; jsonl?: JsonlChecker } | undefined;

parentPort!.on('message', ({ bytes, ops, paths }: Batch) => {
  const data = Buffer.from(bytes);
  const results: FileResult[] = [];
  let path = 0;
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    if (op === BEGIN) {
      const p = paths[path++]!;
      current = { hash: createHash('sha256'), size: 0, jsonl: ops[i + 1] ? new JsonlChecker(p) : undefined };
      i += 2;
    } else if (op === END) {
      const c = current!;
      const findings = c.jsonl?.end() ?? [];
      results.push({ sha256: c.hash.digest('hex'), size: c.size, findings, findingsTotal: c.jsonl?.total ?? 0 });
      current = undefined;
      i += 1;
    } else {
      const chunk = data.subarray(op, op + ops[i + 1]!);
      current!.hash.update(chunk);
      current!.jsonl?.push(chunk);
      current!.size += chunk.length;
      i += 2;
    }
  }
  // A line that runs on into the next batch must not point into memory that goes back for reuse.
  current?.jsonl?.keepTail();
  const answer: Answer = { results, bytes };
  parentPort!.postMessage(answer, [bytes]);
});
