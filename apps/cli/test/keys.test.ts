import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
  it('adds a recipient for future backups, shows which keys each snapshot was written for, and retires the old key', async () => {
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
    expect((await drkit(['key', 'list', '--repo', repo])).stdout).toContain(`1 snapshot(s), ${first} … ${first}: written for ${old.recipient}`);

    // The new key opens what was written for it, and only that.
    const restore = (id: string, key: string, target: string) => drkit(['restore', id, '--target', path.join(dir, target), '--identity', key, '--repo', repo, '--json']);
    expect((await restore(second, added.file, 'a')).code).toBe(0);
    expect(json((await restore(first, added.file, 'b')).stdout).error.code).toBe('REPO_WRONG_IDENTITY');

    const removed = await drkit(['key', 'remove', old.recipient, '--repo', repo]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/2 snapshot\(s\) already written for it stay readable by it .*drkit copy all --to NEW/);
    const third = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;
    expect(json((await restore(third, old.file, 'c')).stdout).error.code).toBe('REPO_WRONG_IDENTITY');
    expect((await restore(third, added.file, 'd')).code).toBe(0);
  });

  it('removing the last recipient, an unknown one, or changing keys of an unencrypted repository: coded errors with a hint', async () => {
    const only = ageKey('only');
    await drkit(['init', '--repo', repo, '--recipient', only.recipient]);
    const config = await readFile(path.join(repo, 'config.json'), 'utf8');
    const last = json((await drkit(['key', 'remove', only.recipient, '--repo', repo, '--json'])).stdout).error;
    expect(last).toMatchObject({ code: 'REPO_LAST_RECIPIENT', hint: expect.stringContaining('drkit key add') });
    const stranger = ageKey('stranger').recipient;
    expect(json((await drkit(['key', 'remove', stranger, '--repo', repo, '--json'])).stdout).error).toMatchObject({ code: 'REPO_BAD_KEY', hint: expect.stringContaining(only.recipient) });
    expect(json((await drkit(['key', 'add', 'age1notakey', '--repo', repo, '--json'])).stdout).error.code).toBe('REPO_BAD_KEY');
    expect(await readFile(path.join(repo, 'config.json'), 'utf8')).toBe(config);
    const plain = path.join(dir, 'plain');
    await drkit(['init', '--repo', plain]);
    expect(json((await drkit(['key', 'add', only.recipient, '--repo', plain, '--json'])).stdout).error).toMatchObject({ code: 'REPO_NOT_ENCRYPTED', hint: expect.stringContaining('drkit copy all --to') });
  });
});
