import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The CLI is an executable, not a library: no .d.ts, one entry with lazily loaded command chunks.
export default defineConfig({ ...base, entry: ['src/main.ts'], dts: false, banner: { js: '#!/usr/bin/env node' } });
