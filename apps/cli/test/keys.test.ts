import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTree } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);

/** A fresh age key pair made by age-keygen: the identity file and its public key. */
function ageKey(name: string): { file: string; recipient: string } {
  const file = path.join(dir, `${name}.txt`);
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  return { file, recipient: execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim() };
}

describe('drkit key list|add|remove', () => {
  it(
    'adds a recipient for future backups, shows which keys ' + 'each snapshot was written for, and retires the old key',
    async () => {
      const old = ageKey('old');
      const added = ageKey('new');
      await drkit(['init', '--repo', repo, '--recipient', old.recipient]);
      const first = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
      const add = await drkit(['key', 'add', added.recipient, '--repo', repo]);
      expect(add.code).toBe(0);
      expect(add.stdout).toContain('snapshots already written stay readable only by the keys they were written for');
      const second = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;
      const listed = json((await drkit(['key', 'list', '--repo', repo, '--json'])).stdout);
      expect(listed.recipients).toEqual([old.recipient, added.recipient]);
      expect(listed.snapshots).toEqual([
        { id: first, time: expect.any(String), recipients: [old.recipient] },
        { id: second, time: expect.any(String), recipients: [old.recipient, added.recipient] },
      ]);
      expect((await drkit(['key', 'list', '--repo', repo])).stdout).toContain(
        `1 snapshot(s), ${first} … ${first}: written for ${old.recipient}`,
      );

      // The new key opens what was written for it, and only that.
      const restore = (id: string, key: string, target: string) =>
        drkit(['restore', id, '--target', path.join(dir, target), '--identity', key, '--repo', repo, '--json']);
      expect((await restore(second, added.file, 'a')).code).toBe(0);
      expect(json((await restore(first, added.file, 'b')).stdout).error.code).toBe('REPO_WRONG_IDENTITY');

      const removed = await drkit(['key', 'remove', old.recipient, '--repo', repo]);
      expect(removed.code).toBe(0);
      expect(removed.stdout).toMatch(
        /2 snapshot\(s\) already written for it stay readable by it .*drkit copy all --to NEW/,
      );
      const third = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;
      expect(json((await restore(third, old.file, 'c')).stdout).error.code).toBe('REPO_WRONG_IDENTITY');
      expect((await restore(third, added.file, 'd')).code).toBe(0);
    },
  );

  it(
    'removing the last recipient, an unknown one, or changing keys of an unencrypted repository: coded errors ' +
      'with a hint',
    async () => {
      const only = ageKey('only');
      await drkit(['init', '--repo', repo, '--recipient', only.recipient]);
      const config = await readFile(path.join(repo, 'config.json'), 'utf8');
      const last = json((await drkit(['key', 'remove', only.recipient, '--repo', repo, '--json'])).stdout).error;
      expect(last).toMatchObject({ code: 'REPO_LAST_RECIPIENT', hint: expect.stringContaining('drkit key add') });
      const stranger = ageKey('stranger').recipient;
      expect(json((await drkit(['key', 'remove', stranger, '--repo', repo, '--json'])).stdout).error).toMatchObject({
        code: 'REPO_BAD_KEY',
        hint: expect.stringContaining(only.recipient),
      });
      expect(json((await drkit(['key', 'add', 'age1notakey', '--repo', repo, '--json'])).stdout).error.code).toBe(
        'REPO_BAD_KEY',
      );
      expect(await readFile(path.join(repo, 'config.json'), 'utf8')).toBe(config);
      const plain = path.join(dir, 'plain');
      await drkit(['init', '--repo', plain]);
      expect(json((await drkit(['key', 'add', only.recipient, '--repo', plain, '--json'])).stdout).error).toMatchObject(
        {
          code: 'REPO_NOT_ENCRYPTED',
          hint: expect.stringContaining('drkit copy all --to'),
        },
      );
    },
  );
});

