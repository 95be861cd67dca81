import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { describeTree } from '@drkit/test-support';
import { drkit, initForNobody, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);

describe('drkit CLI', () => {
  it('inits, backs up, lists, verifies and restores a tree identical in content, type, mode and mtime', async () => {
    expect((await drkit(['init', '--repo', repo])).code).toBe(0);
    const b = await drkit(['backup', tree, '--repo', repo, '--json', '--tag', 'daily']);
    expect(b.code).toBe(0);
    const { id } = json(b.stdout);
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);

    const list = json((await drkit(['snapshots', '--json'], { env: { DRKIT_REPO: repo } })).stdout);
    expect(list).toEqual([
      expect.objectContaining({ id, tags: ['daily'], sources: ['tree'], time: expect.any(String) }),
    ]);

    const ls = await drkit(['ls', id.slice(0, 12), 'config/**', '--repo', repo]);
    expect(ls.stdout).toContain('-rw------- ');
    expect(ls.stdout).toContain('tree/config/secret.env');

    const v = await drkit(['verify', 'latest', '--repo', repo, '--json']);
    expect(v.code).toBe(0);
    expect(json(v.stdout).ok).toBe(true);

    const target = path.join(dir, 'restored');
    const r = await drkit(['restore', id, '--target', target, '--repo', repo]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });

  it('restores one source straight into the target, and prints a plan without writing on --dry-run', async () => {
    await drkit(['init', '--repo', repo]);
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `repository: ./repo\nsources:\n  - { name: config, type: files, path: ./tree/config }\n` +
        `  - { name: data, type: files, path: ./tree/data }\n`,
    );
    const b = await drkit(['backup', '--json'], { cwd: dir });
    expect(b.code).toBe(0);
    expect(json(b.stdout).sources.map((s: { name: string }) => s.name)).toEqual(['config', 'data']);
    const target = path.join(dir, 'only-config');
    const dry = await drkit(['restore', 'latest', '--source', 'config', '--target', target, '--dry-run'], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('secret.env');
    await expect(stat(target)).rejects.toThrow();
    expect(
      (await drkit(['restore', 'latest', '--source', 'config', '--target', target], { env: { DRKIT_CONFIG: cfg } }))
        .code,
    ).toBe(0);
    expect(await describeTree(target)).toEqual(await describeTree(path.join(tree, 'config')));
  });

  it(
    'restores --include across sources exactly as its --dry-run plan says, a source nothing matches included; ' +
      'if-changed replaces a file whose mode differs',
    async () => {
      await drkit(['init', '--repo', repo]);
      await writeFile(
        path.join(dir, 'drkit.config.yaml'),
        `repository: ./repo\nsources:\n  - { name: config, type: files, path: ./tree/config }\n` +
          `  - { name: logs, type: files, path: ./tree/bin }\n`,
      );
      expect((await drkit(['backup'], { cwd: dir })).code).toBe(0);
      const target = path.join(dir, 'T');
      const args = [
        'restore',
        'latest',
        '--source',
        'config',
        '--source',
        'logs',
        '--include',
        '*.json',
        '--target',
        target,
      ];
      const dry = await drkit([...args, '--dry-run', '--json'], { cwd: dir });
      expect(dry.code).toBe(0);
      const { plan } = json(dry.stdout);
      expect(plan.items.map((i: { path: string; action: string }) => [i.path, i.action])).toEqual([
        ['config', 'create'],
        ['config/app.json', 'create'],
      ]);
      expect((await drkit([...args, '--dry-run'], { cwd: dir })).stdout).toContain(
        'source logs -> logs/: nothing selected',
      );

      const r = await drkit([...args, '--json'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(json(r.stdout).written).toEqual(plan.toWrite);
      const source = await describeTree(path.join(tree, 'config'));
      const restored = await describeTree(target);
      expect(restored.map((e) => [e.path, e.type])).toEqual(
        plan.items.map((i: { path: string; type: string }) => [i.path, i.type]),
      );
      expect(restored.find((e) => e.path === 'config/app.json')).toEqual({
        ...source.find((e) => e.path === 'app.json'),
        path: 'config/app.json',
      });
      expect((await stat(path.join(target, 'config'))).mode & 0o7777).toBe(
        (await stat(path.join(tree, 'config'))).mode & 0o7777,
      );
      expect((await readdir(dir)).filter((n) => n.startsWith('.drkit-restore-'))).toEqual([]);

      // Metadata is part of "changed": same content, another mode.
      await chmod(path.join(target, 'config/app.json'), 0o600);
      const again = [...args, '--overwrite', 'if-changed'];
      expect((await drkit([...again, '--dry-run'], { cwd: dir })).stdout).toMatch(
        /replace +config\/app\.json {2}15 B {2}\(mode 0600 → 0644\)/,
      );
      expect((await drkit(again, { cwd: dir })).code).toBe(0);
      expect((await stat(path.join(target, 'config/app.json'))).mode & 0o7777).toBe(0o644);
    },
  );

  it('exits 3 with a partial snapshot when a file cannot be read, naming the file', async () => {
    // As root every file is readable, so the backup runs as nobody with real permissions.
    await initForNobody({ dir, repo, tree });
    await chmod(path.join(tree, 'config/secret.env'), 0o000);
    await chmod(path.join(tree, 'config'), 0o777);
    const b = await drkit(['backup', tree, '--repo', repo, '--json'], { unprivileged: true });
    expect(b.code).toBe(3);
    const out = json(b.stdout);
    expect(out.status).toBe('partial');
    // secret.env is mode 000 and empty-dir is root's 0700: both are named, nothing is skipped silently.
    expect(out.errors).toEqual([
      expect.objectContaining({ path: 'config/secret.env', message: expect.stringContaining('permission denied') }),
      expect.objectContaining({ path: 'empty-dir', message: expect.stringContaining('permission denied') }),
    ]);
  });

  it(
    'backs up a file again once it is readable: the ' + 'incremental after a partial restores its real content',
    async () => {
      await initForNobody({ dir, repo, tree });
      await chmod(path.join(tree, 'empty-dir'), 0o755);
      const secret = path.join(tree, 'config/secret.env');
      await chmod(secret, 0o000);
      await chmod(path.join(tree, 'config'), 0o777);
      const partial = await drkit(['backup', tree, '--repo', repo, '--json'], { unprivileged: true });
      expect(partial.code).toBe(3);
      expect(json(partial.stdout).errors).toEqual([expect.objectContaining({ path: 'config/secret.env' })]);
      await chmod(secret, 0o644);
      const next = await drkit(['backup', tree, '--repo', repo, '--json'], { unprivileged: true });
      expect(next.code).toBe(0);
      expect(json(next.stdout)).toMatchObject({
        kind: 'incremental',
        parent: json(partial.stdout).id,
        status: 'complete',
      });
      const target = path.join(dir, 'restored');
      expect((await drkit(['restore', 'latest', '--source', 'tree', '--target', target, '--repo', repo])).code).toBe(0);
      expect(await readFile(path.join(target, 'config/secret.env'), 'utf8')).toBe('TOKEN=abc\n');
      expect(await describeTree(target)).toEqual(await describeTree(tree));
    },
  );

  it(
    'refuses numbers and durations that are not, with exit code 2 and the flag named, before touching the ' +
      'repository',
    async () => {
      await drkit(['init', '--repo', repo]);
      await drkit(['backup', tree, '--repo', repo]);
      for (const [args, flag] of [
        [['forget', '--keep-last', 'abc'], '--keep-last'],
        [['forget', '--keep-daily', '-1'], '--keep-daily'],
        [['forget', '--keep-weekly', '1.5'], '--keep-weekly'],
        [['forget', '--keep-last', '1', '--keep-within', '3 days'], '--keep-within'],
        [['forget', '--keep-last', '1', '--wait', 'soon'], '--wait'],
        [['backup', tree, '--wait', '5x'], '--wait'],
        [['redis', 'revoke-tokens', '--redis', 'redis://127.0.0.1:1', '--db', 'one'], '--db'],
      ] as const) {
        const r = await drkit([...args, '--repo', repo]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain(flag);
        expect(r.stderr).toMatch(/Expected a (whole number|duration)/);
      }
      expect(json((await drkit(['snapshots', '--json', '--repo', repo])).stdout)).toHaveLength(1);
      const j = await drkit(['forget', '--keep-last', 'abc', '--json', '--repo', repo]);
      expect(j.code).toBe(2);
      expect(json(j.stdout).error).toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining("'abc'") });
      // Environment knobs go through the same parser.
      const env = await drkit(['snapshots', '--repo', 's3://bucket/x'], { env: { DRKIT_S3_MAX_ATTEMPTS: 'many' } });
      expect(env.code).toBe(2);
      expect(env.stderr).toContain('DRKIT_S3_MAX_ATTEMPTS is "many"');
    },
  );

  it('backup --wait waits for a forget or prune holding the repository; --wait 0s fails at once', async () => {
    await drkit(['init', '--repo', repo]);
    const held = await (await Repository.open(new LocalStore(repo))).lock({
      exclusive: true,
      purpose: 'forget --prune',
    });
    try {
      const now = await drkit(['backup', tree, '--repo', repo, '--wait', '0s']);
      expect(now.code).toBe(1);
      expect(now.stderr).toContain('REPO_LOCKED');
      // The lock is released once the backup says it waits for it: it did wait, and said for whom.
      const waited = await drkit(['backup', tree, '--repo', repo, '--wait', '2m', '--json'], {
        onStderrLine: (line) => {
          if (line.startsWith('note: waiting up to 120 s for the lock of "forget --prune" (pid ')) void held.release();
        },
      });
      expect(waited.code, waited.stderr).toBe(0);
      expect(json(waited.stdout).kind).toBe('full');
    } finally {
      await held.release().catch(() => {});
    }
    expect((await drkit(['backup', '--help'])).stdout).toMatch(/--wait <duration>[\s\S]*default: 5m/);
  });

  it(
    'leaves no snapshot after a backup killed with SIGKILL before its commit; earlier snapshots verify; the ' +
      'next backup succeeds and removes what the killed one wrote',
    async () => {
      await drkit(['init', '--repo', repo]);
      const first = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
      const killed = await drkit(['backup', tree, '--repo', repo], {
        env: { DRKIT_FAILPOINTS: 'commit.before-metadata=kill' },
      });
      expect(killed.signal).toBe('SIGKILL');
      const list = json((await drkit(['snapshots', '--json', '--repo', repo])).stdout);
      expect(list.map((s: { id: string }) => s.id)).toEqual([first]);
      expect(await readdir(path.join(repo, 'data'))).toHaveLength(2);
      const next = await drkit(['backup', tree, '--repo', repo, '--json']);
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(/no longer running; removed the 2 blob\(s\) of its unfinished snapshot \S+/);
      expect((await readdir(path.join(repo, 'data'))).sort()).toEqual([first, json(next.stdout).id].sort());
      expect((await drkit(['verify', 'all', '--repo', repo])).code).toBe(0);
    },
  );

  it('names the file, key path and fix for a config with an unknown key or a wrong type', async () => {
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `repository: ./repo\nsources:\n  - name: data\n    type: files\n    path: ./tree\n` +
        `    exlude: ["*.tmp"]\nretention:\n  keep_daily: seven\n`,
    );
    const r = await drkit(['backup', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain(cfg);
    expect(r.stderr).toMatch(/sources\[0\].*unknown key "exlude".*Did you mean "exclude"/);
    expect(r.stderr).toMatch(/retention\.keep_daily.*Fix:/);
  });

  it('explains a missing repository and an unknown snapshot with stable codes', async () => {
    const r = await drkit(['snapshots', '--repo', path.join(dir, 'nope'), '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error.code).toBe('REPO_NOT_FOUND');
    expect(r.stderr).toContain('drkit init');
    await drkit(['init', '--repo', repo]);
    const v = await drkit(['restore', 'deadbeef', '--target', path.join(dir, 'x'), '--repo', repo]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('REPO_SNAPSHOT_NOT_FOUND');
    const u = await drkit(['backup', '--repo', repo]);
    expect(u.code).toBe(2);
  });
});
