import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The restore's writer thread is its own file, loaded by URL next to index.js.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/write-worker.ts'] });
