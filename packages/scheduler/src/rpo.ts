import type { Clock, Notifier, Severity } from '@drkit/notify';
import type { SnapshotSummary } from './executor.js';
import type { Logger } from './logger.js';

export interface SourceRpo {
  source: string;
  /** The newest snapshot holding the source (ms), if any. */
  lastSuccess?: number;
  /** The newest such snapshot that verified clean (tagged `clean` by verify --mark-clean). */
  lastClean?: number;
  bytes?: number;
  /** Seconds since lastSuccess (since the watch first read the repository, when there is none). */
  ageSeconds: number;
  /** undefined: within the objective; P2 past it; P1 past twice it. */
  breach?: Severity;
}

export interface RpoWatchOptions {
  /** The sources the objective covers (the config's). */
  sources: readonly string[];
  objectiveMs: number;
  clock: Clock;
  list: () => Promise<SnapshotSummary[]>;
  notifier?: Notifier;
  log: Logger;
}

/**
 * The RPO per source: the age of its newest snapshot against the objective. Past it, a P2
 * incident (`rpo:<source>`); past twice it, raised to P1; a fresh backup resolves it. The
 * snapshot list is read on refresh() (after each job, and every rpo_refresh); the age runs on
 * the clock in between, so check() costs no I/O.
 */
export class RpoWatch {
  /** A source without snapshots counts from here: the first time the watch could see the repository. */
  private since: number;
  private newest = new Map<string, { success?: number; clean?: number; bytes?: number }>();
  private readonly level = new Map<string, Severity | undefined>();
  private refreshed: number | undefined;
  lastError: string | undefined;

  constructor(private readonly options: RpoWatchOptions) {
    this.since = options.clock.now();
  }

  async refresh(): Promise<void> {
    let snapshots: SnapshotSummary[];
    try {
      snapshots = await this.options.list();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.options.log.warn({ err: error }, `RPO watch: could not list snapshots: ${this.lastError}`);
      return;
    }
    const newest = new Map<string, { success?: number; clean?: number; bytes?: number }>();
    for (const snap of snapshots) {
      const at = Date.parse(snap.time);
      for (const source of snap.sources) {
        const seen = newest.get(source) ?? {};
        if (seen.success === undefined || at > seen.success) Object.assign(seen, { success: at, bytes: snap.stored });
        if (snap.tags.includes('clean') && (seen.clean === undefined || at > seen.clean)) seen.clean = at;
        newest.set(source, seen);
      }
    }
    this.newest = newest;
    if (this.refreshed === undefined) this.since = this.options.clock.now();
    this.refreshed = this.options.clock.now();
  }

  get ready(): boolean {
    return this.refreshed !== undefined;
  }

  status(): SourceRpo[] {
    const now = this.options.clock.now();
    return this.options.sources.map((source) => {
      const seen = this.newest.get(source);
      const ageMs = now - (seen?.success ?? this.since);
      const breach = ageMs > 2 * this.options.objectiveMs ? 'P1' : ageMs > this.options.objectiveMs ? 'P2' : undefined;
      return {
        source,
        lastSuccess: seen?.success,
        lastClean: seen?.clean,
        bytes: seen?.bytes,
        ageSeconds: Math.max(0, ageMs / 1000),
        breach,
      };
    });
  }

  /** Opens, raises or resolves each source's RPO incident when its level changed. */
  async check(): Promise<void> {
    if (!this.ready) return;
    const objective = humanSeconds(this.options.objectiveMs / 1000);
    for (const rpo of this.status()) {
      if (this.level.get(rpo.source) === rpo.breach && this.level.has(rpo.source)) continue;
      const before = this.level.get(rpo.source);
      this.level.set(rpo.source, rpo.breach);
      const dedupKey = `rpo:${rpo.source}`;
      const last =
        rpo.lastSuccess === undefined
          ? 'no snapshot holds it yet'
          : `its newest snapshot is from ${new Date(rpo.lastSuccess).toISOString()}`;
      const message = rpo.breach
        ? `RPO of ${rpo.source} is ${humanSeconds(rpo.ageSeconds)}, past ` +
          `${rpo.breach === 'P1' ? 'twice ' : ''}the objective of ${objective}: ${last}.`
        : `A fresh backup of ${rpo.source} landed: RPO ${humanSeconds(rpo.ageSeconds)}, within the objective ` +
          `of ${objective}.`;
      (rpo.breach ? this.options.log.warn : this.options.log.info).call(
        this.options.log,
        { source: rpo.source, rpoSeconds: rpo.ageSeconds },
        message,
      );
      if (!this.options.notifier || (!rpo.breach && before === undefined)) continue;
      await this.options.notifier
        .report(
          rpo.breach
            ? {
                by: 'scheduler',
                severity: rpo.breach,
                title: `RPO objective missed for ${rpo.source}`,
                message,
                dedupKey,
                components: ['backups'],
                labels: { source: rpo.source },
              }
            : { by: 'scheduler', severity: 'P4', title: '', message, dedupKey, resolve: true },
        )
        .catch((error) =>
          this.options.log.error({ err: error }, `RPO watch: could not report: ${(error as Error).message}`),
        );
    }
  }
}

export function humanSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}
