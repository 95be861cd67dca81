import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consoleChannel } from '../../src/index.js';
import { notification } from './fixtures.js';

describe('console', () => {
  it('writes the subject, kind, text and incidents', async () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (c) => (out += c));
    expect(await consoleChannel({ name: 'log', stream }).send(notification(), {})).toEqual({ ok: true });
    expect(out).toBe(
      '[drkit P1] Backups of "data" are 2 h old (opened)\n  The last backup of "data" finished 2 h ago; the RPO is 1 h.\n  \n  20261206T160000Z-ab12cd · P1 · investigating · backup, data: Backups of "data" are 2 h old\n',
    );
  });

  it('a stream that fails is a permanent failure, not a throw', async () => {
    const stream = new PassThrough();
    stream.destroy();
    expect(await consoleChannel({ name: 'log', stream }).send(notification(), {})).toMatchObject({ ok: false, retryable: false });
  });
});
