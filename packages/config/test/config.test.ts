// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDrkitError } from '@drkit/errors';
import {
  ConfigError,
  ConfigErrorCode,
  configSchema,
  type DrkitConfig,
  type FileSourceConfig,
  parseConfigText,
  parseDuration,
  readConfig,
  validateConfig,
} from '@drkit/config';

const fileSource = (config: DrkitConfig, i: number) => config.sources[i] as FileSourceConfig;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drkit-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
  return file;
}

/** The ConfigError that `run` throws (sync or async). */
async function caught(run: () => unknown): Promise<ConfigError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const FULL_YAML = `
repository: /var/backups/drkit
compression: zstd
sources:
  - name: data
    type: files
    path: ./data
    include: ["**/*.json", "**/*.jsonl"]
    exclude: ["tmp/**"]
retention:
  keep_last: 7
  keep_hourly: 24
  keep_daily: 7
  keep_weekly: 4
  keep_monthly: 12
  keep_yearly: 1
  keep_within: 2w
  keep_tags: [clean]
validation:
  jsonl: ["logs/*.jsonl"]
`;

describe('loading valid configs', () => {
  it('reads a full YAML config and resolves source paths against its folder', async () => {
    const config = await readConfig(await write('drkit.config.yaml', FULL_YAML));
    expect(config).toEqual({
      repository: '/var/backups/drkit',
      compression: 'zstd',
      sources: [
        {
          name: 'data',
          type: 'files',
          path: join(dir, 'data'),
          include: ['**/*.json', '**/*.jsonl'],
          exclude: ['tmp/**'],
        },
      ],
      retention: {
        keep_last: 7,
        keep_hourly: 24,
        keep_daily: 7,
        keep_weekly: 4,
        keep_monthly: 12,
        keep_yearly: 1,
        keep_within: '2w',
        keep_tags: ['clean'],
      },
      backup: { rehash: false },
      validation: { jsonl: ['logs/*.jsonl'] },
    });
  });

  it('reads JSON too', async () => {
    const json = JSON.stringify(
      { repository: 'file:///srv/repo', sources: [{ name: 'db', type: 'files', path: 'db', exclude: ['*.tmp'] }] },
      null,
      '\t',
    );
    const config = await readConfig(await write('drkit.config.json', json));
    expect(config.repository).toBe('file:///srv/repo');
    expect(config.sources).toEqual([
      { name: 'db', type: 'files', path: join(dir, 'db'), include: ['**'], exclude: ['*.tmp'] },
    ]);
  });

  it('fills defaults', async () => {
    const config = await readConfig(
      await write('drkit.config.yaml', 'sources:\n  - { name: data, type: files, path: /data }\n'),
    );
    expect(config).toEqual({
      compression: 'auto',
      sources: [{ name: 'data', type: 'files', path: '/data', include: ['**'], exclude: [] }],
      retention: { keep_within: '30d' },
      backup: { rehash: false },
      validation: { jsonl: ['**/*.jsonl'] },
    });
    // Each config gets its own default arrays.
    const again = validateConfig({ sources: [{ name: 'data', type: 'files', path: '/data' }] });
    expect(fileSource(again, 0).include).not.toBe(fileSource(config, 0).include);
  });

  it('resolves relative paths against the config file folder, not the working directory', async () => {
    const file = await write(
      'etc/drkit.config.yaml',
      'repository: ../repo\nsources:\n  - { name: a, type: files, path: ../data }\n' +
        '  - { name: b, type: files, path: /abs }\n',
    );
    const config = await readConfig(relative(process.cwd(), file));
    expect(config.repository).toBe(join(dir, 'repo'));
    expect([fileSource(config, 0).path, fileSource(config, 1).path]).toEqual([join(dir, 'data'), '/abs']);
  });

  it('validateConfig is pure and takes the base folder as an option; URLs are left alone', () => {
    const config = validateConfig(
      { repository: 's3://bucket/drkit', sources: [{ name: 'a', type: 'files', path: 'data' }] },
      { baseDir: '/srv' },
    );
    expect(config.repository).toBe('s3://bucket/drkit');
    expect(fileSource(config, 0).path).toBe('/srv/data');
  });

  it('exports the zod schema', () => {
    expect(configSchema.safeParse({ sources: [{ name: 'a', type: 'files', path: 'x' }] }).success).toBe(true);
  });
});

