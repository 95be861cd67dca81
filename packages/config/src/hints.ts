import * as z from 'zod';

/** How errors describe a field: what it must be, what to write instead, and an example value in YAML. */
export interface FieldHint {
  expected: string;
  write: string;
  example: string;
}
export const fieldHints = z.registry<FieldHint>();

export function hinted<T extends z.ZodType>(schema: T, hint: FieldHint): T {
  fieldHints.add(schema, hint);
  return schema;
}
