import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consoleChannel } from '../../src/index.js';
import { notification } from './fixtures.js';

describe('console', () => {
  it('writes the title, kind and text', async () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (c) => (out += c));
    expect(await consoleChannel({ name: 'log', stream }).send(notification(), {})).toEqual({ ok: true });
    expect(out).toBe(
      '[drkit] Backups of "data" are 2 h old (opened)\n  The last backup of "data" finished 2 h ago; the RPO is 1 h.\n',
    );
  });

  it('a stream that fails is a permanent failure, not a throw', async () => {
    const stream = new PassThrough();
    stream.destroy();
    expect(await consoleChannel({ name: 'log', stream }).send(notification(), {})).toMatchObject({
      ok: false,
      retryable: false,
    });
  });
});
