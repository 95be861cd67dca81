import { defineConfig } from 'vitest/config';

// Real files, real servers: generous timeouts, one file at a time per package on 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
