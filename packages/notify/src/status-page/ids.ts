/** `Storage (EU)` → `storage-eu`: ids and anchors made from names and titles. */
export const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** `2026-03-10T11:13:00.000Z` → `20260310T111300Z`: a time inside an id or key. */
export const compactTime = (isoTime: string) => new Date(Date.parse(isoTime)).toISOString().replace(/[-:]|\.\d+/g, '');
