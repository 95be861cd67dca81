// A second process for the state store contract (contract.ts): `increment LOCATION KEY N` adds N
// to a counter with conditional writes; `churn LOCATION KEY` rewrites a large document forever,
// printing each revision it completed, until it is killed.
import { createHash } from 'node:crypto';
import { openStateStore } from './open.js';
import { updateEntry } from './store.js';

interface Counter {
  n: number;
  by: string[];
}

const [mode, location, key, count] = process.argv.slice(2);
const store = await openStateStore(location!);
if (mode === 'increment') {
  for (let i = 0; i < Number(count); i++)
    await updateEntry<Counter>(
      store,
      key!,
      (c) => ({ n: (c?.n ?? 0) + 1, by: [...(c?.by ?? []), `${process.pid}:${i}`] }),
      1000,
    );
  await store.close();
  process.stdout.write('done\n');
} else if (mode === 'churn') {
  for (let seq = 1; ; seq++) {
    const payload = `${seq}:`.padEnd(1 << 20, String.fromCharCode(97 + (seq % 26)));
    await store.put(key!, { seq, payload, sha256: createHash('sha256').update(payload).digest('hex') });
    process.stdout.write(`wrote ${seq}\n`);
  }
}
