import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import * as vectors from 'cctv-age';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeDecryptStream, AgeError, type AgeFailure, type AgeIdentity, parseIdentity } from '../src/index.js';
import { hkdf, hmacSha256 } from '../src/primitives.js';

// The C2SP CCTV age test vectors (npm cctv-age): every vector is classified here, none is left out.

interface Vector {
  name: string;
  headers: Map<string, string[]>;
  /** The age file itself, inflated when the vector is `compressed: zlib`. */
  file: Buffer;
}

function parseVector(name: string, bytes: Uint8Array): Vector {
  const raw = Buffer.from(bytes);
  const end = raw.indexOf('\n\n');
  const headers = new Map<string, string[]>();
  for (const line of raw.toString('utf8', 0, end).split('\n')) {
    const i = line.indexOf(': ');
    const key = line.slice(0, i);
    headers.set(key, [...(headers.get(key) ?? []), line.slice(i + 2)]);
  }
  const body = raw.subarray(end + 2);
  return { name, headers, file: headers.get('compressed')?.[0] === 'zlib' ? inflateSync(body) : body };
}

const one = (v: Vector, key: string) => v.headers.get(key)?.[0];

/** Why drkit does not apply a vector, or undefined when it does. */
function unsupported(v: Vector): string | undefined {
  if (one(v, 'armored') === 'yes') return 'ASCII armor: drkit writes and reads binary age files only';
  return undefined;
}

/** The AgeError reasons each expected failure may surface as. */
function expectedReasons(v: Vector): AgeFailure[] {
  const expect = one(v, 'expect');
  switch (expect) {
    case 'header failure':
      return ['bad-header'];
    case 'HMAC failure':
      return ['bad-mac'];
    case 'payload failure':
      return ['bad-payload'];
    case 'no match': // drkit names a passphrase that does not open a scrypt stanza apart
      return ['no-identity-matched', 'bad-passphrase'];
    default:
      throw new Error(`${v.name}: no failure kind for "expect: ${expect}"`);
  }
}

function identitiesOf(v: Vector): AgeIdentity[] {
  return [
    ...(v.headers.get('identity') ?? []).map((i) => parseIdentity(i)),
    ...(v.headers.get('passphrase') ?? []).map((passphrase) => ({ type: 'scrypt' as const, passphrase })),
  ];
}

/** Decrypts as a reader would, keeping the plaintext released before any failure. */
function decrypt(file: Buffer, identities: AgeIdentity[]): Promise<{ released: Buffer; error?: unknown }> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const d = new AgeDecryptStream(identities);
    d.on('data', (c: Buffer) => out.push(c));
    d.on('end', () => resolve({ released: Buffer.concat(out) }));
    d.on('error', (error) => resolve({ released: Buffer.concat(out), error }));
    d.end(file);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const all = Object.entries(vectors as Record<string, Uint8Array>)
  .map(([name, bytes]) => parseVector(name, bytes))
  .sort((a, b) => a.name.localeCompare(b.name));
const applied = all.filter((v) => !unsupported(v));
const skipped = all.filter((v) => unsupported(v));
const named = (name: string) => all.find((v) => v.name === name)!;

describe(`CCTV age vectors: ${all.length} in all`, () => {
  it('each is either applied or unsupported with a reason, and every applied one has a known expectation', () => {
    expect(applied.length + skipped.length).toBe(all.length);
    expect(all.length).toBeGreaterThan(100);
    for (const v of applied)
      expect(['success', 'header failure', 'HMAC failure', 'payload failure', 'no match']).toContain(one(v, 'expect'));
  });
});

describe(`CCTV age vectors applied (${applied.length})`, () => {
  it.each(applied.map((v) => [`${v.name}: ${one(v, 'expect')}`, v] as const))('%s', async (_label, v) => {
    const { released, error } = await decrypt(v.file, identitiesOf(v));
    if (one(v, 'expect') === 'success') {
      expect(error).toBeUndefined();
      expect(sha256(released)).toBe(one(v, 'payload'));
      return;
    }
    expect(error).toBeInstanceOf(AgeError);
    expect(expectedReasons(v)).toContain((error as AgeError).reason);
    // A payload failure may release only the chunks that authenticated, and exactly those.
    if (v.headers.has('payload')) expect(sha256(released)).toBe(one(v, 'payload'));
    else expect(released.length).toBe(0);
  });
});

describe(`CCTV age vectors unsupported (${skipped.length})`, () => {
  it.each(skipped.map((v) => [`${v.name}: ${unsupported(v)}`, v] as const))(
    '%s: refused, never decrypted',
    async (_label, v) => {
      let identities: AgeIdentity[];
      try {
        identities = identitiesOf(v);
      } catch (err) {
        expect((err as AgeError).reason).toBe('bad-key'); // a hybrid identity is not an X25519 one
        return;
      }
      const { released, error } = await decrypt(v.file, identities);
      expect((error as AgeError).reason).toBe('bad-header'); // armor is not the age version line
      expect(released.length).toBe(0);
    },
  );
});

describe('a low-order X25519 stanza is fatal for the whole header', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drkit-age-cctv-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // The two vectors share the file key and the identity: put x25519_low_order's stanza in front
  // of x25519's valid one, and sign the header again, so only the low-order share is wrong.
  function lowOrderFirst(): { file: Buffer; identity: string } {
    const low = named('x25519_low_order');
    const good = named('x25519');
    const stanza = (f: Buffer) => f.toString('latin1').split('\n').slice(1, 3).join('\n');
    const text = `age-encryption.org/v1\n${stanza(low.file)}\n${stanza(good.file)}\n---`;
    const fileKey = Buffer.from(one(good, 'file key')!, 'hex');
    const mac = hmacSha256(hkdf(fileKey, Buffer.alloc(0), 'header'), Buffer.from(text))
      .toString('base64')
      .replace(/=+$/, '');
    const payload = good.file.subarray(good.file.indexOf('\n', good.file.indexOf('\n---') + 1) + 1);
    return { file: Buffer.concat([Buffer.from(`${text} ${mac}\n`), payload]), identity: one(good, 'identity')! };
  }

  it('in front of a valid stanza it fails the header, where it used to be skipped', async () => {
    const { file, identity } = lowOrderFirst();
    const { released, error } = await decrypt(file, [parseIdentity(identity)]);
    expect((error as AgeError).reason).toBe('bad-header');
    expect(released.length).toBe(0);
  });

  it('the age CLI rejects the same file, and accepts it once the low-order stanza is gone', async () => {
    const { file, identity } = lowOrderFirst();
    const key = path.join(dir, 'key.txt');
    await writeFile(key, `${identity}\n`, { mode: 0o600 });
    const spliced = path.join(dir, 'low-order-first.age');
    await writeFile(spliced, file);
    expect(() => execFileSync('age', ['-d', '-i', key, spliced], { stdio: 'pipe' })).toThrow(
      /low order|all-zero|invalid/i,
    );
    const good = path.join(dir, 'x25519.age');
    await writeFile(good, named('x25519').file);
    expect(sha256(execFileSync('age', ['-d', '-i', key, good]))).toBe(one(named('x25519'), 'payload'));
  });
});
