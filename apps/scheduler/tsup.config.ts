import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// A thin daemon over @drkit/scheduler: its packages load from node_modules (no bundle), and
// jobs run the drkit CLI of the workspace as child processes.
export default defineConfig({ ...base, entry: { main: 'src/main.ts' }, dts: false });
