import { bytes, progressLine } from './output.js';

/** `1.2 GiB of 3.0 GiB (40%), 85.3 MiB/s, ETA 0:23`: what a person watching a transfer wants. */
export function formatTransfer(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const parts = [
    total !== undefined && total > 0
      ? `${bytes(done)} of ${bytes(total)} (${Math.min(100, Math.floor((done / total) * 100))}%)`
      : bytes(done),
  ];
  if (elapsedMs >= 1000 && rate > 0) {
    parts.push(`${bytes(rate)}/s`);
    if (total !== undefined && total > done) parts.push(`ETA ${clock((total - done) / rate)}`);
  }
  return parts.join(', ');
}

function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A progress line (terminal only) that shows bytes, rate and ETA of a transfer. */
export function transferProgress(enabled: boolean): {
  update(prefix: string, done: number, total?: number, suffix?: string): void;
  done(): void;
} {
  const line = progressLine(enabled);
  const started = Date.now();
  return {
    update(prefix, done, total, suffix) {
      line.update(`${prefix} ${formatTransfer(done, total, Date.now() - started)}${suffix ? `  ${suffix}` : ''}`);
    },
    done: () => line.done(),
  };
}
