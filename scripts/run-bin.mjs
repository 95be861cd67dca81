// `pnpm drkit …` (and every other app's command): pnpm runs scripts in the checkout, but the
// user's relative paths and drkit.config.yaml are where they typed the command (INIT_CWD).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { appBins } from './apps.mjs';

const [name, ...args] = process.argv.slice(2);
const entry = appBins().get(name);
if (!entry || !existsSync(entry)) {
  console.error(
    `${name}: ${entry ? `${entry} is not built; run pnpm build` : 'no app of this checkout installs this command'}`,
  );
  process.exit(2);
}
const { INIT_CWD } = process.env;
if (INIT_CWD) process.chdir(INIT_CWD);
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(entry).href);
