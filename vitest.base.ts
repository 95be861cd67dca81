import { defineConfig } from 'vitest/config';

// Real files, real servers: generous timeouts, one file at a time per package on 2 cores.
// The JSON report lets .ci/run print one "N passed, N failed" line for the whole workspace.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
