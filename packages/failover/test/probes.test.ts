import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runProbe, waitForProbes } from '@drkit/failover';
import { freePort, type RunningRedis, startRedis } from '@drkit/test-support';
import { startService, type TestService } from './service.js';

let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(() => service.close());

describe('HTTP probe', () => {
  it('passes on a status in range within the latency limit with the body text, and says why otherwise', async () => {
    expect(await runProbe({ type: 'http', url: service.url, body: 'ready', latencyMs: 1_000 })).toMatchObject({
      ok: true,
      probe: `http ${service.url}`,
    });
    expect(await runProbe({ type: 'http', url: service.url, body: 'steady' })).toMatchObject({
      ok: false,
      error: 'the body does not contain "steady"',
    });
    expect(await runProbe({ type: 'http', url: service.url, status: { min: 201, max: 299 } })).toMatchObject({
      ok: false,
      error: 'status 200, expected 201–299',
    });
    service.mode = 'error';
    expect(await runProbe({ type: 'http', url: service.url })).toMatchObject({
      ok: false,
      error: 'status 503, expected 200–399',
    });
    service.mode = 'down';
    expect((await runProbe({ type: 'http', url: service.url })).ok).toBe(false);
  });

  it('fails a slow answer at the timeout, and one past the latency limit', async () => {
    service.mode = 'slow';
    // Well past the timeout: a loaded machine may be late to end the probe, but not by a second.
    service.slowMs = 1_000;
    const timedOut = await runProbe({ type: 'http', url: service.url, timeoutMs: 100 });
    expect(timedOut).toMatchObject({ ok: false, error: 'no answer within 100 ms' });
    expect(timedOut.ms).toBeLessThan(service.slowMs);
    expect(await runProbe({ type: 'http', url: service.url, timeoutMs: 10_000, latencyMs: 100 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^answered in \d+ ms, over the 100 ms limit$/),
    });
  });
});

describe('TCP probe', () => {
  it('passes when something listens and fails when nothing does', async () => {
    expect(await runProbe({ type: 'tcp', host: '127.0.0.1', port: service.port })).toMatchObject({
      ok: true,
      probe: `tcp 127.0.0.1:${service.port}`,
    });
    expect(await runProbe({ type: 'tcp', host: '127.0.0.1', port: await freePort() })).toMatchObject({
      ok: false,
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('a Redis probe fails at its timeout on a listener that never answers PING', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      expect(await runProbe({ type: 'redis', url: `redis://127.0.0.1:${port}`, timeoutMs: 150 })).toMatchObject({
        ok: false,
        error: 'no answer within 150 ms',
      });
    } finally {
      silent.close();
    }
  });
});

describe('Redis PING probe', () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis({ password: 's3cret' });
  });
  afterAll(() => redis?.stop());

  it('passes with the password, fails without it or with a wrong one, and masks it', async () => {
    expect(await runProbe({ type: 'redis', url: redis.url })).toMatchObject({
      ok: true,
      probe: `redis redis://***@127.0.0.1:${redis.port}`,
    });
    expect(await runProbe({ type: 'redis', url: `redis://127.0.0.1:${redis.port}` })).toMatchObject({
      ok: false,
      error: expect.stringContaining('NOAUTH'),
    });
    expect(await runProbe({ type: 'redis', url: `redis://:wrong@127.0.0.1:${redis.port}` })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/WRONGPASS|invalid password/),
    });
  });
});

describe('command probe', () => {
  it('passes on exit 0, fails on another exit with its last stderr line, and kills it at the timeout', async () => {
    expect((await runProbe({ type: 'command', command: 'true' })).ok).toBe(true);
    expect(await runProbe({ type: 'command', command: 'echo "disk full" >&2; exit 3' })).toMatchObject({
      ok: false,
      error: 'exited with 3: disk full',
    });
    const slow = await runProbe({ type: 'command', command: 'sleep 5', timeoutMs: 100 });
    expect(slow).toMatchObject({ ok: false, error: 'no answer within 100 ms' });
    expect(slow.ms).toBeLessThan(2_000);
  });
});

describe('waitForProbes', () => {
  it('waits until every probe passes for passForMs, and gives up after withinMs with the last results', async () => {
    service.mode = 'error';
    setTimeout(() => (service.mode = 'up'), 300);
    const ok = await waitForProbes(
      [
        { type: 'http', url: service.url },
        { type: 'tcp', host: '127.0.0.1', port: service.port },
      ],
      { withinMs: 10_000, passForMs: 200, everyMs: 50 },
    );
    expect(ok).toMatchObject({ ok: true, results: [{ ok: true }, { ok: true }] });
    expect(ok.tookMs).toBeGreaterThanOrEqual(500);
    service.mode = 'error';
    const no = await waitForProbes([{ type: 'http', url: service.url }], { withinMs: 300, everyMs: 50 });
    expect(no).toMatchObject({ ok: false, results: [{ ok: false, error: 'status 503, expected 200–399' }] });
  });
});
