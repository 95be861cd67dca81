import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);

describe('drkit with a damaged or shared repository', () => {
  it(
    'lists the other snapshots around damaged metadata with a warning on stderr; verify all fails and copy ' +
      'all exits 1, naming it',
    async () => {
      await drkit(['init', '--repo', repo]);
      const good = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
      const bad = json((await drkit(['backup', tree, '--repo', repo, '--json', '--full'])).stdout).id;
      await writeFile(path.join(repo, 'snapshots', `${bad}.json`), '{"format": 1, "id": "');

      const list = await drkit(['snapshots', '--json', '--repo', repo]);
      expect(list.code).toBe(0);
      expect(json(list.stdout).map((s: { id: string }) => s.id)).toEqual([good]);
      expect(list.stderr).toMatch(new RegExp(`warning: snapshot ${bad} is not listed: .*not valid JSON`));
      expect((await drkit(['restore', 'latest', '--target', path.join(dir, 'r'), '--repo', repo])).code).toBe(0);

      const v = await drkit(['verify', 'all', '--repo', repo]);
      expect(v.code).toBe(4);
      expect(v.stdout).toContain(`OK     ${good}`);
      expect(v.stdout).toContain(`FAILED ${bad} (metadata unreadable)`);
      expect(v.stderr).toContain('bad-metadata:');

      // copy all copies what it can, names what it cannot, and says so in its exit code.
      await drkit(['init', '--repo', path.join(dir, 'offsite')]);
      const c = await drkit(['copy', 'all', '--repo', repo, '--to', path.join(dir, 'offsite')]);
      expect(c.code).toBe(1);
      expect(c.stdout).toContain(`copied  ${good}`);
      expect(c.stderr).toContain(`not copied: ${bad}`);
    },
  );

  it(
    'verifies, restores and copies from a repository it may only read, without a lock and with a warning; ' +
      'tagging it fails cleanly',
    async () => {
      await drkit(['init', '--repo', repo]);
      const { id } = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
      // Read-only for everyone; as root the CLI runs as nobody, so the permissions apply.
      await chmod(dir, 0o755);
      const setModes = async (p: string, dirMode: number, fileMode: number): Promise<void> => {
        const isDir = (await stat(p)).isDirectory();
        if (isDir) for (const name of await readdir(p)) await setModes(path.join(p, name), dirMode, fileMode);
        await chmod(p, isDir ? dirMode : fileMode);
      };
      await setModes(repo, 0o555, 0o444);
      try {
        const v = await drkit(['verify', 'latest', '--repo', repo], { unprivileged: true });
        expect(v.stdout).toContain(`OK     ${id}`);
        expect(v.stderr).toContain('warning: the repository cannot be locked, so verify runs without a lock');
        expect(v.code).toBe(0);
        const out = path.join(dir, 'out');
        await mkdir(out, { mode: 0o777 });
        await chmod(out, 0o777);
        const r = await drkit(['restore', 'latest', '--target', path.join(out, 'r'), '--repo', repo], {
          unprivileged: true,
        });
        expect(r.stderr).toContain('warning: the repository cannot be locked, so restore runs without a lock');
        expect(r.code).toBe(0);
        await drkit(['init', '--repo', path.join(out, 'back')], { unprivileged: true });
        const c = await drkit(['copy', 'latest', '--repo', repo, '--to', path.join(out, 'back')], {
          unprivileged: true,
        });
        expect(c.stderr).toContain('warning: the repository cannot be locked, so copy runs without a lock');
        expect(c.stdout).toContain(`copied  ${id}`);
        expect(c.code).toBe(0);
        const t = await drkit(['tag', id, '--add', 'x', '--repo', repo], { unprivileged: true });
        expect(t.code).toBe(1);
        expect(t.stderr).toContain('STORAGE_IO');
        expect(await readdir(repo)).not.toContain('locks');
      } finally {
        await setModes(repo, 0o755, 0o644);
      }
    },
  );
});
