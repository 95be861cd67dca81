import { Repository } from '@drkit/repository';
import { loadConfig, repoLocation, storeFor } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say } from '../output.js';

export async function run(_args: unknown[], opts: GlobalOptions & { compression: 'auto' | 'zstd' | 'gzip' }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const store = storeFor(repoLocation(opts, config));
  const compression = opts.compression !== 'auto' ? opts.compression : (config?.compression ?? 'auto');
  const repo = await Repository.init(store, { compression });
  if (opts.json) printJson({ location: store.location, id: repo.config.id, format: repo.config.format, compression });
  else say(`created drkit repository at ${store.location} (format ${repo.config.format}, compression ${compression})`);
  return ExitCode.OK;
}
