/** Why an age operation failed; the repository turns these into RepoErrors with context. */
export type AgeFailure =
  | 'no-identity-matched' // none of the identities unwraps any stanza: wrong or missing key
  | 'bad-header' // not an age file, or a damaged / tampered header
  | 'bad-mac' // the header parses and a stanza unwraps, but its MAC does not match: altered
  | 'bad-payload' // a payload chunk failed authentication, or the file is truncated
  | 'bad-key' // an identity or recipient string is malformed
  | 'bad-passphrase'; // a passphrase-protected file did not open with the passphrase

export class AgeError extends Error {
  constructor(
    readonly reason: AgeFailure,
    message: string,
    /** Stanza types found in the header (for no-identity-matched), e.g. ["X25519"]. */
    readonly stanzaTypes: string[] = [],
  ) {
    super(message);
    this.name = 'AgeError';
  }
}