describe('environment variables', () => {
  const text =
    'repository: ${DRKIT_REPO}\nsources:\n  - name: ${SOURCE_NAME:-data}\n    type: files\n' +
    '    path: ${DATA_ROOT:-/srv}/data\n';

  it('interpolates set variables and falls back to defaults when unset or empty', () => {
    const config = parseConfigText(text, 'drkit.config.yaml', { DRKIT_REPO: '/backups', DATA_ROOT: '' });
    expect(config.repository).toBe('/backups');
    expect(config.sources[0]).toMatchObject({ name: 'data', path: '/srv/data' });
  });

  it('passes env through readConfig', async () => {
    const config = await readConfig(await write('drkit.config.yaml', text), {
      env: { DRKIT_REPO: '/b', SOURCE_NAME: 'web' },
    });
    expect(config.sources[0]!.name).toBe('web');
  });

  it('reports a missing variable with file, key path and name when the value that holds it is read', async () => {
    const config = parseConfigText(
      'repository: ${DRKIT_REPO}\nsources:\n  - { name: a, type: files, path: "${ROOT}/x", exclude: ["${SKIP}"] }\n',
      'drkit.config.yaml',
      {},
    );
    const repo = await caught(() => config.repository);
    expect(repo.code).toBe(ConfigErrorCode.ENV_MISSING);
    expect(repo.message).toBe(
      'drkit.config.yaml: repository: environment variable DRKIT_REPO is not set. Fix: set it (export ' +
        'DRKIT_REPO=...) or give a default: ${DRKIT_REPO:-value}.',
    );
    const source = await caught(() => fileSource(config, 0).path);
    expect(source.code).toBe(ConfigErrorCode.ENV_MISSING);
    expect(source.message).toBe(
      [
        'drkit.config.yaml: sources[0].path: environment variable ROOT is not set. Fix: set it (export ' +
          'ROOT=...) or give a default: ${ROOT:-value}.',
        'drkit.config.yaml: sources[0].exclude[0]: environment variable SKIP is not set. Fix: set it ' +
          '(export SKIP=...) or give a default: ${SKIP:-value}.',
      ].join('\n'),
    );
    expect(source.details?.issues).toHaveLength(2);
    expect(await caught(() => ({ ...config.sources[0] }))).toBe(source); // a copy of the source is a use of it
  });

  it(
    'fails only the part that needs an unset variable: other ' + 'sources, the repository and the settings stay usable',
    () => {
      const yaml = [
        'repository: /backups',
        'retention: { keep_daily: 3 }',
        'sources:',
        '  - { name: data, type: files, path: /srv/data }',
        '  - { name: cache, type: redis, url: "${REDIS_URL}" }',
        '  - { name: sessions, type: redis, url: "redis://:${REDIS_PASSWORD}@cache:6379" }',
      ].join('\n');
      const config = parseConfigText(yaml, 'drkit.config.yaml', {});
      expect(config.repository).toBe('/backups');
      expect(config.retention.keep_daily).toBe(3);
      expect(fileSource(config, 0).path).toBe('/srv/data');
      // Names and types stay readable, so a command can find the source it wants among them.
      expect(config.sources.map((s) => [s.name, s.type])).toEqual([
        ['data', 'files'],
        ['cache', 'redis'],
        ['sessions', 'redis'],
      ]);
      expect(() => (config.sources[1] as { url?: string }).url).toThrow(
        /sources\[1\]\.url: environment variable REDIS_URL is not set/,
      );
      expect(() => (config.sources[2] as { url?: string }).url).toThrow(
        /sources\[2\]\.url: environment variable REDIS_PASSWORD is not set/,
      );
    },
  );

  it('still reports other problems at once, and duplicate names among sources that wait for a variable', async () => {
    const dup = await caught(() =>
      parseConfigText(
        'sources:\n  - { name: a, type: files, path: "${X}" }\n  - { name: a, type: files, path: /y }\n',
        'c.yaml',
        {},
      ),
    );
    expect(dup.code).toBe(ConfigErrorCode.INVALID);
    expect(dup.message).toMatch(/duplicate source name "a"/);
    const whole = await caught(() => parseConfigText('sources: ${SOURCES}\n', 'c.yaml', {}));
    expect(whole.code).toBe(ConfigErrorCode.ENV_MISSING);
  });

  it('cannot inject YAML structure through a value', () => {
    const config = parseConfigText('repository: ${EVIL}\nsources: [{ name: a, type: files, path: x }]\n', 'c.yaml', {
      EVIL: '/x\ncompression: nope\nfoo: [1',
    });
    expect(config.repository).toMatch(/compression: nope/);
    expect(config.compression).toBe('auto');
  });
});