describe('post-quantum recipients (age1pq1…)', () => {
  /** A new post-quantum key pair through `drkit init --generate-key --pq` of a throwaway repository. */
  async function pqKey(name: string): Promise<{ file: string; recipient: string }> {
    const file = path.join(dir, `${name}.txt`);
    const made = json(
      (await drkit(['init', '--repo', path.join(dir, `${name}-repo`), '--generate-key', file, '--pq', '--json']))
        .stdout,
    );
    return { file, recipient: made.recipient };
  }

  it(
    'init --generate-key --pq: backups carry one ' + 'mlkem768x25519 stanza and restore with that identity only',
    async () => {
      const keyFile = path.join(dir, 'pq.txt');
      const init = await drkit(['init', '--repo', repo, '--generate-key', keyFile, '--pq']);
      expect(init.code).toBe(0);
      expect(init.stdout).toMatch(/wrote a new post-quantum age identity to .*its public key is age1pq1/);
      expect(await readFile(keyFile, 'utf8')).toMatch(
        /^# created: .*\n# public key: age1pq1\S{1952}\nAGE-SECRET-KEY-PQ-1\S+\n$/,
      );
      const id = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
      const [recipient] = json((await drkit(['key', 'list', '--repo', repo, '--json'])).stdout).recipients;
      expect(recipient).toMatch(/^age1pq1/);
      const snapshot = json(await readFile(path.join(repo, 'snapshots', `${id}.json`), 'utf8'));
      const archive = await readFile(path.join(repo, snapshot.sources[0].archive.key));
      const header = archive.subarray(0, archive.indexOf('\n---')).toString('latin1');
      expect(
        header
          .split('\n')
          .filter((l) => l.startsWith('-> '))
          .map((l) => l.split(' ')[1]),
      ).toEqual(['mlkem768x25519']);

      const restored = path.join(dir, 'restored');
      expect((await drkit(['restore', id, '--target', restored, '--identity', keyFile, '--repo', repo])).code).toBe(0);
      expect(await describeTree(path.join(restored, 'tree'))).toEqual(await describeTree(tree));
      const stranger = await pqKey('stranger');
      const wrong = json(
        (
          await drkit([
            'restore',
            id,
            '--target',
            path.join(dir, 'wrong'),
            '--identity',
            stranger.file,
            '--repo',
            repo,
            '--json',
          ])
        ).stdout,
      ).error;
      expect(wrong).toMatchObject({
        code: 'REPO_WRONG_IDENTITY',
        hint: expect.stringContaining('AGE-SECRET-KEY-PQ-1'),
      });
      expect(wrong.message).toMatch(/encrypted for age1pq1\S{9}…\S{8}\./); // the 1,959-character key by its ends

      // key add takes another post-quantum key; the new backup opens with it.
      expect((await drkit(['key', 'add', stranger.recipient, '--repo', repo])).code).toBe(0);
      const next = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;
      expect(
        (
          await drkit([
            'restore',
            next,
            '--target',
            path.join(dir, 'by-stranger'),
            '--identity',
            stranger.file,
            '--repo',
            repo,
          ])
        ).code,
      ).toBe(0);
    },
  );

  it(
    'a malformed age1pq1 key, a mix of post-quantum and classic keys, and --pq without a key to make: coded ' +
      'errors, nothing changed',
    async () => {
      const classic = ageKey('classic');
      const post = await pqKey('post');
      await drkit(['init', '--repo', repo, '--recipient', classic.recipient]);
      const config = await readFile(path.join(repo, 'config.json'), 'utf8');
      const mixed = json((await drkit(['key', 'add', post.recipient, '--repo', repo, '--json'])).stdout).error;
      expect(mixed).toMatchObject({
        code: 'REPO_MIXED_RECIPIENTS',
        hint: expect.stringContaining('drkit copy all --to'),
      });
      const truncated = json(
        (await drkit(['key', 'add', post.recipient.slice(0, 300), '--repo', repo, '--json'])).stdout,
      ).error;
      expect(truncated).toMatchObject({
        code: 'REPO_BAD_KEY',
        message: expect.stringContaining('(300 characters) is not an age post-quantum recipient'),
        hint: expect.stringContaining('age-keygen -pq'),
      });
      expect(await readFile(path.join(repo, 'config.json'), 'utf8')).toBe(config);

      const other = path.join(dir, 'other');
      const both = await drkit([
        'init',
        '--repo',
        other,
        '--recipient',
        classic.recipient,
        '--recipient',
        post.recipient,
        '--json',
      ]);
      expect([both.code, json(both.stdout).error.code]).toEqual([1, 'REPO_MIXED_RECIPIENTS']);
      const usage = await drkit(['init', '--repo', other, '--recipient', post.recipient, '--pq', '--json']);
      expect([usage.code, json(usage.stdout).error.code]).toEqual([2, 'CLI_USAGE']);
      await expect(readFile(path.join(other, 'config.json'))).rejects.toThrow(/ENOENT/);
    },
  );
});
