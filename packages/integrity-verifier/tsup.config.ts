import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The content-check worker is its own file, loaded by URL next to index.js.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/content-worker.ts'] });
