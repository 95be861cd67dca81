/** What the chain rule needs to know about a snapshot. */
export interface ChainLink {
  id: string;
  kind: 'full' | 'incremental';
  parent?: string;
  base?: string;
}

/**
 * Keeps every snapshot that a kept one depends on (parent, transitively, and base), so removal
 * never leaves a kept snapshot unrestorable. `links` are newest first; `reasons[i]` non-empty
 * means kept. Each dependency gets one reason naming its newest kept dependent. A parent or
 * base that is not in the list (already gone) is ignored: the snapshot is planned as usual.
 */
export function keepDependencies(links: readonly ChainLink[], reasons: string[][]): void {
  const position = new Map(links.map((link, i) => [link.id, i]));
  const dependencies = (i: number): number[] => {
    const link = links[i]!;
    const found: number[] = [];
    for (const id of [link.parent, link.base]) {
      const j = id === undefined ? undefined : position.get(id);
      if (j !== undefined && j !== i && !found.includes(j)) found.push(j);
    }
    return found;
  };

  const kept = reasons.map((r) => r.length > 0);
  // A worklist, not one pass by time: a skewed clock can make a parent look newer than its child.
  const pending = kept.flatMap((isKept, i) => (isKept ? [i] : []));
  for (let i = pending.pop(); i !== undefined; i = pending.pop()) {
    for (const j of dependencies(i)) {
      if (!kept[j]) {
        kept[j] = true;
        pending.push(j);
      }
    }
  }

  const neededBy = new Map<number, number>();
  links.forEach((_, i) => {
    if (!kept[i]) return;
    for (const j of dependencies(i)) if (!neededBy.has(j)) neededBy.set(j, i);
  });
  for (const [j, i] of neededBy) reasons[j]!.push(`needed by kept ${links[i]!.kind} ${links[i]!.id}`);
}
