import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { drkit, useSampleWorkspace } from './cli.js';

const LOGGER = fileURLToPath(new URL('./fixtures/log-modules.mjs', import.meta.url));

/** Runs drkit and returns its result and what the modules it loaded hold. */
async function whatLoads(dir: string, args: string[], cwd = dir) {
  const log = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  await writeFile(log, '');
  const r = await drkit(args, { cwd, env: { NODE_OPTIONS: `--import=${LOGGER}`, DRKIT_TEST_MODULE_LOG: log } });
  const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  const sources = await Promise.all(urls.map((u) => readFile(fileURLToPath(u), 'utf8')));
  return {
    r,
    loaded: urls.length,
    yaml: sources.some((s) => s.includes('YAMLParseError')),
    // zod's translations (Dutch here) come with `import { z }`, not with `import * as z`: ~7 MiB of RSS.
    zodLocales: sources.some((s) => s.includes('Ongeldige invoer')),
  };
}

describe('drkit startup', () => {
  let w: { dir: string; repo: string; tree: string };
  useSampleWorkspace((ws) => (w = ws));

  // The YAML parser and the config schema cost ~4 MiB of a backup's peak RSS; they load only for a config file.
  it(
    "backup and forget without a config file do not load the YAML parser, with one they do, and never zod's " +
      'translations',
    async () => {
      expect((await drkit(['init', '--repo', w.repo])).code).toBe(0);
      const backup = await whatLoads(w.dir, ['backup', w.tree, '--repo', w.repo]);
      expect(backup.r.code, backup.r.stderr).toBe(0);
      expect(backup.loaded).toBeGreaterThan(3);
      expect(backup.yaml).toBe(false);
      const forget = await whatLoads(w.dir, ['forget', '--keep-last', '1', '--repo', w.repo]);
      expect(forget.r.code, forget.r.stderr).toBe(0);
      expect(forget.yaml).toBe(false);

      await writeFile(
        path.join(w.dir, 'drkit.config.yaml'),
        `repository: ${w.repo}\nsources:\n  - { name: data, type: files, path: ${w.tree} }\n`,
      );
      const withConfig = await whatLoads(w.dir, ['backup', w.tree]);
      expect(withConfig.r.code, withConfig.r.stderr).toBe(0);
      expect(withConfig.yaml).toBe(true);
      expect([backup, forget, withConfig].map((x) => x.zodLocales)).toEqual([false, false, false]);
    },
  );
});
