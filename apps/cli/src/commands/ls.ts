import { displayKey, globMatcher } from '@drkit/repository';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, outputClosed, printJson, say, shownName } from '../output.js';
import { type FilterFlags, resolveRef } from '../selection.js';

export async function run(
  [ref, globs]: unknown[],
  opts: GlobalOptions & FilterFlags & { source?: string },
): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const snap = await resolveRef(repo, ref as string, opts, config);
  const patterns = globs as string[];
  const match = patterns.length ? globMatcher(patterns) : () => true;
  const sources = opts.source ? [repo.source(snap, opts.source)] : snap.sources;
  const out: unknown[] = [];
  for (const source of sources) {
    if (source.redis) {
      // A Redis source lists its keys: database, type, expiry, payload size, key.
      for await (const r of repo.readRedisRecords(source)) {
        if (outputClosed()) return ExitCode.OK;
        const key = displayKey(r.key);
        if (!match(key.replace(/^"|"$/g, ''))) continue;
        const expires = r.expireAt === -1 ? null : new Date(r.expireAt).toISOString();
        if (opts.json)
          out.push({ source: source.name, db: r.db, key, type: r.type, expireAt: expires, size: r.payload.length });
        else
          say(
            `db${String(r.db).padEnd(3)} ${r.type.padEnd(7)} ${String(r.payload.length).padStart(12)} ` +
              `${(expires ?? 'no expiry').replace('T', ' ').slice(0, 19).padEnd(19)} ${source.name}/${key}`,
          );
      }
      continue;
    }
    for await (const e of repo.readIndex(source)) {
      if (outputClosed()) return ExitCode.OK;
      if (!match(e.path)) continue;
      if (opts.json) out.push({ source: source.name, ...e });
      else
        say(
          `${typeChar(e.type)}${perms(e.mode)} ${String(e.size ?? 0).padStart(12)} ` +
            `${new Date(e.mtime).toISOString().replace('T', ' ').slice(0, 19)} ${source.name}/` +
            `${shownName(e.path)}${e.linkTarget !== undefined ? ` -> ${shownName(e.linkTarget)}` : ''}`,
        );
    }
  }
  if (opts.json) printJson(out);
  return ExitCode.OK;
}

const typeChar = (t: string) => (t === 'dir' ? 'd' : t === 'symlink' ? 'l' : '-');

function perms(mode: number): string {
  return [6, 3, 0]
    .map((s) => ((mode >> s) & 4 ? 'r' : '-') + ((mode >> s) & 2 ? 'w' : '-') + ((mode >> s) & 1 ? 'x' : '-'))
    .join('');
}
