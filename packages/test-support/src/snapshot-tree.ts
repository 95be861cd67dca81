import { createReadStream } from 'node:fs';
import type { Repository, SnapshotMeta, SourceItem } from '@drkit/repository';
import { describeTree } from './index.js';
import path from 'node:path';

/**
 * Writes a folder as a one-source snapshot through the repository writer alone, for suites
 * that must not depend on backup-core (it depends on them).
 */
export async function snapshotTree(repo: Repository, root: string, source = 'files'): Promise<SnapshotMeta> {
  const entries = await describeTree(root, { hash: false });
  async function* items(): AsyncGenerator<SourceItem> {
    for (const e of entries) {
      if (e.type === 'other') continue;
      const abs = path.join(root, e.path);
      yield {
        path: e.path,
        type: e.type,
        mode: e.mode,
        mtime: e.mtimeMs,
        size: e.size ?? 0,
        ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
        content: () => createReadStream(abs) as AsyncIterable<Buffer>,
      };
    }
  }
  const writer = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
  await writer.writeSource({ name: source, type: 'files' }, items());
  return writer.commit();
}
