import { Command, CommanderError, Option } from 'commander';
import { isDrkitError } from '@drkit/errors';
import pkg from '../package.json' with { type: 'json' };
import { ExitCode } from './exit-codes.js';
import { type GlobalOptions, reportError } from './output.js';

type Run<O> = (args: unknown[], opts: O) => Promise<ExitCode>;

// Commands load lazily so `drkit --help` and small commands start fast.
const lazy = <O extends GlobalOptions>(load: () => Promise<{ run: Run<O> }>) =>
  async function (this: Command, ...args: unknown[]) {
    const { run } = await load();
    process.exitCode = await run(args.slice(0, -1), this.optsWithGlobals<O>());
  };

const program = new Command('drkit')
  .description('Back up, verify and restore files and Redis; prove the backups are good.')
  .version(pkg.version)
  .addOption(new Option('--repo <location>', 'repository: a folder path or file:// URL').env('DRKIT_REPO'))
  .addOption(new Option('--config <file>', 'config file (default ./drkit.config.yaml when present)').env('DRKIT_CONFIG'))
  .option('--json', 'print machine-readable JSON on stdout')
  .showHelpAfterError()
  .exitOverride();

program
  .command('init')
  .description('create a repository')
  .addOption(new Option('--compression <codec>', 'archive compression').choices(['auto', 'zstd', 'gzip']).default('auto'))
  .action(lazy(() => import('./commands/init.js')));

program
  .command('backup')
  .description('back up PATHs, or the sources in the config')
  .argument('[paths...]', 'folders or files to back up ad hoc (each becomes a source named after it)')
  .option('--tag <name>', 'tag the snapshot (repeatable)', collect, [])
  .option('--exclude <glob>', 'exclude paths matching glob, for ad-hoc paths (repeatable)', collect, [])
  .action(lazy(() => import('./commands/backup.js')));

program
  .command('snapshots')
  .description('list snapshots, oldest first')
  .action(lazy(() => import('./commands/snapshots.js')));

program
  .command('ls')
  .description('list what a snapshot holds, with sizes and modes')
  .argument('<snapshot>', 'id, unique prefix or latest')
  .argument('[globs...]', 'only paths matching these globs')
  .option('--source <name>', 'only this source')
  .action(lazy(() => import('./commands/ls.js')));

program
  .command('verify')
  .description('read every archive and check each entry against its recorded hash')
  .argument('[snapshot]', 'id, unique prefix, latest or all', 'latest')
  .action(lazy(() => import('./commands/verify.js')));

program
  .command('restore')
  .description('restore a snapshot into a target folder, through a staging folder')
  .argument('<snapshot>', 'id, unique prefix or latest')
  .requiredOption('--target <dir>', 'where to restore')
  .option('--source <name>', 'only this source, written straight into the target (repeatable)', collect, [])
  .option('--include <glob>', 'only paths matching glob (repeatable)', collect, [])
  .addOption(new Option('--overwrite <policy>', 'when the target is not empty').choices(['never', 'if-changed', 'always']))
  .option('--dry-run', 'print the plan, write nothing')
  .action(lazy(() => import('./commands/restore.js')));

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    reportError(err, process.argv.includes('--json'));
    process.exitCode = isDrkitError(err) && err.code === 'CLI_USAGE' ? ExitCode.USAGE : ExitCode.ERROR;
  }
}

await main();
process.exit(process.exitCode ?? 0);
