// The commands the workspace's apps install: every `bin` of apps/*/package.json, by name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** @returns {Map<string, string>} command name → absolute path of its built entry */
export function appBins() {
  const bins = new Map();
  const apps = path.join(ROOT, 'apps');
  for (const app of readdirSync(apps)) {
    const manifest = path.join(apps, app, 'package.json');
    if (!existsSync(manifest)) continue;
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
    for (const [name, file] of Object.entries(typeof bin === 'string' ? {} : (bin ?? {}))) {
      bins.set(name, path.join(apps, app, file));
    }
  }
  return bins;
}