describe('invalid configs', () => {
  it('suggests the key a typo was meant to be', async () => {
    const file = await write(
      'drkit.config.yaml',
      'sources:\n  - name: data\n    type: files\n    path: ./data\n    exlude: ["*.tmp"]\n',
    );
    const err = await caught(() => readConfig(relative(process.cwd(), file)));
    expect(err.code).toBe(ConfigErrorCode.INVALID);
    expect(err.message).toBe(
      `${relative(process.cwd(), file)}: sources[0]: unknown key "exlude". Did you mean "exclude"? Allowed ` +
        `keys: name, type, path, include, exclude.`,
    );
  });

  it('explains a wrong type with the fix', async () => {
    const err = await validateInvalid({
      sources: [{ name: 'a', type: 'files', path: 'x' }],
      retention: { keep_daily: 'seven' },
    });
    expect(err.message).toBe(
      'drkit.config.yaml: retention.keep_daily: expected a whole number ≥ 0, got "seven". Fix: write a ' +
        'number, e.g. keep_daily: 7.',
    );
    expect(err.details?.issues).toEqual([
      { path: 'retention.keep_daily', message: expect.stringContaining('got "seven"') },
    ]);
  });

  it('rejects duplicate source names', async () => {
    const source = { name: 'data', type: 'files', path: 'x' };
    const err = await validateInvalid({ sources: [source, { ...source, path: 'y' }] });
    expect(err.message).toBe(
      'drkit.config.yaml: sources[1].name: duplicate source name "data" (already used by sources[0]). Fix: ' +
        'give each source a unique name.',
    );
  });

  it('rejects a bad duration', async () => {
    const err = await validateInvalid({
      sources: [{ name: 'a', type: 'files', path: 'x' }],
      retention: { keep_within: '30 days' },
    });
    expect(err.message).toMatch(
      // long-line: a regex over the whole message, as the user reads it
      /^drkit\.config\.yaml: retention\.keep_within: expected a duration like 30d, got "30 days"\. Fix: .*keep_within: 30d\.$/,
    );
  });

  it('collects every problem, one per line, in the message and in details.issues', async () => {
    const yaml = [
      'repository: ftp://host/x',
      'compression: lz4',
      'sources:',
      '  - { name: data, type: mysql }',
      '  - { name: "my data", type: files }',
      '  - { name: data, type: files, path: x, include: "**" }',
      'retention: { keep_daily: -1, keep_hourly: 1.5, keepweekly: 4 }',
      'validaton: {}',
    ].join('\n');
    const err = await caught(async () => readConfig(await write('drkit.config.yaml', yaml)));
    const paths = (err.details!.issues as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual([
      'repository',
      'compression',
      'sources[0].type',
      'sources[1].name',
      'sources[1].path',
      'sources[2].include',
      'sources[2].name',
      'retention.keep_hourly',
      'retention.keep_daily',
      'retention',
      '',
    ]);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(paths.length);
    for (const line of lines) expect(line.startsWith(`${join(dir, 'drkit.config.yaml')}: `)).toBe(true);
    expect(lines).toContain(
      `${join(dir, 'drkit.config.yaml')}: sources[1].path: required but missing. Fix: add path: ./data.`,
    );
    expect(lines).toContain(
      `${join(dir, 'drkit.config.yaml')}: sources[0].type: expected one of files, redis, got "mysql". Fix: ` +
        `write one of those, e.g. type: files.`,
    );
    expect(lines).toContain(
      `${join(dir, 'drkit.config.yaml')}: unknown key "validaton". Did you mean "validation"? Allowed keys: ` +
        `repository, compression, sources, retention, backup, validation, signing_key, trust_keys, state, ` +
        `notify, contacts, status_page, failover, schedule, scheduler, objectives, health, drill, runbooks.`,
    );
  });

  it('explains an empty file', async () => {
    const err = await caught(async () => readConfig(await write('drkit.config.yaml', '# nothing yet\n')));
    expect(err.message).toMatch(/drkit\.config\.yaml: the config is empty\. Fix: add at least a sources list/);
  });

  async function validateInvalid(value: unknown): Promise<ConfigError> {
    const err = await caught(() => validateConfig(value, { file: 'drkit.config.yaml' }));
    expect(err.code).toBe(ConfigErrorCode.INVALID);
    return err;
  }
});

describe('secrets in error messages', () => {
  const sources = [{ name: 'a', type: 'files', path: 'x' }];

  it('prints *** for values at secret keys, whatever their type, and after env expansion', async () => {
    const yaml = [
      'repository:',
      '  bucket: backups',
      '  access_key_id: 12345',
      '  secret_access_key: ${S3_SECRET}',
      '  session_token: ""',
      'sources:',
      '  - { name: cache, type: redis, host: cache, port: 6379, password: 987654 }',
      '  - { name: data, type: files, path: ./data }',
      '  - name: ha',
      '    type: redis',
      '    sentinel: { master_name: main, nodes: ["admin:s3ntinel-pw@10.0.0.5:26379"] }',
    ].join('\n');
    // A number where text belongs: the value must still not appear.
    const err = await caught(() => parseConfigText(yaml.replace('${S3_SECRET}', '424242'), 'drkit.config.yaml', {}));
    expect(err.code).toBe(ConfigErrorCode.INVALID);
    const lines = err.message.split('\n');
    expect(lines).toContain(
      'drkit.config.yaml: repository.access_key_id: expected an access key id, got ***. Fix: write a value, ' +
        'e.g. access_key_id: ${AWS_ACCESS_KEY_ID}.',
    );
    expect(lines).toContain(
      'drkit.config.yaml: repository.secret_access_key: expected a secret access key, got ***. Fix: write a ' +
        'value, e.g. secret_access_key: ${AWS_SECRET_ACCESS_KEY}.',
    );
    expect(lines).toContain(
      'drkit.config.yaml: repository.session_token: expected a session token, got ***. Fix: write a value, ' +
        'e.g. session_token: ${AWS_SESSION_TOKEN}.',
    );
    expect(lines).toContain(
      'drkit.config.yaml: sources[0].password: expected a password (use ${ENV_VAR}), got ***. Fix: write an ' +
        'environment reference, e.g. password: ${REDIS_PASSWORD}.',
    );
    expect(lines).toContain(
      'drkit.config.yaml: sources[2].sentinel.nodes[0]: expected host:port, got "***@10.0.0.5:26379". Fix: ' +
        'write a host and port, e.g. - "10.0.0.5:26379".',
    );
    for (const secret of ['12345', '424242', '987654', 's3ntinel-pw', 'admin']) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err.details)).not.toContain(secret);
    }
  });

  it('masks the user:password@ part of URLs, including passwords with @ and / in them', async () => {
    const repo = await caught(() =>
      validateConfig({ repository: 'ftp://backup:hunter2@files.example/x', sources }, { file: 'c.yaml' }),
    );
    expect(repo.message).toContain('got "ftp://***@files.example/x"');
    const nested = await caught(() =>
      validateConfig({ repository: { url: 'sftp://u:p@ss/w0rd@host/repo' }, sources }, { file: 'c.yaml' }),
    );
    expect(nested.message).toContain('got "sftp://***@host/repo"');
    const redis = await caught(() =>
      validateConfig(
        { sources: [{ name: 'r', type: 'redis', url: 'http://:topsecret@cache:6379' }] },
        { file: 'c.yaml' },
      ),
    );
    expect(redis.message).toContain(
      'sources[0].url: expected a redis:// or rediss:// URL, got "http://***@cache:6379"',
    );
    for (const err of [repo, nested, redis])
      for (const secret of ['hunter2', 'w0rd', 'topsecret']) expect(err.message).not.toContain(secret);
    // Values that are not secrets are still shown, so the user can find them.
    const plain = await caught(() =>
      validateConfig({ repository: 'ftp://files.example/x', sources }, { file: 'c.yaml' }),
    );
    expect(plain.message).toContain('got "ftp://files.example/x"');
  });

  it(
    'explains unions other than sources[].type: by the ' + 'field hint, else by the forms the alternatives take',
    async () => {
      const redis = (extra: Record<string, unknown>) =>
        validateConfig(
          { sources: [{ name: 'r', type: 'redis', url: 'redis://cache:6379', ...extra }] },
          { file: 'c.yaml' },
        );
      expect((await caught(() => redis({ dbs: 'some' }))).message).toBe(
        'c.yaml: sources[0].dbs: expected a list of database numbers, or all, got "some". Fix: write a list ' +
          'or all, e.g. dbs: [0, 1].',
      );
      expect((await caught(() => redis({ tls: 'yes' }))).message).toBe(
        'c.yaml: sources[0].tls: expected true or false or a mapping, got "yes". Fix: write one of those ' +
          'forms (see the README).',
      );
      // The discriminated union with something that is not a mapping, or a type that is not text.
      expect((await caught(() => validateConfig({ sources: [['files']] }, { file: 'c.yaml' }))).message).toMatch(
        /^c\.yaml: sources\[0\]: expected a source .*got a list\./,
      );
      expect(
        (await caught(() => validateConfig({ sources: [{ name: 'a', type: ['files'] }] }, { file: 'c.yaml' }))).message,
      ).toBe(
        'c.yaml: sources[0].type: expected one of files, redis, got a list. Fix: write one of those, e.g. type: files.',
      );
    },
  );
});

