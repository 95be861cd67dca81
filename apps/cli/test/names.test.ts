import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTree, setTimes, tempDir } from '@drkit/test-support';
import { drkit, MAIN } from './cli.js';

// The name audit (the "Trust" issue): every byte a POSIX name may hold survives backup, ls, diff,
// restore, include globs and GNU tar, and reaches a terminal escaped.

/** A name as bytes (one latin1 character per byte) and as drkit shows it in JSON (docs/FORMAT.md, "File names"). */
interface Name {
  bytes: string;
  json: string;
}
const same = (s: string): Name => ({ bytes: s, json: s });
const NAMES: Name[] = [
  same('new\nline'),
  same('cr\rname'),
  { bytes: 'bad-\xff', json: 'bad-\uDCFF' },
  { bytes: 'lone-\xe9-x', json: 'lone-\uDCE9-x' },
  { bytes: 'real-\xef\xbf\xbd', json: 'real-\uFFFD' },
  { bytes: 'caf\xc3\xa9', json: 'café' },
  same('n'.repeat(255)),
  same('-dash'),
  same('back\\slash'),
  same('ctl-\x01\x07\x7f'),
  same('esc-\x1b[31mred\x1b[0m'),
  { bytes: 'nel-\xc2\x85', json: 'nel-\u0085' }, // a C1 control character, valid UTF-8
];
const BAD_DIR: Name = { bytes: 'dir-\xfe', json: 'dir-\uDCFE' };
/** 19 folders of 199 bytes and a file of 200: a relative path of exactly 4,000 bytes. */
const DEEP =
  `${Array.from({ length: 19 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(197)}`).join('/')}/` +
  `${'f'.repeat(200)}`;

const bytesOf = (latin1: string) => Buffer.from(latin1, 'latin1');
const json = (s: string) => JSON.parse(s);

let dir: string;
let cleanup: () => Promise<void>;
let src: string;
let repo: string;
let first: { id: string };

/**
 * The tree: each name as a file holding its own bytes, a link to
 * each, a folder whose name is not UTF-8, and the 4,000-byte path.
 */
async function makeTree(root: string): Promise<void> {
  const at = (latin1: string) => Buffer.concat([Buffer.from(`${root}/`), bytesOf(latin1)]);
  await mkdir(at(BAD_DIR.bytes), { recursive: true });
  await writeFile(at(`${BAD_DIR.bytes}/inner`), 'inner\n');
  await mkdir(path.join(root, path.dirname(DEEP)), { recursive: true });
  await writeFile(path.join(root, DEEP), 'deep\n');
  for (const [i, n] of NAMES.entries()) {
    await writeFile(at(n.bytes), bytesOf(n.bytes));
    await symlink(bytesOf(n.bytes), at(`to-${String(i).padStart(2, '0')}`));
  }
  await symlink(DEEP, at('to-deep'));
  await setTimes(root, 1_700_000_000); // whole seconds, which is what tar keeps
}

/** Every path the tree holds, as drkit's JSON names them. */
function expectedPaths(): string[] {
  const deepFolders = DEEP.split('/')
    .slice(0, -1)
    .map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  return [
    ...NAMES.map((n) => n.json),
    ...NAMES.map((_, i) => `to-${String(i).padStart(2, '0')}`),
    'to-deep',
    BAD_DIR.json,
    `${BAD_DIR.json}/inner`,
    ...deepFolders,
    DEEP,
  ].sort();
}

/** The CLI with stdout as bytes, as a pipe gets it. */
function drkitBytes(args: string[]): Buffer {
  return spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, DRKIT_REPO: undefined } }).stdout;
}

/** The CLI on a pseudo-terminal (util-linux `script`), so stdout is a TTY. */
function drkitOnTty(args: string[]): string {
  const command = [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' ');
  return spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'latin1', timeout: 60_000 }).stdout;
}

/** No raw control character reaches the terminal (script turns \n into \r\n). */
function expectNoRawControls(tty: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for those characters
  expect(tty).not.toMatch(/[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/);
}

beforeAll(async () => {
  // Short: the 4,000-byte path plus the restore's staging folder must stay under PATH_MAX.
  ({ dir, cleanup } = await tempDir('dn-'));
  src = path.join(dir, 'src');
  repo = path.join(dir, 'repo');
  await makeTree(src);
  expect((await drkit(['init', '--repo', repo])).code).toBe(0);
  const backup = await drkit(['backup', src, '--repo', repo, '--json']);
  expect(backup.code, backup.stderr).toBe(0);
  first = json(backup.stdout);
});
afterAll(() => cleanup());

describe('file names are kept byte-exact', () => {
  it('backs up every name, with nothing reported and nothing missing', async () => {
    expect(first).toMatchObject({ status: 'complete', errors: [], warnings: [] });
    expect(first).toMatchObject({
      sources: [{ name: 'src', files: NAMES.length + 2, symlinks: NAMES.length + 1, dirs: 20 }],
    });
    const listed = json((await drkit(['ls', 'latest', '--repo', repo, '--json'])).stdout) as {
      path: string;
      linkTarget?: string;
    }[];
    expect(listed.map((e) => e.path).sort()).toEqual(expectedPaths());
    const links = Object.fromEntries(
      listed.filter((e) => e.linkTarget !== undefined).map((e) => [e.path, e.linkTarget]),
    );
    for (const [i, n] of NAMES.entries()) expect(links[`to-${String(i).padStart(2, '0')}`]).toBe(n.json);
    expect(links['to-deep']).toBe(DEEP);
  });

  it('ls prints the exact bytes into a pipe, and escapes them on a terminal', () => {
    const piped = drkitBytes(['ls', 'latest', '--repo', repo]);
    for (const n of NAMES) {
      expect(piped.includes(bytesOf(` src/${n.bytes}\n`)), JSON.stringify(n.json)).toBe(true);
      expect(piped.includes(bytesOf(` -> ${n.bytes}\n`)), JSON.stringify(n.json)).toBe(true);
    }
    const tty = drkitOnTty(['ls', 'latest', '--repo', repo]);
    for (const shown of [
      'src/new\\nline',
      'src/cr\\rname',
      'src/bad-\\377',
      'src/lone-\\351-x',
      'src/back\\\\slash',
      'src/ctl-\\001\\a\\177',
      'src/esc-\\033[31mred\\033[0m',
      'src/nel-\\302\\205',
      '-> bad-\\377',
      'src/dir-\\376/inner',
    ])
      expect(tty).toContain(shown);
    expect(tty).toContain(Buffer.from('src/real-\uFFFD').toString('latin1')); // a real U+FFFD is a printable character
    expectNoRawControls(tty);
    expect(tty).not.toContain('\xff');
  });

  it('restore --dry-run lists names as ls does: exact into a pipe, escaped on a terminal', () => {
    const args = [
      ...'restore latest --source src --dry-run --repo'.split(' '),
      repo,
      '--target',
      path.join(dir, 'dry'),
    ];
    const piped = drkitBytes(args);
    for (const n of NAMES) expect(piped.includes(bytesOf(`  create  ${n.bytes}  `)), JSON.stringify(n.json)).toBe(true);
    const tty = drkitOnTty(args);
    for (const shown of ['new\\nline', 'cr\\rname', 'bad-\\377', 'back\\\\slash', 'esc-\\033[31mred\\033[0m'])
      expect(tty).toContain(`  create  ${shown}  `);
    // One line per entry: a name's newline never starts a line of its own (script turns \n into \r\n).
    expect(tty.split('\r\n').filter((line) => line.startsWith('line'))).toEqual([]);
    expectNoRawControls(tty);
  });

  it('ls globs match names with newlines and bytes that are not UTF-8', async () => {
    const listed = json(
      (await drkit(['ls', 'latest', 'new?line', 'bad-*', 'dir-?/*', '--repo', repo, '--json'])).stdout,
    ) as { path: string }[];
    expect(listed.map((e) => e.path)).toEqual(['bad-\uDCFF', `${BAD_DIR.json}/inner`, 'new\nline']);
  });

  it('restores everything byte-exact, and verify agrees', async () => {
    const target = path.join(dir, 'all');
    const r = await drkit(['restore', 'latest', '--repo', repo, '--source', 'src', '--target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(await describeTree(target, { exact: true })).toEqual(await describeTree(src, { exact: true }));
    expect(json((await drkit(['verify', 'latest', '--repo', repo, '--json'])).stdout).ok).toBe(true);
  });

  it('restores over such names: each is found in the target, compared, and replaced in place', async () => {
    const target = path.join(dir, 'all'); // restored by the test above
    for (const [policy, action] of [
      ['if-changed', 'skip-unchanged'],
      ['always', 'replace'],
    ]) {
      const plan = json(
        (
          await drkit([
            'restore',
            'latest',
            '--repo',
            repo,
            '--source',
            'src',
            '--target',
            target,
            '--overwrite',
            policy!,
            '--dry-run',
            '--json',
          ])
        ).stdout,
      );
      expect(new Set(plan.plan.items.map((i: { action: string }) => i.action))).toEqual(new Set([action]));
      expect(
        (
          await drkit([
            'restore',
            'latest',
            '--repo',
            repo,
            '--source',
            'src',
            '--target',
            target,
            '--overwrite',
            policy!,
          ])
        ).code,
      ).toBe(0);
      expect(await describeTree(target, { exact: true })).toEqual(await describeTree(src, { exact: true }));
    }
    expect((await readdir(dir)).filter((n) => n.startsWith('.drkit-restore'))).toEqual([]);
  });

  it('restores with --include globs that match such names, and only them', async () => {
    const target = path.join(dir, 'some');
    const globs = [
      'new?line',
      'cr*',
      'bad-*',
      'lone-?-x',
      'esc-*',
      '-dash',
      'back\\\\slash',
      `${'n'.repeat(255)}`,
      'dir-?',
      '00*/**/f*',
    ];
    const r = await drkit([
      'restore',
      'latest',
      '--repo',
      repo,
      '--source',
      'src',
      '--target',
      target,
      ...globs.flatMap((g) => [`--include=${g}`]),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const chosen = (p: string) =>
      ['new\n', 'cr\r', 'bad-', 'lone-', 'esc-', '-dash', 'back\\', 'nnnn', BAD_DIR.bytes, '00'].some((prefix) =>
        p.startsWith(prefix),
      );
    const whole = await describeTree(src, { exact: true });
    expect(await describeTree(target, { exact: true })).toEqual(whole.filter((e) => chosen(e.path)));
  });

  it('GNU tar extracts the same bytes from the archive', async () => {
    const target = path.join(dir, 'tar');
    await mkdir(target);
    const data = path.join(repo, 'data', first.id);
    const [archive] = (await readdir(data)).filter((n) => /^src\.tar\.(zst|gz)$/.test(n));
    // GNU tar ignores hdrcharset (it keeps the bytes anyway) and would say so once per name.
    execFileSync('tar', ['--warning=no-unknown-keyword', '-xpf', path.join(data, archive!), '-C', target], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    expect(await describeTree(target, { exact: true })).toEqual(await describeTree(src, { exact: true }));
  });

  it('an incremental recognises them as unchanged, and diff names the one that changed', async () => {
    await writeFile(Buffer.concat([Buffer.from(`${src}/`), bytesOf('bad-\xff')]), 'changed\n');
    const inc = json((await drkit(['backup', src, '--repo', repo, '--json'])).stdout);
    expect(inc).toMatchObject({ kind: 'incremental', status: 'complete', read: { files: 1 } });
    const diff = json((await drkit(['diff', first.id, inc.id, '--repo', repo, '--json'])).stdout);
    expect(diff).toMatchObject({ added: [], removed: [], changed: [{ path: 'bad-\uDCFF', what: ['content'] }] });
    expect(drkitBytes(['diff', first.id, inc.id, '--repo', repo]).includes(bytesOf('M src/bad-\xff '))).toBe(true);
    expect(drkitOnTty(['diff', first.id, inc.id, '--repo', repo])).toContain('M src/bad-\\377 ');
    const target = path.join(dir, 'inc');
    expect((await drkit(['restore', 'latest', '--repo', repo, '--source', 'src', '--target', target])).code).toBe(0);
    expect(await describeTree(target, { exact: true })).toEqual(await describeTree(src, { exact: true }));
  });

  it("an encrypted repository's incrementals find them in this host's change cache", async () => {
    const enc = path.join(dir, 'enc');
    const key = path.join(dir, 'key.txt');
    const cacheDir = path.join(dir, 'cache');
    expect((await drkit(['init', '--repo', enc, '--generate-key', key])).code).toBe(0);
    const full = json((await drkit(['backup', src, '--repo', enc, '--cache-dir', cacheDir, '--json'])).stdout);
    const inc = json((await drkit(['backup', src, '--repo', enc, '--cache-dir', cacheDir, '--json'])).stdout);
    expect(full).toMatchObject({ kind: 'full', status: 'complete' });
    expect(inc).toMatchObject({ kind: 'incremental', status: 'complete', read: { files: 0 } });
    const target = path.join(dir, 'enc-restored');
    expect(
      (await drkit(['restore', 'latest', '--repo', enc, '--identity', key, '--source', 'src', '--target', target]))
        .code,
    ).toBe(0);
    expect(await describeTree(target, { exact: true })).toEqual(await describeTree(src, { exact: true }));
  });

  it('a path longer than the kernel accepts is a reported error and a partial backup, never silence', async () => {
    const root = path.join(dir, 'too-long');
    const segment = 's'.repeat(200);
    try {
      // One level at a time (bash: dash's cd refuses), so no single call sees the whole path.
      execFileSync('bash', [
        '-ec',
        `mkdir "$1"; cd "$1"; echo a > shallow; for i in $(seq 21); do mkdir ${segment}; cd ${segment}; ` +
          `done; echo b > leaf`,
        'bash',
        root,
      ]);
      const r = await drkit(['backup', root, '--repo', repo, '--json']);
      expect(r.code, r.stderr).toBe(3);
      const out = json(r.stdout);
      expect(out).toMatchObject({ status: 'partial', sources: [{ files: 1 }] });
      expect(out.errors).toEqual([
        {
          kind: 'unreadable',
          source: 'too-long',
          path: expect.stringMatching(/^(s{200}\/)+s{200}$/),
          message: expect.stringMatching(/longer than the kernel accepts|a restore can write at most 4000/),
        },
      ]);
      // drkit stores at most 4,000 bytes below the root (FORMAT.md, "What readers accept"), so it reports this path
      // before the kernel would refuse it.
      expect(out.errors[0].path.length).toBeGreaterThan(4000);
    } finally {
      execFileSync('rm', ['-rf', root]); // deeper than Node's rm can reach
    }
  });
});

describe('verify names damaged and lost files as ls does', () => {
  it('prints their paths exact into a pipe and escaped on a terminal, one line each', async () => {
    const t = await tempDir('dv-');
    try {
      const tree = path.join(t.dir, 'tree');
      const damagedRepo = path.join(t.dir, 'repo');
      await mkdir(tree);
      const at = (latin1: string) => Buffer.concat([Buffer.from(`${tree}/`), bytesOf(latin1)]);
      // Random, so the middle of the archive is inside this file's content.
      await writeFile(at('new\nline'), randomBytes(1_100_000));
      await writeFile(at('zz-esc-\x1b[31mred'), 'after the damage\n');
      expect((await drkit(['init', '--repo', damagedRepo, '--compression', 'gzip'])).code).toBe(0);
      expect((await drkit(['backup', tree, '--repo', damagedRepo])).code).toBe(0);
      const data = path.join(damagedRepo, 'data', (await readdir(path.join(damagedRepo, 'data')))[0]!);
      const fh = await open(path.join(data, 'tree.tar.gz'), 'r+');
      await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, Math.floor((await fh.stat()).size / 2));
      await fh.close();

      const args = ['verify', 'latest', '--repo', damagedRepo];
      const piped = await drkit(args);
      expect(piped.code).toBe(4);
      expect(piped.stderr).toContain('  lost: new\nline: ');
      const tty = drkitOnTty(args);
      expect(tty).toContain('  lost: new\\nline: ');
      expect(tty).toMatch(/corrupt-archive new\\nline: [^\r\n]*"new\\nline"/);
      // A name's newline never starts a line of its own (script turns \n into \r\n).
      expect(tty.split('\r\n').filter((line) => line.startsWith('line'))).toEqual([]);
      expectNoRawControls(tty);
    } finally {
      await t.cleanup();
    }
  });
});
