import { DrkitError } from '@drkit/errors';

export const StateErrorCode = {
  /** A key outside the grammar (see keys.ts). */
  BAD_KEY: 'STATE_BAD_KEY',
  /** A conditional write lost: another writer changed the key first. */
  CONFLICT: 'STATE_CONFLICT',
  /** The store cannot be reached or written (disk, permissions, Redis down). */
  UNAVAILABLE: 'STATE_UNAVAILABLE',
  /** A value that is not a JSON document (undefined, a function): a bug in the caller. */
  BAD_VALUE: 'STATE_BAD_VALUE',
  /** A stored document that cannot be read back (not JSON, wrong shape). */
  DAMAGED: 'STATE_DAMAGED',
  /** `state:` names a location drkit does not know how to open. */
  BAD_LOCATION: 'STATE_BAD_LOCATION',
  /** A lease renewed or used after it lapsed or passed to another holder: stop acting. */
  LEASE_LOST: 'STATE_LEASE_LOST',
  /**
   * A lease asked for with a TTL that is not a whole number of milliseconds from 1 ms to a day: a bug in the caller.
   */
  BAD_LEASE: 'STATE_BAD_LEASE',
} as const;
export type StateErrorCode = (typeof StateErrorCode)[keyof typeof StateErrorCode];

export class StateError extends DrkitError<StateErrorCode> {}
