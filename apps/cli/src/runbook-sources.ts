import type { DrkitConfig } from '@drkit/config';
import type { SourceRef } from '@drkit/runbooks';

/** The config's sources as runbook steps address them. */
export function sourcesOf(config: DrkitConfig | undefined): SourceRef[] {
  return (config?.sources ?? []).map((s) =>
    s.type === 'files' ? { name: s.name, type: 'files', path: s.path } : { name: s.name, type: 'redis' },
  );
}
