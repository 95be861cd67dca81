import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// `@drkit/config/duration` is the duration grammar alone,
// without zod and yaml: the CLI parses flags with it at startup.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/duration.ts'] });
