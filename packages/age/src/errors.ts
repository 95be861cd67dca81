import { DrkitError } from '@drkit/errors';

/** Why an age operation failed; a caller (the repository) may turn these into errors with its own context. */
export type AgeFailure =
  | 'no-identity-matched' // none of the identities unwraps any stanza: wrong or missing key
  | 'bad-header' // not an age file, or a damaged / tampered header
  | 'bad-mac' // the header parses and a stanza unwraps, but its MAC does not match: altered
  | 'bad-payload' // a payload chunk failed authentication, or the file is truncated
  | 'bad-key' // an identity or recipient string is malformed
  | 'bad-passphrase' // a passphrase-protected file did not open with the passphrase
  | 'mixed-recipients'; // post-quantum and classic recipients asked for in one file

export const AgeErrorCode = {
  NO_IDENTITY_MATCHED: 'AGE_NO_IDENTITY_MATCHED',
  BAD_HEADER: 'AGE_BAD_HEADER',
  BAD_MAC: 'AGE_BAD_MAC',
  BAD_PAYLOAD: 'AGE_BAD_PAYLOAD',
  BAD_KEY: 'AGE_BAD_KEY',
  BAD_PASSPHRASE: 'AGE_BAD_PASSPHRASE',
  MIXED_RECIPIENTS: 'AGE_MIXED_RECIPIENTS',
} as const;
export type AgeErrorCode = (typeof AgeErrorCode)[keyof typeof AgeErrorCode];

const CODES: Record<AgeFailure, { code: AgeErrorCode; hint: string }> = {
  'no-identity-matched': {
    code: AgeErrorCode.NO_IDENTITY_MATCHED,
    hint: 'Use the identity (secret key) of one of the recipients the file was encrypted to.',
  },
  'bad-header': {
    code: AgeErrorCode.BAD_HEADER,
    hint: 'The input is not an age v1 file, or its header is damaged: use another copy.',
  },
  'bad-mac': { code: AgeErrorCode.BAD_MAC, hint: 'The header was altered after it was written: use another copy.' },
  'bad-payload': { code: AgeErrorCode.BAD_PAYLOAD, hint: 'The file is truncated or damaged: use another copy.' },
  'bad-key': {
    code: AgeErrorCode.BAD_KEY,
    hint:
      'Use age keys as age-keygen writes them: age1… or age1pq1… recipients, AGE-SECRET-KEY-1… or ' +
      'AGE-SECRET-KEY-PQ-1… identities.',
  },
  'bad-passphrase': { code: AgeErrorCode.BAD_PASSPHRASE, hint: 'Check the passphrase.' },
  'mixed-recipients': {
    code: AgeErrorCode.MIXED_RECIPIENTS,
    hint: 'Encrypt to post-quantum recipients (age1pq1…) only, or to classic ones only.',
  },
};

export class AgeError extends DrkitError<AgeErrorCode> {
  constructor(
    readonly reason: AgeFailure,
    message: string,
    /** Stanza types found in the header (for no-identity-matched), e.g. ["X25519"]. */
    readonly stanzaTypes: string[] = [],
  ) {
    super(CODES[reason].code, message, { hint: CODES[reason].hint });
  }
}
