import { describe, expect, it } from 'vitest';
import { DrkitError, errnoCode, isDrkitError } from '@drkit/errors';

describe('@drkit/errors', () => {
  it('carries a stable code, a hint and a cause, and serialises without the stack', () => {
    const cause = Object.assign(new Error('boom'), { code: 'ENOENT' });
    const err = new DrkitError('REPO_NOT_FOUND', 'No repository at /x.', {
      hint: 'Run drkit init.',
      cause,
      details: { path: '/x' },
    });
    expect(err.code).toBe('REPO_NOT_FOUND');
    expect(err.cause).toBe(cause);
    expect(isDrkitError(err)).toBe(true);
    expect(isDrkitError(cause)).toBe(false);
    expect(errnoCode(cause)).toBe('ENOENT');
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: 'REPO_NOT_FOUND',
      message: 'No repository at /x.',
      hint: 'Run drkit init.',
      details: { path: '/x' },
    });
  });
});
