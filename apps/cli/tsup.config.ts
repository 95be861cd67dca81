import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The CLI is an executable, not a library: one bundle of drkit's packages and their
// dependencies (resolving ~150 modules across node_modules cost ~30 ms on every command), split
// into lazily loaded command chunks. Left out, and so runtime dependencies of the CLI: the S3 SDK
// and ioredis, which the packages load with createRequire only when a command needs them, and
// etcd3 (gRPC), which the etcd lease backend imports only when a config names it.
// The worker threads (verify's content checks, restore's writer) are entries of their own: their
// packages load them by URL next to their code.
const LAZY = /^(ioredis|etcd3|@aws-sdk\/.*)$/;
const require = createRequire(import.meta.url);
export default defineConfig({
  ...base,
  entry: {
    main: 'src/main.ts',
    'content-worker': require.resolve('@drkit/integrity-verifier/content-worker'),
    'write-worker': require.resolve('@drkit/restore-core/write-worker'),
  },
  dts: false,
  noExternal: [/^(?!ioredis$|etcd3$|@aws-sdk\/)/],
  external: [LAZY],
  // Bundled CommonJS modules (tar-stream, ...) call require() for Node's builtins.
  banner: {
    js:
      "import { createRequire as __drkitRequire } from 'node:module';\n" +
      'const require = __drkitRequire(import.meta.url);',
  },
});
