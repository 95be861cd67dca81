import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RepoError, RepoErrorCode } from './errors.js';
import { KEYS, type SnapshotMeta } from './format.js';
import { snapshotIdTime } from './ids.js';
import type { DamagedSnapshot } from './repository.js';
import { checkSnapshotSignature, parseTrustKeys } from './signing.js';

/** What a reading host trusts. Without keys, signatures are not checked and nothing here applies. */
export interface TrustOptions {
  /**
   * Public keys (`ed25519:…`) every snapshot must be signed with; from the reader's side, never from the repository.
   */
  keys: readonly string[];
  /**
   * A folder on this host (e.g. the cache dir) where the newest snapshot accepted from each repository is remembered.
   */
  stateDir?: string;
  /** Told what a person should know, e.g. that `latest:TAG` passed over newer untagged snapshots. */
  onWarning?: (message: string) => void;
}

interface Mark {
  id: string;
  time: string;
}

const before = (a: Mark, b: Mark) => a.time < b.time || (a.time === b.time && a.id < b.id);

/**
 * The pinned keys of a reading host, and its high-water mark: the newest signed snapshot it has
 * accepted from a repository. Signatures stop altered, swapped and re-signed snapshots; the mark
 * lets the host notice that the newest snapshots were deleted (no signature can show that).
 */
export class SnapshotTrust {
  private constructor(
    private readonly pinned: ReadonlyMap<string, KeyObject>,
    private readonly location: string,
    private readonly stateFile: string | undefined,
    private readonly onWarning: (message: string) => void,
  ) {}

  /** undefined when no key is pinned: reading stays as it was. */
  static create(options: TrustOptions | undefined, location: string): SnapshotTrust | undefined {
    if (!options || options.keys.length === 0) return undefined;
    // Named after the location as this host reaches it: the repository cannot rename its way out of its mark.
    const stateFile =
      options.stateDir &&
      path.join(options.stateDir, 'trust', `${createHash('sha256').update(location).digest('hex').slice(0, 32)}.json`);
    return new SnapshotTrust(parseTrustKeys(options.keys), location, stateFile, options.onWarning ?? (() => {}));
  }

  /** The key that signed this snapshot file; throws a REPO_SIGNATURE_* error for anything else. */
  check(raw: Record<string, unknown>, key: string): string {
    return checkSnapshotSignature(
      raw,
      key.slice(KEYS.snapshots.length, -'.json'.length),
      key,
      this.location,
      this.pinned,
    );
  }

  /**
   * After a listing (`valid` oldest first): when the snapshot this host last saw as the newest
   * is gone and nothing as new took its place, adds it to `damaged` as REPO_ROLLBACK; otherwise
   * moves the mark up to the newest snapshot.
   */
  async reviewListing(valid: readonly SnapshotMeta[], damaged: DamagedSnapshot[]): Promise<void> {
    const mark = await this.readMark();
    const newest = valid.at(-1);
    if (
      mark &&
      !valid.some((s) => s.id === mark.id) &&
      !damaged.some((d) => d.id === mark.id) &&
      !(newest && !before(newest, mark))
    ) {
      damaged.push({
        id: mark.id,
        key: KEYS.snapshot(mark.id),
        code: RepoErrorCode.ROLLBACK,
        reason:
          `Snapshot ${mark.id} (${mark.time}) was the newest signed snapshot when this host last ` +
          `read ${this.location}; it is gone, and no newer signed snapshot took its place: ` +
          `the newest snapshots were deleted, or the repository was rolled back. If they were forgotten on ` +
          `purpose, delete ${this.stateFile} to accept the repository as it is now.`,
      });
      return;
    }
    if (newest && (!mark || before(mark, newest))) await this.writeMark({ id: newest.id, time: newest.time });
  }

  /**
   * `latest` never falls back silently: with a pinned key, a refused snapshot that may be newer
   * than the one chosen (its id says when it was made) stops the resolution with that refusal's code.
   */
  refuseFallback(ref: string, chosen: SnapshotMeta | undefined, damaged: readonly DamagedSnapshot[]): void {
    const chosenTime = chosen && (snapshotIdTime(chosen.id)?.getTime() ?? Number.NEGATIVE_INFINITY);
    const newer = damaged.filter(
      (d) =>
        d.id !== chosen?.id &&
        (chosenTime === undefined || !((snapshotIdTime(d.id)?.getTime() ?? Number.POSITIVE_INFINITY) < chosenTime)),
    );
    const first = newer.sort((a, b) => (a.id < b.id ? 1 : -1))[0];
    if (!first) return;
    throw new RepoError(
      first.code,
      `${ref} ${
        chosen ? `would be snapshot ${chosen.id}, but a newer one is refused` : 'has no snapshot this host can trust'
      }: ${first.reason}${
        newer.length > 1
          ? ` (and ${newer.length - 1} more refused: ${newer
              .slice(1)
              .map((d) => d.id)
              .join(', ')})`
          : ''
      }`,
      {
        hint:
          `With a pinned signing key drkit does not fall back to an older snapshot ` +
          `silently. ${chosen ? `If ${chosen.id} is what you want, give its id. ` : ''}\`drkit verify all\` ` +
          `lists every refused snapshot and why.`,
        details: { refused: newer.map((d) => ({ id: d.id, code: d.code })) },
      },
    );
  }

  /** Tags are not signed: say when `latest:TAG` passes over newer signed snapshots without the tag. */
  noteUntagged(tag: string, chosen: SnapshotMeta, all: readonly SnapshotMeta[]): void {
    const newer = all.filter((s) => before(chosen, s) && !s.tags.includes(tag));
    if (newer.length === 0) return;
    this.onWarning(
      `latest:${tag} is ${chosen.id} (${chosen.time}); ${newer.length} newer signed snapshot(s) are not ` +
        `tagged "${tag}", the newest ${newer.at(-1)!.id}. ` +
        'Tags are not signed: if one of them should carry the tag, it was taken away.',
    );
  }

  private async readMark(): Promise<Mark | undefined> {
    if (!this.stateFile) return undefined;
    try {
      const mark = (JSON.parse(await readFile(this.stateFile, 'utf8')) as { newest?: Mark }).newest;
      return typeof mark?.id === 'string' && typeof mark.time === 'string' ? mark : undefined;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT')
        this.onWarning(
          `the high-water mark ${this.stateFile} cannot be read (${(err as Error).message}); it starts ` +
            `again from this listing`,
        );
      return undefined;
    }
  }

  private async writeMark(mark: Mark): Promise<void> {
    const file = this.stateFile;
    if (!file) return;
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, `${JSON.stringify({ location: this.location, newest: mark }, null, 2)}\n`, {
        mode: 0o600,
      });
      await rename(`${file}.tmp`, file);
    } catch (err) {
      // Remembering only adds a check; failing to must not stop a restore.
      this.onWarning(
        `the high-water mark ${file} cannot be written (${(err as Error).message}): deleted snapshots will ` +
          `not be noticed next time`,
      );
    }
  }
}
