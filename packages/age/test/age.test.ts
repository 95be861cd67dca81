import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgeError,
  CHUNK,
  decryptBuffer,
  encryptBuffer,
  generateIdentity,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
} from '../src/index.js';

// The reference implementation: Debian's age CLI (scripts/setup.sh installs it).
const AGE = 'age';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-age-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// Sizes around the 64 KiB chunk boundaries, where STREAM's last-chunk rule matters.
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 7, 300_000];

describe('age v1 on node:crypto, against the age CLI', () => {
  it('encrypts what `age -d` decrypts, at every chunk boundary, for one and for two recipients', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const keyA = path.join(dir, 'a.txt');
    const keyB = path.join(dir, 'b.txt');
    await writeFile(keyA, a.fileText, { mode: 0o600 });
    await writeFile(keyB, b.fileText, { mode: 0o600 });
    for (const size of SIZES) {
      const data = randomBytes(size);
      const sealed = await encryptBuffer(data, [parseRecipient(a.recipient), parseRecipient(b.recipient)]);
      const file = path.join(dir, `x-${size}.age`);
      await writeFile(file, sealed);
      expect(execFileSync(AGE, ['-d', '-i', keyA, file]).equals(data), `size ${size} with key A`).toBe(true);
      expect(execFileSync(AGE, ['-d', '-i', keyB, file]).equals(data), `size ${size} with key B`).toBe(true);
    }
  });

  it('decrypts what `age -r` encrypts, and reads identity files age-keygen writes', async () => {
    const keyFile = path.join(dir, 'keygen.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const text = await readFile(keyFile, 'utf8');
    const [identity] = parseIdentityFile(text, keyFile);
    expect(text).toContain(`# public key: ${identity!.recipient}`);
    for (const size of SIZES) {
      const data = randomBytes(size);
      const sealed = execFileSync(AGE, ['-r', identity!.recipient], { input: data });
      expect((await decryptBuffer(sealed, [identity!])).equals(data), `size ${size}`).toBe(true);
    }
  });

  it('interoperates with passphrase (scrypt) files in both directions', async () => {
    const data = randomBytes(70_000);
    const passphrase = 'correct horse battery staple';
    const ours = path.join(dir, 'pass.age');
    await writeFile(ours, await encryptBuffer(data, [{ type: 'scrypt', passphrase, logN: 14 }]));
    // age reads passphrases from the terminal only; `script` gives it one and types the passphrase.
    const out = path.join(dir, 'pass.out');
    const r = spawnSync('script', ['-qec', `${AGE} -d -o ${out} ${ours}`, '/dev/null'], {
      input: `${passphrase}\n`,
      timeout: 30_000,
    });
    expect(r.status, r.stdout?.toString()).toBe(0);
    expect((await readFile(out)).equals(data)).toBe(true);

    const theirs = path.join(dir, 'theirs.age');
    const plain = path.join(dir, 'theirs.bin');
    await writeFile(plain, data);
    const e = spawnSync('script', ['-qec', `${AGE} -p -o ${theirs} ${plain}`, '/dev/null'], {
      input: `${passphrase}\n${passphrase}\n`,
      timeout: 30_000,
    });
    expect(e.status, e.stdout?.toString()).toBe(0);
    expect((await decryptBuffer(await readFile(theirs), [{ type: 'scrypt', passphrase }])).equals(data)).toBe(true);
    await expect(
      decryptBuffer(await readFile(theirs), [{ type: 'scrypt', passphrase: 'wrong' }]),
    ).rejects.toMatchObject({ reason: 'bad-passphrase' });
  });

  it(
    'refuses a wrong identity, a truncated file and a ' + 'flipped bit, never yielding partial plaintext silently',
    async () => {
      const a = generateIdentity();
      const other = generateIdentity();
      const data = randomBytes(3 * CHUNK + 5);
      const sealed = await encryptBuffer(data, [parseRecipient(a.recipient)]);
      await expect(decryptBuffer(sealed, [other.identity])).rejects.toMatchObject({
        reason: 'no-identity-matched',
        stanzaTypes: ['X25519'],
      });
      // Cut exactly at a chunk boundary: every remaining chunk authenticates, but the last-chunk flag is missing.
      const headerEnd = sealed.indexOf('\n', sealed.indexOf('--- ')) + 1 + 16;
      const cut = sealed.subarray(0, headerEnd + 2 * (CHUNK + 16));
      await expect(decryptBuffer(cut, [a.identity])).rejects.toMatchObject({ reason: 'bad-payload' });
      const flipped = Buffer.from(sealed);
      flipped[flipped.length - 100]! ^= 1;
      await expect(decryptBuffer(flipped, [a.identity])).rejects.toMatchObject({ reason: 'bad-payload' });
      const header = Buffer.from(sealed);
      header[30]! ^= 1;
      await expect(decryptBuffer(header, [a.identity])).rejects.toBeInstanceOf(AgeError);
      await expect(decryptBuffer(Buffer.from('plain text, not age'), [a.identity])).rejects.toMatchObject({
        reason: 'bad-header',
      });
    },
  );

  it('never shows a secret key: not in errors about a bad key file, not when an identity is printed', async () => {
    const a = generateIdentity();
    const secretLine = a.fileText.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const typo = `${secretLine.slice(0, -1)}${secretLine.endsWith('Q') ? 'P' : 'Q'}`;
    let message = '';
    try {
      parseIdentityFile(`# a key\n${typo}\n`, 'key.txt');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('key.txt line 2');
    expect(message).not.toContain(typo.slice(16, 40));
    const [id] = parseIdentityFile(a.fileText, 'key.txt');
    expect(JSON.stringify({ id })).not.toContain(secretLine.slice(16, 40));
    expect(inspect(id)).toBe(`X25519Identity(${a.recipient})`);
    expect(parseRecipientsFile(`# team\n${a.recipient}\n\n`, 'r.txt').map((r) => r.text)).toEqual([a.recipient]);
    expect(() => parseRecipient('age1notakey')).toThrow(/is not an age recipient \(a public key that starts with age1/);
  });
});
