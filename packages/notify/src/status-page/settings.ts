import type { StatusPageConfig } from '@drkit/config';
import { parseDuration } from '@drkit/config/duration';
import type { StatusPageInput } from './page.js';
import { compactTime, slug } from './ids.js';

/**
 * The page's settings from `status_page:` (all defaults when the
 * section is absent); incidents and the time come from the caller.
 */
export function statusPageSettings(config: StatusPageConfig | undefined): Omit<StatusPageInput, 'incidents' | 'now'> {
  return {
    title: config?.title ?? 'Service',
    ...(config?.url ? { url: config.url } : {}),
    components: config?.components ?? [],
    maintenance: (config?.maintenance ?? []).map((m) => ({
      // Stable while the entry is unchanged: the title and the start.
      id: `${slug(m.title) || 'maintenance'}-${compactTime(m.starts)}`,
      title: m.title,
      components: m.components,
      startsAt: m.starts,
      endsAt: m.ends,
      ...(m.message ? { message: m.message } : {}),
    })),
    staleAfterMs: parseDuration(config?.stale_after ?? '30m'),
  };
}
