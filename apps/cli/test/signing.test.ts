import { execFileSync } from 'node:child_process';
import { chmod, cp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSnapshot, Repository, SigningKey } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { describeTree } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const metaPath = (root: string, id: string) => path.join(root, 'snapshots', `${id}.json`);
const readMeta = async (root: string, id: string) => json(await readFile(metaPath(root, id), 'utf8'));
/** What someone with write access does: change the file and make its checksum match again. */
const writeMeta = (root: string, id: string, meta: object, signer?: SigningKey) =>
  writeFile(metaPath(root, id), encodeSnapshot(meta, signer));

/** Flips one bit of the byte at `offset` within the first `needle` in a file, as bit rot would. */
async function flipBit(file: string, needle: string, offset: number, bit: number): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(needle);
  expect(at, `${needle} in ${file}`).toBeGreaterThanOrEqual(0);
  bytes[at + offset]! ^= 1 << bit;
  await writeFile(file, bytes);
}

/** A repository made with a new signing key, and two signed full snapshots of the sample tree. */
async function signedRepo(): Promise<{ key: string; keyFile: string; older: string; newer: string }> {
  const keyFile = path.join(dir, 'signing.pem');
  const init = await drkit(['init', '--repo', repo, '--generate-signing-key', keyFile, '--json']);
  expect(init.code).toBe(0);
  const key = json(init.stdout).signing.keys[0] as string;
  const env = { DRKIT_SIGNING_KEY_FILE: keyFile };
  const older = json((await drkit(['backup', tree, '--repo', repo, '--json'], { env })).stdout).id as string;
  // Ids name the second: two in one second cannot be ordered by id, and a pinned key then refuses to guess (trust.ts).
  await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
  const newer = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'], { env })).stdout).id as string;
  return { key, keyFile, older, newer };
}

