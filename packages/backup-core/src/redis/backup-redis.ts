import type { SnapshotWriter, SourceMeta } from '@drkit/repository';
import { describeRedis, RedisConnection, RedisError, RedisErrorCode } from '@drkit/redis-source';
import { BackupError, BackupErrorCode } from '../errors.js';
import {
  type RedisReadReport,
  type RedisReadTuning,
  type RedisSource,
  readRedis,
  type RedisReadState,
} from './source.js';

/**
 * Backs up one Redis source into the snapshot being written. A server that cannot be reached
 * fails the source (BACKUP_REDIS_FAILED, its archive removed); so does any read failure without
 * `emergency`, which instead keeps what was read and reports the rest. The backup then records
 * the source as failed and keeps the others.
 */
export async function backupRedisSource(
  writer: SnapshotWriter,
  source: RedisSource,
  report: RedisReadReport,
  options: RedisReadTuning & { emergency?: boolean } = {},
): Promise<SourceMeta> {
  const state: RedisReadState = { keys: 0, bytes: 0, vanished: 0, errors: 0 };
  let conn: RedisConnection | undefined;
  try {
    conn = await RedisConnection.open(source.connection);
    const c = conn;
    const facts = await conn.facts().catch((e) => {
      if (!options.emergency) throw e;
      report.error({
        kind: 'redis-read',
        message: `could not read the server facts of ${c.label}: ${(e as Error).message}`,
      });
      return { version: 'unknown', mode: c.mode, role: 'unknown', nodes: c.nodes().length };
    });
    return await writer.writeRedisSource(
      { name: source.name, type: 'redis', origin: conn.label },
      readRedis(c, source, state, report, options),
      () => ({
        server: { version: facts.version, mode: facts.mode, role: facts.role, nodes: facts.nodes },
        skippedVanished: state.vanished,
        skippedErrors: state.errors,
        ...(source.pattern ? { pattern: source.pattern } : {}),
      }),
    );
  } catch (cause) {
    const code = (cause as { code?: unknown })?.code;
    // Repository and storage failures are not Redis failures: pass them on as they are.
    if (typeof code === 'string' && (code.startsWith('REPO_') || code.startsWith('STORAGE_'))) throw cause;
    const label = conn?.label ?? describeRedis(source.connection);
    throw new BackupError(
      BackupErrorCode.REDIS_FAILED,
      `The backup of Redis source "${source.name}" (${label}) failed after ${state.keys} ` +
        `keys: ${(cause as Error)?.message ?? cause}`,
      {
        cause,
        hint:
          cause instanceof RedisError && cause.code === RedisErrorCode.NO_SUCH_DB
            ? `Nothing was read or saved, and earlier snapshots are untouched. ${cause.hint}`
            : 'Nothing was saved from this server (other sources are kept); earlier snapshots are untouched. ' +
              'Check that the server is up and reachable, then run the backup again (or use --emergency to ' +
              'keep whatever can still be read).',
        details: {
          source: source.name,
          server: label,
          keysRead: state.keys,
          ...((cause as { code?: string })?.code ? { cause: (cause as { code: string }).code } : {}),
        },
      },
    );
  } finally {
    await conn?.close();
  }
}
