import type { SourceOrigin } from '@drkit/restore-core';

/** Where each restored source came from: nothing is restored without saying whose data it is. */
export function originLines(from: SourceOrigin[]): string[] {
  return from.map(
    (o) =>
      `  ${o.source}: snapshot ${o.snapshot} of ${o.time} from host ${o.host}, ${o.origin ?? '(origin not recorded)'}`,
  );
}