describe('signed snapshots, through the CLI', () => {
  it(
    'tamper matrix: with the key pinned, verify and restore refuse each tampering with its own code; without ' +
      'a key nothing changes',
    async () => {
      const { key, older, newer } = await signedRepo();
      const attacker = SigningKey.generate().key;
      const future = `2099${newer.slice(4, -6)}abcdef`;
      type Case = {
        name: string;
        tamper: (root: string) => Promise<void>;
        refused: string;
        code: string;
        latest: string;
        unpinnedVerifies?: boolean;
      };
      const cases: Case[] = [
        {
          name: 'a field edit (root.mode of the newest)',
          tamper: async (root) => {
            const m = await readMeta(root, newer);
            m.sources[0].root.mode = 693;
            await writeMeta(root, newer, m);
          },
          refused: newer,
          code: 'REPO_SIGNATURE_INVALID',
          latest: 'REPO_SIGNATURE_INVALID',
          unpinnedVerifies: true,
        },
        {
          name: "rollback by time: the older snapshot's time moved past the newest",
          tamper: async (root) => {
            const m = await readMeta(root, older);
            m.time = '2099-01-01T00:00:00.000Z';
            await writeMeta(root, older, m);
          },
          refused: older,
          code: 'REPO_SIGNATURE_INVALID',
          latest: newer, // the attack fails: latest is still the real newest
          unpinnedVerifies: true,
        },
        {
          name: 'rollback by name: the older snapshot renamed to a newer id',
          tamper: (root) => rename(metaPath(root, older), metaPath(root, future)),
          refused: future,
          code: 'REPO_SIGNATURE_WRONG_SNAPSHOT',
          latest: 'REPO_SIGNATURE_WRONG_SNAPSHOT',
        },
        {
          name: 'swapped snapshots',
          tamper: async (root) => {
            const [a, b] = [await readFile(metaPath(root, older)), await readFile(metaPath(root, newer))];
            await writeFile(metaPath(root, older), b);
            await writeFile(metaPath(root, newer), a);
          },
          refused: newer,
          code: 'REPO_SIGNATURE_WRONG_SNAPSHOT',
          latest: 'REPO_SIGNATURE_WRONG_SNAPSHOT',
        },
        {
          name: 'a removed signature',
          tamper: async (root) => {
            const { signature: _gone, ...m } = await readMeta(root, newer);
            await writeMeta(root, newer, m);
          },
          refused: newer,
          code: 'REPO_SIGNATURE_MISSING',
          latest: 'REPO_SIGNATURE_MISSING',
          unpinnedVerifies: true,
        },
        {
          name: 'another key: edited, then re-signed',
          tamper: async (root) => {
            const m = await readMeta(root, newer);
            m.host = 'attacker';
            await writeMeta(root, newer, m, attacker);
          },
          refused: newer,
          code: 'REPO_SIGNATURE_UNTRUSTED',
          latest: 'REPO_SIGNATURE_UNTRUSTED',
          unpinnedVerifies: true,
        },
        {
          name: 'the newest snapshot deleted, after this host had seen it',
          tamper: async (root) => {
            expect((await drkit(['snapshots', '--repo', root, '--trust-key', key])).code).toBe(0);
            await unlink(metaPath(root, newer));
          },
          refused: newer,
          code: 'REPO_ROLLBACK',
          latest: 'REPO_ROLLBACK',
          unpinnedVerifies: true,
        },
      ];
      for (const c of cases) {
        const root = path.join(dir, `case-${cases.indexOf(c)}`);
        await cp(repo, root, { recursive: true });
        await c.tamper(root);
        const v = await drkit(['verify', 'all', '--repo', root, '--trust-key', key, '--json']);
        expect(v.code, `${c.name}: verify all`).toBe(4);
        expect(
          json(v.stdout).snapshots.find((r: { snapshot: string }) => r.snapshot === c.refused),
          c.name,
        ).toMatchObject({ ok: false, status: 'unreadable', damagedCode: c.code });
        const r = await drkit([
          'restore',
          'latest',
          '--repo',
          root,
          '--trust-key',
          key,
          '--target',
          path.join(root, '..', `out-${cases.indexOf(c)}`),
          '--json',
        ]);
        if (c.latest.startsWith('REPO_')) {
          expect(r.code, `${c.name}: restore latest`).toBe(1);
          expect(json(r.stdout).error, c.name).toMatchObject({
            code: c.latest,
            message: expect.stringContaining('latest '),
          });
        } else {
          expect(r.code, `${c.name}: restore latest: ${r.stdout}`).toBe(0);
          expect(json(r.stdout)).toMatchObject({ snapshot: c.latest });
        }
        if (c.unpinnedVerifies)
          expect((await drkit(['verify', 'all', '--repo', root])).code, `${c.name}: verify all without a key`).toBe(0);
      }
      // Restoring the refused snapshot by its id is refused too; the untouched one restores.
      const root = path.join(dir, 'case-0');
      const byId = await drkit([
        'restore',
        newer,
        '--repo',
        root,
        '--trust-key',
        key,
        '--target',
        path.join(dir, 'by-id'),
        '--json',
      ]);
      expect(json(byId.stdout).error.code).toBe('REPO_SIGNATURE_INVALID');
      expect(
        (await drkit(['restore', older, '--repo', root, '--trust-key', key, '--target', path.join(dir, 'older')])).code,
      ).toBe(0);
      expect(await describeTree(path.join(dir, 'older', 'tree'))).toEqual(await describeTree(tree));
    },
  );

  it('catches a flipped bit in each kind of metadata file with a coded error naming the file', async () => {
    await drkit(['init', '--repo', repo]);
    const older = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
    const newer = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;

    // The two flips: the oldest snapshot's time 2026 → 2036, the newest's root mode 493 → 693.
    await flipBit(metaPath(repo, older), '"time": "202', 11, 0);
    const latest = await drkit(['restore', 'latest', '--repo', repo, '--target', path.join(dir, 'r1'), '--json']);
    expect(json(latest.stdout)).toMatchObject({ snapshot: newer });
    await flipBit(metaPath(repo, newer), '"mode": 493', 8, 1);
    const v = await drkit(['verify', 'all', '--repo', repo]);
    expect(v.code).toBe(4);
    expect(v.stderr).toContain(
      `bad-metadata: [REPO_CHECKSUM_MISMATCH] snapshots/${newer}.json in ${repo} is damaged: its content ` +
        `does not match its checksum`,
    );
    expect(v.stderr).toContain(`snapshots/${older}.json in ${repo} is damaged`);
    const r = await drkit(['restore', newer, '--repo', repo, '--target', path.join(dir, 'r2'), '--json']);
    expect(json(r.stdout).error).toMatchObject({
      code: 'REPO_CHECKSUM_MISMATCH',
      details: { key: `snapshots/${newer}.json` },
    });

    // A lock: a held one whose pid lost a bit is damaged, so it counts as exclusive until unlock --all.
    const held = await (await Repository.open(new LocalStore(repo))).lock({ exclusive: false, purpose: 'backup' });
    const lockFile = path.join(repo, 'locks', `${held.info.id}.json`);
    await flipBit(lockFile, `"pid":${process.pid},`, 5 + String(process.pid).length, 0);
    const b = await drkit(['backup', tree, '--repo', repo, '--wait', '0s', '--json']);
    expect(b.code).toBe(1);
    expect(json(b.stdout).error).toMatchObject({
      code: 'REPO_LOCKED',
      message: expect.stringContaining(`locked by a damaged lock file: locks/${held.info.id}.json`),
    });
    expect((await drkit(['unlock', '--all', '--repo', repo])).code).toBe(0);
    await expect(stat(lockFile)).rejects.toThrow();
    await held.release().catch(() => {});

    // config.json: nothing is read or written.
    await flipBit(path.join(repo, 'config.json'), '"created": "20', 12, 0);
    const s = await drkit(['snapshots', '--repo', repo, '--json']);
    expect(s.code).toBe(1);
    expect(json(s.stdout).error).toMatchObject({
      code: 'REPO_CHECKSUM_MISMATCH',
      message: expect.stringContaining(`config.json in ${repo} is damaged`),
    });
  });

  it(
    'tags change on a host without the signing key and stay valid; latest:clean names newer snapshots without ' +
      'the tag',
    async () => {
      const { key, older, newer } = await signedRepo();
      const pin = { DRKIT_TRUST_KEY: key };
      // The verify host pins the key but does not hold it.
      const mark = await drkit(['verify', older, '--mark-clean', '--repo', repo], { env: pin });
      expect(mark.stdout).toContain(`signed by ${key} (a pinned key)`);
      expect(mark.stdout).toContain(`tagged clean: ${older}`);
      expect((await drkit(['tag', newer, '--add', 'reviewed', '--repo', repo])).code).toBe(0);
      const v = await drkit(['verify', 'all', '--repo', repo, '--json'], { env: pin });
      expect(json(v.stdout)).toMatchObject({ ok: true, snapshots: [{ signedBy: key }, { signedBy: key }] });
      const r = await drkit(['restore', 'latest:clean', '--repo', repo, '--target', path.join(dir, 'r'), '--json'], {
        env: pin,
      });
      expect(json(r.stdout)).toMatchObject({ snapshot: older });
      expect(r.stderr).toContain(`warning: latest:clean is ${older}`);
      expect(r.stderr).toContain(
        `1 newer signed snapshot(s) are not tagged "clean", the newest ${newer}. Tags are not signed`,
      );
    },
  );

  it(
    'init records a key made by openssl; backups without it are refused before writing; the config can hold ' +
      'both keys',
    async () => {
      const keyFile = path.join(dir, 'openssl.pem');
      execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', keyFile]);
      await chmod(keyFile, 0o644);
      const init = await drkit(['init', '--repo', repo, '--signing-key', keyFile, '--json']);
      expect(init.stderr).toContain(`warning: the signing key ${keyFile} can be read by other users (mode 0644)`);
      const key = json(init.stdout).signing.keys[0];
      const pub = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']);
      expect(key).toBe(`ed25519:${pub.subarray(12).toString('base64')}`);

      const unsigned = await drkit(['backup', tree, '--repo', repo, '--json']);
      expect(unsigned.code).toBe(1);
      expect(json(unsigned.stdout).error.code).toBe('REPO_SIGNING_KEY_REQUIRED');
      expect((await readdir(repo)).filter((f) => f !== '.tmp')).toEqual(['config.json']);

      await chmod(keyFile, 0o600);
      const cfg = path.join(dir, 'drkit.config.yaml');
      await writeFile(
        cfg,
        `repository: ./repo\nsigning_key: ./openssl.pem\ntrust_keys: ["${key}"]\nsources:\n` +
          `  - { name: tree, type: files, path: ./tree }\n`,
      );
      const b = await drkit(['backup', '--json'], { cwd: dir });
      expect(b.code).toBe(0);
      expect(json(b.stdout).signedBy).toBe(key);
      const s = await drkit(['snapshots', '--json'], { cwd: dir });
      expect(json(s.stdout)).toEqual([expect.objectContaining({ signedBy: key })]);
    },
  );

  it(
    'copy keeps signatures of blobs copied as stored; encrypting on the way leaves the copy unsigned unless ' +
      're-signed after a pinned check',
    async () => {
      const { key, keyFile, older } = await signedRepo();
      const plain = path.join(dir, 'plain');
      await drkit(['init', '--repo', plain]);
      const kept = await drkit(['copy', older, '--repo', repo, '--to', plain]);
      expect(kept.stdout).toContain(`copied  ${older} (`);
      expect(kept.stdout).toContain('signature kept');
      expect((await drkit(['verify', older, '--repo', plain, '--trust-key', key])).code).toBe(0);

      const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
      for (const name of ['enc', 'enc2'])
        await drkit(['init', '--repo', path.join(dir, name), '--recipient', recipient]);
      const dropped = await drkit(['copy', older, '--repo', repo, '--to', path.join(dir, 'enc')]);
      expect(dropped.stdout).toContain('encrypted, UNSIGNED: its blobs changed, so its signature no longer holds');
      const refused = await drkit(['verify', older, '--repo', path.join(dir, 'enc'), '--trust-key', key, '--json']);
      expect(json(refused.stdout).error.code).toBe('REPO_SIGNATURE_MISSING');

      const resigned = await drkit([
        'copy',
        older,
        '--repo',
        repo,
        '--to',
        path.join(dir, 'enc2'),
        '--signing-key',
        keyFile,
        '--trust-key',
        key,
      ]);
      expect(resigned.stdout).toContain('encrypted, re-signed');
      expect((await drkit(['verify', older, '--repo', path.join(dir, 'enc2'), '--trust-key', key])).code).toBe(0);
    },
  );

  it('keeps unsigned repositories as they were: no key configured, no signature, same output', async () => {
    await drkit(['init', '--repo', repo]);
    const id = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
    const meta = await readMeta(repo, id);
    expect(meta.signature).toBeUndefined();
    // A snapshot as drkit wrote it before checksums: still read, verified and restored.
    const { checksum: _c, ...old } = meta;
    await writeFile(metaPath(repo, id), JSON.stringify(old, null, 2));
    const { checksum: _cc, ...oldConfig } = json(await readFile(path.join(repo, 'config.json'), 'utf8'));
    await writeFile(path.join(repo, 'config.json'), JSON.stringify(oldConfig, null, 2));
    expect((await drkit(['verify', 'all', '--repo', repo])).code).toBe(0);
    const r = await drkit(['restore', 'latest', '--repo', repo, '--target', path.join(dir, 'r')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(await describeTree(path.join(dir, 'r', 'tree'))).toEqual(await describeTree(tree));
    await rm(path.join(dir, 'r'), { recursive: true });
  });
});
