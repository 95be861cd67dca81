import { freePort, REDIS_SERVER, startRedis, tempDir } from '@drkit/test-support';
import { expect, it } from 'vitest';
import { startScratchRedis } from '../src/index.js';

it('a scratch redis-server never takes a server that bound its port first for its own: it tries another', async () => {
  // Another server binds the port between the drill picking it and its redis-server binding it.
  const other = await startRedis();
  const { dir, cleanup } = await tempDir('drkit-scratch-');
  const ports = [other.port];
  try {
    await other.client().set('keep', 'me');
    const scratch = await startScratchRedis(REDIS_SERVER, dir, 16, async () => ports.shift() ?? freePort());
    try {
      expect(scratch.url).not.toBe(`redis://127.0.0.1:${other.port}`);
      expect(ports).toEqual([]);
    } finally {
      await scratch.stop();
    }
    expect(await other.client().get('keep')).toBe('me');
  } finally {
    await other.stop();
    await cleanup();
  }
});
