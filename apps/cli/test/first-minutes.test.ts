// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canWriteZstd, encodeMetadata } from '@drkit/repository';
import { drkit, useSampleWorkspace } from './cli.js';

// What a user meets in the first minutes: init, its compression and encryption, and a config.

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const UNENCRYPTED = /anyone who can read it .* can read the backups/;

describe('drkit init', () => {
  it(
    'says once, on stderr, that a repository without encryption is readable by anyone who can read it, and ' +
      'how to encrypt',
    async () => {
      const plain = await drkit(['init', '--repo', repo]);
      expect(plain.code).toBe(0);
      expect(plain.stderr.match(new RegExp(UNENCRYPTED, 'g'))).toHaveLength(1);
      expect(plain.stderr).toMatch(
        /--recipient age1… \(or --recipients-file FILE, --generate-key FILE, --passphrase\)/,
      );
      expect(plain.stderr).toMatch(/cannot be encrypted in place: .*drkit copy all --to/);
      expect(plain.stdout).not.toMatch(UNENCRYPTED);
      const asJson = await drkit(['init', '--repo', path.join(dir, 'repo2'), '--json']);
      expect(json(asJson.stdout).encryption).toBeNull(); // stdout stays JSON
      expect(asJson.stderr).toMatch(UNENCRYPTED);
      const encrypted = await drkit([
        'init',
        '--repo',
        path.join(dir, 'repo3'),
        '--generate-key',
        path.join(dir, 'key.txt'),
      ]);
      expect(encrypted.code).toBe(0);
      expect(encrypted.stderr).not.toMatch(UNENCRYPTED);
    },
  );

  it(
    '--compression zstd: refused before anything is written ' + 'where this Node cannot write zstd, and the hint works',
    async () => {
      const key = path.join(dir, 'key.txt');
      const r = await drkit(['init', '--repo', repo, '--compression', 'zstd', '--generate-key', key, '--json']);
      if (canWriteZstd) {
        expect(r.code).toBe(0);
        expect(json(await readFile(path.join(repo, 'config.json'), 'utf8')).compression).toBe('zstd');
        return;
      }
      expect(r.code).toBe(1);
      const { error } = json(r.stdout);
      expect(error.code).toBe('REPO_CODEC_UNAVAILABLE');
      expect(error.message).toMatch(
        new RegExp(`writing zstd needs Node >= 22\\.15 \\(this is ${process.version}\\)\\. Nothing was created\\.`),
      );
      expect(existsSync(repo)).toBe(false);
      expect(existsSync(key)).toBe(false);
      // The hint's --compression auto works, also over a config that asks for zstd.
      expect(error.hint).toMatch(/--compression auto/);
      await writeFile(
        path.join(dir, 'drkit.config.yaml'),
        `repository: ./repo\ncompression: zstd\nsources: [{ name: data, type: files, path: ./tree }]\n`,
      );
      const fromConfig = await drkit(['init', '--json'], { cwd: dir });
      expect(json(fromConfig.stdout).error.code).toBe('REPO_CODEC_UNAVAILABLE');
      const auto = await drkit(['init', '--compression', 'auto', '--json'], { cwd: dir });
      expect(auto.code).toBe(0);
      expect(json(auto.stdout).compression).toBe('auto');
    },
  );
});

describe('a repository that asks for zstd, used where zstd cannot be written', () => {
  it(
    'backs up in gzip (or zstd where it can) and says so ' + 'once, also with --emergency; the snapshot verifies',
    async () => {
      expect((await drkit(['init', '--repo', repo, '--compression', 'gzip'])).code).toBe(0);
      // As if made on a newer Node: the config asks for zstd.
      const configFile = path.join(repo, 'config.json');
      await writeFile(configFile, encodeMetadata({ ...json(await readFile(configFile, 'utf8')), compression: 'zstd' }));
      const note =
        `this repository asks for zstd, but writing zstd needs Node >= 22.15 (this is ${process.version}): ` +
        `writing gzip instead. Every drkit reads both.`;
      const b = await drkit(['backup', tree, '--repo', repo, '--json']);
      expect(b.code, b.stderr).toBe(0);
      const out = json(b.stdout);
      expect(out.sources[0].compression).toBe(canWriteZstd ? 'zstd' : 'gzip');
      expect(out.notes.filter((n: string) => n.includes('zstd'))).toEqual(canWriteZstd ? [] : [note]);
      const emergency = await drkit(['backup', tree, '--repo', repo, '--emergency', '--full']);
      expect(emergency.code, emergency.stderr).toBe(0);
      expect(emergency.stderr.split(note).length - 1).toBe(canWriteZstd ? 0 : 1);
      const keys = await readdir(path.join(repo, 'data'), { recursive: true });
      expect(keys.filter((k) => k.endsWith('.tar.gz')).length).toBe(canWriteZstd ? 0 : 2);
      expect((await drkit(['verify', 'all', '--repo', repo])).code).toBe(0);
    },
  );
});

describe('a config with ${VAR} for a source a command does not use', () => {
  const config = [
    'repository: ./repo',
    'sources:',
    '  - { name: data, type: files, path: ./tree }',
    '  - { name: cache, type: redis, url: "redis://:${DRKIT_TEST_UNSET_PASSWORD}@127.0.0.1:1/0" }',
  ].join('\n');

  it(
    'ad-hoc backups, snapshots and verify run without it; a backup of the config sources names the variable ' +
      'and the field',
    async () => {
      await writeFile(path.join(dir, 'drkit.config.yaml'), config);
      expect((await drkit(['init'], { cwd: dir })).code).toBe(0);
      const adHoc = await drkit(['backup', tree, '--repo', repo], { cwd: dir });
      expect(adHoc.stderr).not.toMatch(/CONFIG_ENV_MISSING/);
      expect(adHoc.code).toBe(0);
      expect((await drkit(['snapshots'], { cwd: dir })).code).toBe(0);
      expect((await drkit(['verify', 'all'], { cwd: dir })).code).toBe(0);
      const all = await drkit(['backup', '--json'], { cwd: dir });
      expect(all.code).toBe(1);
      const { error } = json(all.stdout);
      expect(error.code).toBe('CONFIG_ENV_MISSING');
      expect(error.message).toMatch(
        /drkit\.config\.yaml: sources\[1\]\.url: environment variable DRKIT_TEST_UNSET_PASSWORD is not set/,
      );
    },
  );

  it('a missing config file is not something `drkit init` creates', async () => {
    const r = await drkit(['snapshots', '--config', path.join(dir, 'nope.yaml'), '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    const { error } = json(r.stdout);
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.hint).toMatch(/`drkit init` creates a repository, not a config/);
  });
});
