// The worker side of ContentChecker: hashes and validates the file contents the main thread sends.
import { parentPort } from 'node:worker_threads';
import { type Answer, BEGIN, type Batch, END, type FileResult } from './content-check.js';
import { FileCheck } from './file-check.js';

let current: FileCheck | undefined;

parentPort!.on('message', ({ bytes, ops, paths }: Batch) => {
  const data = Buffer.from(bytes);
  const results: FileResult[] = [];
  let path = 0;
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    if (op === BEGIN) {
      current = new FileCheck(paths[path++]!, ops[i + 1] === 1);
      i += 2;
    } else if (op === END) {
      results.push(current!.result());
      current = undefined;
      i += 1;
    } else {
      current!.push(data.subarray(op, op + ops[i + 1]!));
      i += 2;
    }
  }
  // A line that runs on into the next batch must not point into memory that goes back for reuse.
  current?.jsonl?.keepTail();
  const answer: Answer = { results, bytes };
  parentPort!.postMessage(answer, [bytes]);
});
