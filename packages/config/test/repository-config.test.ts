// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { describe, expect, it } from 'vitest';
import { parseConfigText, validateConfig } from '@drkit/config';

const sources = [{ name: 'a', type: 'files', path: '/data' }];

describe('repository: URL forms and fields', () => {
  it('keeps s3:// and restic-style s3:http:// URLs as they are, and resolves folder paths', () => {
    expect(
      validateConfig({ repository: 's3:http://127.0.0.1:9000/bkt/app', sources }, { baseDir: '/srv' }).repository,
    ).toBe('s3:http://127.0.0.1:9000/bkt/app');
    expect(validateConfig({ repository: 's3://bkt/app', sources }, { baseDir: '/srv' }).repository).toBe(
      's3://bkt/app',
    );
    expect(validateConfig({ repository: 'repo', sources }, { baseDir: '/srv' }).repository).toBe('/srv/repo');
  });

  it('accepts the repository as fields, with secrets from the environment', () => {
    const yaml = [
      'repository:',
      '  bucket: backups',
      '  prefix: app-1',
      '  endpoint: http://127.0.0.1:9000',
      '  force_path_style: true',
      '  access_key_id: ${KEY_ID}',
      '  secret_access_key: ${SECRET}',
      '  part_size_mib: 8',
      'sources: [{ name: a, type: files, path: /data }]',
    ].join('\n');
    const config = parseConfigText(yaml, 'drkit.config.yaml', { KEY_ID: 'AKIA1', SECRET: 'shh' });
    expect(config.repository).toEqual({
      bucket: 'backups',
      prefix: 'app-1',
      endpoint: 'http://127.0.0.1:9000',
      force_path_style: true,
      access_key_id: 'AKIA1',
      secret_access_key: 'shh',
      part_size_mib: 8,
    });
    expect(validateConfig({ repository: { path: 'repo' }, sources }, { baseDir: '/srv' }).repository).toEqual({
      path: '/srv/repo',
    });
  });

  it('says what is wrong with the fields, naming the key, without echoing a secret', () => {
    const bad = () =>
      parseConfigText(
        'repository:\n  url: s3://b/p\n  bucket: b\n  secret_access_key: ${SECRET}\n' +
          '  force_path_stile: true\nsources: [{ name: a, type: files, path: /data }]\n',
        'drkit.config.yaml',
        { SECRET: 'very-secret-value' },
      );
    expect(bad).toThrow(/repository: unknown key "force_path_stile". Did you mean "force_path_style"\?/);
    expect(bad).toThrow(/gives url and bucket, which do not go together/);
    expect(bad).toThrow(/access_key_id and secret_access_key go together/);
    expect(bad).not.toThrow(/very-secret-value/);
    expect(() => validateConfig({ repository: 'ftp://host/x', sources })).toThrow(
      /repository: expected a folder path, file:\/\/ URL, s3:\/\/bucket\/prefix/,
    );
    expect(() => validateConfig({ repository: { bucket: 'b', part_size_mib: 1 }, sources })).toThrow(
      /repository\.part_size_mib: expected a whole number of MiB from 5 to 5120, got 1/,
    );
  });
});