describe('unreadable files', () => {
  it('gives line and column for YAML syntax errors', async () => {
    const file = await write('drkit.config.yaml', 'sources:\n  - name: data\n    type: files\n   path: ./data\n');
    const err = await caught(() => readConfig(file));
    expect(err.code).toBe(ConfigErrorCode.PARSE);
    expect(err.message).toBe(`${file}:4:1: Sequence item without - indicator.`);
    expect(err.details?.issues).toEqual([
      { path: '', line: 4, column: 1, message: 'Sequence item without - indicator.' },
    ]);
    expect(err.hint).toMatch(/indentation/);
  });

  it('says which file is missing and how to get one', async () => {
    const missing = join(dir, 'nope', 'drkit.config.yaml');
    const err = await caught(() => readConfig(missing));
    expect(err.code).toBe(ConfigErrorCode.NOT_FOUND);
    expect(err.message).toBe(`${missing}: config file not found (looked for ${missing}).`);
    expect(err.hint).toMatch(/--config/);
    expect(err.hint).not.toMatch(/drkit init. to create|Run "drkit init"/);
    expect(isDrkitError(err)).toBe(true);
  });
});

describe('parseDuration', () => {
  it('converts durations to milliseconds', () => {
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('1w')).toBe(7 * 86_400_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
  });

  it.each(['', '30', 'd', '30 d', '30days', '1.5d', '-1d', '99999999999999999y'])('rejects %j', async (text) => {
    const err = await caught(() => parseDuration(text));
    expect(err.code).toBe(ConfigErrorCode.INVALID);
    expect(err.message).toContain(JSON.stringify(text));
  });
});
