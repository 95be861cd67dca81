import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AgeError,
  decryptBuffer,
  encryptBuffer,
  generateIdentity,
  parseIdentityFile,
  parseRecipient,
  PQIdentity,
} from '../src/index.js';

// Post-quantum (mlkem768x25519) recipients. Known answers come from the CCTV `hybrid*` vectors
// (cctv.test.ts); here: what those cannot show, encryption and the rules around it.

const pq = () => generateIdentity({ pq: true });
const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as AgeError;
const stanzas = (file: Buffer) =>
  file
    .subarray(0, file.indexOf('\n---'))
    .toString('latin1')
    .split('\n')
    .filter((l) => l.startsWith('-> '));

describe('post-quantum age recipients (age1pq1…)', () => {
  it(
    'a generated key writes as age-keygen -pq does, and ' + 'round-trips a file through one mlkem768x25519 stanza',
    async () => {
      const key = pq();
      // 1,959 characters, as age prints them
      expect(key.recipient).toMatch(/^age1pq1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{1952}$/);
      expect(key.fileText).toMatch(/^# created: \S+\n# public key: age1pq1\S+\nAGE-SECRET-KEY-PQ-1[A-Z0-9]+\n$/);
      const [identity] = parseIdentityFile(key.fileText, 'key.txt');
      expect(identity).toBeInstanceOf(PQIdentity);
      expect((identity as PQIdentity).recipient).toBe(key.recipient);
      const plain = Buffer.from('store now, decrypt later: not this one');
      const sealed = await encryptBuffer(plain, [parseRecipient(key.recipient)]);
      expect(stanzas(sealed).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['-> mlkem768x25519']);
      expect(await decryptBuffer(sealed, [identity!])).toEqual(plain);
    },
  );

  it('several post-quantum recipients: each identity opens the file alone', async () => {
    const [a, b] = [pq(), pq()];
    const sealed = await encryptBuffer(Buffer.from('x'), [parseRecipient(a.recipient), parseRecipient(b.recipient)]);
    expect(stanzas(sealed)).toHaveLength(2);
    expect((await decryptBuffer(sealed, [b.identity])).toString()).toBe('x');
    expect((await decryptBuffer(sealed, [a.identity])).toString()).toBe('x');
  });

  it('refuses to mix post-quantum and X25519 recipients in one file, as age ≥ 1.3 does', async () => {
    const err = await failure(
      encryptBuffer(Buffer.from('x'), [parseRecipient(pq().recipient), parseRecipient(generateIdentity().recipient)]),
    );
    expect(err).toBeInstanceOf(AgeError);
    expect([err.reason, err.code]).toEqual(['mixed-recipients', 'AGE_MIXED_RECIPIENTS']);
    expect(err.hint).toContain('post-quantum recipients (age1pq1…) only');
  });

  it('an identity that does not match, or an X25519 one: no match, naming the stanza type', async () => {
    const sealed = await encryptBuffer(Buffer.from('x'), [parseRecipient(pq().recipient)]);
    for (const other of [pq().identity, generateIdentity().identity]) {
      const err = await failure(decryptBuffer(sealed, [other]));
      expect([err.reason, err.code, err.stanzaTypes]).toEqual([
        'no-identity-matched',
        'AGE_NO_IDENTITY_MATCHED',
        ['mlkem768x25519'],
      ]);
    }
  });

  it('a malformed age1pq1 string is a bad key that says what a whole one looks like', () => {
    const good = pq().recipient;
    const bad = [
      good.slice(0, 200),
      `${good.slice(0, -1)}${good.endsWith('q') ? 'p' : 'q'}`,
      good.toUpperCase().replace('AGE1PQ1', 'age1pq1'),
      `${good}qq`,
    ];
    for (const text of bad) {
      let err: AgeError | undefined;
      try {
        parseRecipient(text);
      } catch (e) {
        err = e as AgeError;
      }
      expect([err?.reason, err?.code]).toEqual(['bad-key', 'AGE_BAD_KEY']);
      expect(err?.message).toContain('is not an age post-quantum recipient: a whole one is 1959 characters');
      expect(err?.message.length).toBeLessThan(200);
    }
  });

  it('the secret seed is never printed: an identity shows and serialises as its public key', () => {
    const key = pq();
    const secret = key.fileText.split('\n')[2]!;
    expect(inspect(key.identity)).not.toContain(secret);
    expect(JSON.stringify(key.identity)).toBe(JSON.stringify({ type: 'mlkem768x25519', recipient: key.recipient }));
    let message = '';
    try {
      parseIdentityFile(`${secret.slice(0, -1)}${secret.endsWith('Q') ? 'P' : 'Q'}\n`, 'key.txt'); // a bad checksum
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('key.txt line 1 is not an age identity');
    expect(message).not.toContain(secret.slice(20, 40));
  });
});
