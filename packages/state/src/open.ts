import { StateError, StateErrorCode } from './errors.js';
import { FolderStateStore } from './folder-store.js';
import { RedisStateStore } from './redis-store.js';
import type { StateStore } from './store.js';

/** Where the state lives when nothing says otherwise (relative to the working directory). */
export const DEFAULT_STATE_LOCATION = './drkit-state';

/** A folder path (or `file://` URL) opens a FolderStateStore, `redis://` or `rediss://` a RedisStateStore. */
export async function openStateStore(location: string = DEFAULT_STATE_LOCATION): Promise<StateStore> {
  // ioredis (~30 MiB) loads only here, on first use: most state stores are folders.
  if (/^rediss?:\/\//i.test(location)) return RedisStateStore.open(location);
  if (/^file:\/\//i.test(location)) return new FolderStateStore(new URL(location).pathname);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new StateError(
      StateErrorCode.BAD_LOCATION,
      `The state store ${location.replace(/\/\/[^@/]*@/, '//***@')} is neither a folder nor a redis:// URL.`,
      {
        hint:
          'Set `state:` in drkit.config.yaml (or DRKIT_STATE) to a folder path such as ./drkit-state, or to ' +
          'redis://[:password@]host:6379[/db].',
      },
    );
  return new FolderStateStore(location);
}
