import type { BlobStore } from '@drkit/storage';
import { renderStatusPage } from './html.js';
import type { StatusPage } from './page.js';
import { toSummary } from './summary.js';

export interface StatusPageFile {
  key: 'index.html' | 'summary.json';
  body: string;
  contentType: string;
}

/** A browser or CDN may keep the page this long: short, since it reports on an outage as it happens. */
export const STATUS_PAGE_CACHE_CONTROL = 'public, max-age=60';

/** The page's two views: index.html for people, summary.json for programs. */
export function statusPageFiles(page: StatusPage): StatusPageFile[] {
  return [
    {
      key: 'summary.json',
      body: `${JSON.stringify(toSummary(page), null, 2)}\n`,
      contentType: 'application/json; charset=utf-8',
    },
    { key: 'index.html', body: renderStatusPage(page), contentType: 'text/html; charset=utf-8' },
  ];
}

/**
 * Writes the files to a folder or bucket (each put is atomic: a reader sees the old file or the
 * new one), with the content type and caching a bucket served as a website needs.
 */
export async function writeStatusPage(store: BlobStore, page: StatusPage): Promise<StatusPageFile[]> {
  const files = statusPageFiles(page);
  for (const file of files)
    await store.put(file.key, Buffer.from(file.body), {
      contentType: file.contentType,
      cacheControl: STATUS_PAGE_CACHE_CONTROL,
    });
  return files;
}
