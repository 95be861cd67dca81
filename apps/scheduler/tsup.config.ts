import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// The daemon is one bundle of drkit's packages and their dependencies, as the CLI is: loaded
// module by module from node_modules it kept ~10 MiB more resident (338 modules, all of zod,
// CommonJS packages lexed for their exports). Left out, and so runtime dependencies: ioredis
// and etcd3, loaded only when a state store or lease backend names them. Jobs still run the
// drkit CLI of the workspace as child processes.
const LAZY = ['ioredis', 'etcd3'];
export default defineConfig({
  ...base,
  entry: { main: 'src/main.ts' },
  dts: false,
  noExternal: [new RegExp(`^(?!(${LAZY.join('|')})$)`)],
  external: LAZY,
  // Bundled CommonJS modules (pino, prom-client, nodemailer) call require() for Node's builtins.
  banner: {
    js:
      "import { createRequire as __drkitRequire } from 'node:module';\n" +
      'const require = __drkitRequire(import.meta.url);',
  },
});
