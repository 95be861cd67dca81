import type { Clock } from '@drkit/notify';

/** A clock that moves only when the test says so; sleepers wake as it passes their time. */
export class FakeClock implements Clock {
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(private time = Date.parse('2026-12-06T16:00:00.000Z')) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      this.sleepers.push({ at: this.time + ms, wake: resolve });
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Moves time forward, waking every sleeper whose time has come. */
  advance(ms: number): void {
    this.set(this.time + ms);
  }

  set(time: number): void {
    this.time = time;
    const due = this.sleepers.filter((s) => s.at <= time);
    this.sleepers = this.sleepers.filter((s) => s.at > time);
    for (const s of due) s.wake();
  }
}
