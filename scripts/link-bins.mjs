#!/usr/bin/env node
// Puts the apps' commands (drkit, drkit-scheduler, …) on PATH: one small shell script per command
// in a bin folder, running the checkout's build. Shims, not symlinks: a rebuild replaces dist/
// (and its file modes), and a shim keeps working across it.
// Usage: node scripts/link-bins.mjs [--bin-dir DIR]   (default: $DRKIT_BIN_DIR, else /usr/local/bin
// as root, else ~/.local/bin)
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { appBins } from './apps.mjs';

const { values } = parseArgs({ options: { 'bin-dir': { type: 'string' } } });
const { DRKIT_BIN_DIR } = process.env;
const binDir = path.resolve(
  values['bin-dir'] ??
    DRKIT_BIN_DIR ??
    (process.getuid?.() === 0 ? '/usr/local/bin' : path.join(os.homedir(), '.local/bin')),
);
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
mkdirSync(binDir, { recursive: true });
for (const [name, entry] of appBins()) {
  const shim = path.join(binDir, name);
  writeFileSync(
    shim,
    `#!/bin/sh\n# made by drkit's scripts/link-bins.mjs: runs ${name} from ${path.dirname(entry)}\n` +
      `exec node ${quote(entry)} "$@"\n`,
    { mode: 0o755 },
  );
  console.log(`${shim} → ${entry}`);
}
const onPath = (process.env.PATH ?? '').split(path.delimiter).some((p) => path.resolve(p) === binDir);
if (!onPath) console.error(`link-bins: ${binDir} is not on PATH; add it: export PATH="${binDir}:$PATH"`);
