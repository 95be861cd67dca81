// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingServer, type RunningRedis, startRecordingServer, startRedis } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
useSampleWorkspace((w) => ({ dir, repo } = w));
let redis: RunningRedis;
let hook: RecordingServer;
beforeAll(async () => {
  [redis, hook] = await Promise.all([startRedis(), startRecordingServer()]);
});
afterAll(async () => {
  await Promise.all([redis.stop(), hook.stop()]);
});

const json = (s: string) => JSON.parse(s);

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function writeConfig(channels: string): Promise<string> {
  const file = path.join(dir, 'drkit.config.yaml');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(
    file,
    [
      `repository: ${repo}`,
      'sources:',
      '  - { name: data, type: files, path: ./data }',
      '  - { name: cache, type: redis, url: "${CACHE_URL}" }',
      'notify:',
      '  channels:',
      channels,
    ].join('\n'),
  );
  return file;
}

describe('drkit config check', () => {
  it(
    'names each problem (an unset variable, an unreachable channel host) and exits 1; all well: exit 0, ' +
      'nothing sent',
    async () => {
      await drkit(['init', '--repo', repo]);
      const down = await closedPort();
      const file = await writeConfig(
        `    hook: { type: webhook, url: "${hook.url}/drkit" }\n    ops-slack: { type: slack, webhook_url: ` +
          `"http://127.0.0.1:${down}/services/T/B/secret" }\n`,
      );
      const bad = await drkit(['config', 'check', '--connect', '--config', file, '--json'], {
        env: { CACHE_URL: undefined },
      });
      expect(bad.code).toBe(1);
      const result = json(bad.stdout);
      expect(result.ok).toBe(false);
      const failed = Object.fromEntries(
        result.checks
          .filter((c: { ok: boolean }) => !c.ok)
          .map((c: { what: string; error: { code: string; message: string } }) => [c.what, c.error]),
      );
      expect(failed['source cache']).toMatchObject({
        code: 'CONFIG_ENV_MISSING',
        message: expect.stringContaining('CACHE_URL'),
      });
      expect(failed['connect channel ops-slack']).toMatchObject({
        code: 'CLI_UNREACHABLE',
        message: expect.stringContaining(`127.0.0.1:${down} cannot be reached: ECONNREFUSED`),
      });
      expect(bad.stdout).not.toContain('secret');
      expect(result.checks).toContainEqual(expect.objectContaining({ what: 'connect channel hook', ok: true }));
      expect(result.checks).toContainEqual(expect.objectContaining({ what: 'connect repository', ok: true }));

      const fine = await writeConfig(`    hook: { type: webhook, url: "${hook.url}/drkit" }\n`);
      const good = await drkit(['config', 'check', '--connect', '--config', fine], { env: { CACHE_URL: redis.url } });
      expect(good.stdout).toMatch(/^ok +connect source cache: redis:\/\/127\.0\.0\.1:\d+$/m);
      expect(good.stdout).toMatch(/all \d+ checks passed\n$/);
      expect(good.code).toBe(0);
      expect(hook.requests).toEqual([]);
    },
  );

  it('without --connect it reaches nothing; a folder that is missing fails it', async () => {
    const file = await writeConfig('    hook: { type: webhook, url: "http://192.0.2.1:9/never" }\n');
    await writeFile(file, `repository: ${repo}\nsources:\n  - { name: data, type: files, path: ./not-there }\n`);
    const r = await drkit(['config', 'check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      // long-line: a regex over the whole message, as the user reads it
      /^FAIL {2}source data: .*not-there cannot be read \(ENOENT\): a backup would be partial\. \[BACKUP_SOURCE_MISSING\]/m,
    );
    expect(r.stdout).not.toMatch(/connect/);
  });
});
