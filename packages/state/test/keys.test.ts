import { describe, expect, it } from 'vitest';
import { checkKey, checkPrefix, keySegments, StateErrorCode } from '../src/index.js';

describe('state keys', () => {
  it('accepts /-separated safe segments', () => {
    expect(keySegments('incidents/2026-12-06T1600Z-ab12/timeline')).toEqual([
      'incidents',
      '2026-12-06T1600Z-ab12',
      'timeline',
    ]);
    expect(checkPrefix('outbox/')).toBe('outbox/');
    expect(checkPrefix('')).toBe('');
  });

  it.each([
    '',
    '/abs',
    'a//b',
    'a/../b',
    '..',
    '.',
    'a/./b',
    'tail/',
    'sp ace',
    'nul\0',
    'é',
    'a.json',
    'a/b.tmp/c',
    'x.lock',
    `${'x'.repeat(513)}`,
  ])('refuses %j with STATE_BAD_KEY', (key) => {
    expect(() => checkKey(key)).toThrow(expect.objectContaining({ code: StateErrorCode.BAD_KEY }));
  });
});
