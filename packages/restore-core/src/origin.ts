import type { SnapshotMeta } from '@drkit/repository';

/** Where a restored source came from, so a restore never hands over data without saying whose it is. */
export interface SourceOrigin {
  source: string;
  type: string;
  snapshot: string;
  time: string;
  host: string;
  /** The folder (or masked Redis server) the source was read from; absent in snapshots that did not record it. */
  origin?: string;
}

/** The origin of each named source of `snapshot`, in the order given. */
export function originsOf(snapshot: SnapshotMeta, names: readonly string[]): SourceOrigin[] {
  return names.flatMap((name) => {
    const s = snapshot.sources.find((x) => x.name === name);
    return s
      ? [
          {
            source: name,
            type: s.type,
            snapshot: snapshot.id,
            time: snapshot.time,
            host: snapshot.host,
            ...(s.origin ? { origin: s.origin } : {}),
          },
        ]
      : [];
  });
}
