// The writer thread of a restore: makes the folders and small files the main thread sends.
import { parentPort } from 'node:worker_threads';
import { applyBatch, type WriteAnswer, type WriteBatch } from './write-thread.js';

let failed = false;

parentPort!.on('message', (batch: WriteBatch) => {
  // After a failure nothing more is written: the restore stops at the first.
  const error = failed ? undefined : applyBatch(batch);
  if (error) failed = true;
  const answer: WriteAnswer = { bytes: batch.bytes, ...(error ? { error } : {}) };
  parentPort!.postMessage(answer, [batch.bytes]);
});
