#!/usr/bin/env node
import module from 'node:module';
import { Argument, Command, CommanderError, Option } from 'commander';
import { type DrkitError, isDrkitError } from '@drkit/errors';
import pkg from '../package.json' with { type: 'json' };
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { duration, pastTime, tags, wholeNumber, wholeNumbers } from './flags.js';
import { commandToFinish, exitCodeOf, interruptedBy, watchSignals } from './interrupt.js';
import { type GlobalOptions, outputFlushed, printJson, reportError, warn, watchOutput } from './output.js';

// Node >= 22.1 keeps compiled code in a disk cache (NODE_DISABLE_COMPILE_CACHE=1 turns it off):
// the command chunks then load ~40 ms faster on every later run.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

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
  .addOption(
    new Option(
      '--repo <location>',
      'repository: a folder path, file:// URL, s3://bucket/prefix or s3:http://host:port/bucket/prefix',
    ).env('DRKIT_REPO'),
  )
  .addOption(
    new Option('--config <file>', 'config file (default ./drkit.config.yaml when present)').env('DRKIT_CONFIG'),
  )
  .option('--json', 'print machine-readable JSON on stdout')
  .addOption(
    new Option('--identity <file>', 'age identity (secret key) file, to read an encrypted repository').env(
      'DRKIT_IDENTITY_FILE',
    ),
  )
  .addOption(
    new Option(
      '--passphrase-file <file>',
      "file holding the repository's (or identity file's) passphrase; or set DRKIT_PASSPHRASE",
    ).env('DRKIT_PASSPHRASE_FILE'),
  )
  .addOption(
    new Option(
      '--trust-key <ed25519:…>',
      'refuse every snapshot not signed by this public key (repeatable; env: comma-separated)',
    )
      .env('DRKIT_TRUST_KEY')
      .argParser((value: string, previous: string[] = []) => [...previous, ...value.split(/[\s,]+/).filter(Boolean)]),
  )
  .addOption(
    new Option(
      '--state <location>',
      "state store for incident and notify: a folder or redis:// URL (default: the config's state, else ./drkit-state)",
    ).env('DRKIT_STATE'),
  )
  .showHelpAfterError()
  .addHelpText('after', EXIT_CODES_HELP)
  .exitOverride();

program
  .command('init')
  .description('create a repository')
  .addOption(
    new Option('--compression <codec>', "archive compression (default: the config's, else auto)").choices([
      'auto',
      'zstd',
      'gzip',
    ]),
  )
  .option(
    '--recipient <age1…>',
    'encrypt with age for this public key, age1… or post-quantum age1pq1… (repeatable; not both kinds)',
    collect,
    [],
  )
  .addOption(
    new Option('--recipients-file <file>', 'encrypt for the age public keys in this file, one per line').env(
      'DRKIT_RECIPIENTS_FILE',
    ),
  )
  .option(
    '--generate-key <file>',
    'make a new age key pair: the identity goes to FILE (mode 0600), its public key becomes a recipient',
  )
  .option(
    '--pq',
    'make the --generate-key (or --passphrase) key post-quantum: ML-KEM-768 + X25519, age1pq1… (opening ' +
      'archives by hand needs age ≥ 1.3)',
  )
  .option('--passphrase', 'also let a passphrase (DRKIT_PASSPHRASE, --passphrase-file, or asked) read the repository')
  .addOption(
    signingKeyOption('record the public key of this Ed25519 key: backups without a signing key are then refused'),
  )
  .option(
    '--generate-signing-key <file>',
    'make a new Ed25519 signing key in FILE (mode 0600) and record its public key',
  )
  .action(lazy(() => import('./commands/init.js')));

program
  .command('backup')
  .description('back up PATHs, or the sources in the config')
  .argument('[paths...]', 'folders or files to back up ad hoc (each becomes a source named after it)')
  .option('--tag <name>', 'tag the snapshot (repeatable)', tags, [])
  .option('--exclude <glob>', 'exclude paths matching glob, for ad-hoc paths (repeatable)', collect, [])
  .option('--redis <url>', 'also back up this Redis, redis://[:password@]host:port[/db], as source "redis"')
  .option('--emergency', 'tag the snapshot "emergency"; unreadable data is reported, never fatal')
  .option('--full', 'make a full snapshot even when an incremental is possible')
  .option('--rehash', 'incrementals: hash every file instead of trusting size, mtime, ctime and inode')
  .option(
    '--time <iso>',
    "the snapshot's time instead of now, e.g. 2026-11-20T03:00:00Z (imports, simulations); not in the future",
    pastTime,
  )
  .option(
    '--cache-dir <dir>',
    "this host's file lists for incrementals on encrypted repositories (env DRKIT_CACHE_DIR; default ~/.cache/drkit)",
  )
  .option(
    '--no-cache',
    'keep no file lists: every backup to an encrypted repository without the identity is a full one',
  )
  .addOption(signingKeyOption('sign the snapshot with this Ed25519 private key (PEM)'))
  .addOption(
    new Option(
      '--wait <duration>',
      'wait this long for a forget or prune holding the repository (e.g. 0s to fail at once, 1h)',
    )
      .argParser(duration)
      .default(5 * 60_000, '5m'),
  )
  .action(lazy(() => import('./commands/backup.js')));

filters(program.command('snapshots').description('list snapshots, oldest first'), 'source').action(
  lazy(() => import('./commands/snapshots.js')),
);

program
  .command('stats')
  .description('repository size per source and kind, chain lengths, growth per day, and what a prune would free now')
  .option('--window <duration>', "the growth window (default: the config's retention keep_within, else 30d)", duration)
  .action(lazy(() => import('./commands/stats.js')));

filters(program.command('ls').description('list what a snapshot holds, with sizes and modes'))
  .argument('<snapshot>', 'id, unique prefix or latest')
  .argument('[globs...]', 'only paths matching these globs')
  .option('--source <name>', 'only this source (and latest: the newest snapshot holding it)')
  .action(lazy(() => import('./commands/ls.js')));

filters(
  program
    .command('find')
    .description('which snapshots hold a path: each match with its size and mtime, newest snapshot first'),
  'source',
)
  .argument(
    '<patterns...>',
    "globs: one without a '/' matches a name in any folder, one with a '/' the path inside the source",
  )
  .option('--newest <n>', 'search only the n newest snapshots the filters select', wholeNumber)
  .action(lazy(() => import('./commands/find.js')));

filters(
  program.command('verify').description('read every archive and check each entry against its recorded hash'),
  'source',
)
  .argument('[snapshot]', 'id, unique prefix, latest, latest:TAG or all', 'latest')
  .option('--mark-clean', 'tag every snapshot that passes with "clean" (restore it with latest:clean)')
  .action(lazy(() => import('./commands/verify.js')));

filters(program.command('dump').description("write one file's bytes to stdout, or a folder (or a whole source) as tar"))
  .argument('<snapshot>', 'id, unique prefix, latest or latest:TAG')
  .argument(
    '<path>',
    'SOURCE/PATH as `drkit find` and `drkit ls` print it (or PATH inside --source); SOURCE alone: all of it',
  )
  .option('--source <name>', 'the source PATH is in (and latest: the newest snapshot holding it)')
  .action(lazy(() => import('./commands/dump.js')));

program
  .command('diff')
  .description('paths added, removed and changed between two snapshots, with sizes')
  .argument('<from>', 'the older snapshot')
  .argument('<to>', 'the newer snapshot')
  .action(lazy(() => import('./commands/diff.js')));

program
  .command('tag')
  .description("add or remove a snapshot's tags")
  .argument('<snapshot>', 'id, unique prefix or latest')
  .option('--add <tag>', 'add this tag (repeatable)', tags, [])
  .option('--remove <tag>', 'remove this tag (repeatable)', collect, [])
  .action(lazy(() => import('./commands/tag.js')));

filters(
  program
    .command('forget')
    .description(
      'remove the snapshots named (id, unique prefix or latest), or those the retention policy does not ' +
        "keep (flags, else the config's retention, else keep_within 30d)",
    )
    .argument(
      '[snapshots...]',
      'snapshots to remove by id; refused when later snapshots need them, unless --with-dependents',
    ),
  'source',
)
  .option(
    '--with-dependents',
    'with snapshot ids: also remove every snapshot that needs them (incrementals built on them)',
  )
  .option('--keep-last <n>', 'keep the n newest', wholeNumber)
  .option('--keep-hourly <n>', 'keep the newest of each of the last n hours', wholeNumber)
  .option('--keep-daily <n>', 'keep the newest of each of the last n days', wholeNumber)
  .option('--keep-weekly <n>', 'keep the newest of each of the last n weeks', wholeNumber)
  .option('--keep-monthly <n>', 'keep the newest of each of the last n months', wholeNumber)
  .option('--keep-yearly <n>', 'keep the newest of each of the last n years', wholeNumber)
  .option('--keep-within <duration>', 'keep everything within this of the newest snapshot, e.g. 30d', duration)
  .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect, [])
  .option('--prune', 'also delete the data no remaining snapshot needs')
  .option('--dry-run', 'print each decision and its reason, change nothing')
  .addOption(
    new Option('--wait <duration>', 'wait this long for other users of the repository')
      .argParser(duration)
      .default(30_000, '30s'),
  )
  .action(lazy(() => import('./commands/forget.js')));

program
  .command('config')
  .description('the config file')
  .command('check')
  .description(
    'validate the config (every environment variable it needs, file sources present); with --connect also ' +
      "reach the repository, each Redis and S3 endpoint and each notification channel's host, sending nothing. " +
      'Exit 0 only when all is well',
  )
  .option('--connect', 'also reach every server the config names')
  .option('--timeout <duration>', 'how long to wait for each server', duration, 10_000)
  .action(lazy(() => import('./commands/config-check.js')));

const key = program
  .command('key')
  .description(
    'the age recipients (public keys) backups are encrypted to, and which ones each snapshot was written for',
  );
key
  .command('list')
  .description("the repository's recipients, and which recipients each snapshot was written for")
  .action(lazy(async () => ({ run: (await import('./commands/key.js')).list })));
key
  .command('add')
  .description(
    'encrypt future backups also to this recipient (a new team member, or a new key before retiring the old one)',
  )
  .argument('[recipients...]', 'age1… public keys (or post-quantum age1pq1… ones, in a repository of those)')
  .addOption(new Option('--recipients-file <file>', 'the age public keys in this file, one per line'))
  .action(lazy(async () => ({ run: (await import('./commands/key.js')).add })));
key
  .command('remove')
  .description(
    'stop encrypting future backups to this recipient; snapshots already written stay readable by the keys ' +
      'they were written for',
  )
  .argument('<recipients...>', 'age1… public keys')
  .action(lazy(async () => ({ run: (await import('./commands/key.js')).remove })));

program
  .command('unlock')
  .description('remove stale locks (a dead process on this host, or not refreshed for 30 minutes)')
  .option('--all', 'remove every lock: only when you are sure no drkit uses the repository')
  .action(lazy(() => import('./commands/unlock.js')));

filters(
  program
    .command('restore')
    .description('restore a snapshot into a target folder, through a staging folder; or a Redis source into a server'),
)
  .argument('<snapshot>', 'id, unique prefix or latest')
  .option('--target <dir>', 'where to restore file sources')
  .option(
    '--source <name>',
    'only this source, written straight into the target (repeatable; latest: the newest snapshot holding them)',
    collect,
    [],
  )
  .option(
    '--include <glob>',
    'only paths matching glob (repeatable); of a Redis source (merge mode), only keys matching this Redis ' +
      'glob, e.g. user:*',
    collect,
    [],
  )
  .addOption(
    new Option('--overwrite <policy>', 'when the target is not empty').choices(['never', 'if-changed', 'always']),
  )
  .option('--dry-run', 'print the plan, write nothing')
  .option(
    '--delete',
    'make the target match the snapshot: also remove what it holds that the snapshot does not (listed in ' +
      'the plan; see --dry-run)',
  )
  .option(
    '--salvage',
    'read past damaged blocks: restore every entry that is still good, list the paths lost, exit 5 if any',
  )
  .addOption(
    new Option(
      '--redis <url>',
      'Redis source: the server to restore into (default: the config source of that name)',
    ).env('DRKIT_REDIS_URL'),
  )
  .addOption(
    new Option('--mode <mode>', 'Redis source: replace (FLUSHDB each restored db first) or merge').choices([
      'replace',
      'merge',
    ]),
  )
  .option('--db <n>', 'Redis source: only this database (repeatable); replace empties only these', wholeNumbers, [])
  .option('--yes', 'Redis source: confirm that replace empties databases')
  .action(lazy(() => import('./commands/restore.js')));

filters(
  program
    .command('copy')
    .description(
      'copy snapshots to another repository (e.g. local → S3): skips those present, checks every hash on ' +
        'arrival, writes metadata last',
    ),
  'source',
)
  .argument('<snapshot>', 'id, unique prefix, latest or all')
  .requiredOption('--to <location>', 'the destination repository (created beforehand with drkit init)')
  .option('--no-verify', 'do not read each blob back from the destination to check it')
  .addOption(
    signingKeyOption(
      're-sign snapshots whose blobs are (re-)encrypted on the way, once their signature checked against --trust-key',
    ),
  )
  .action(lazy(() => import('./commands/copy.js')));

program
  .command('failover')
  .description(
    'watch the primary and fail over to the standby: status, monitor, plan, trigger, failback, pause, resume, restore',
  )
  .addArgument(
    new Argument('<action>', 'what to do').choices([
      'status',
      'monitor',
      'plan',
      'trigger',
      'failback',
      'pause',
      'resume',
      'restore',
    ]),
  )
  .option('--reason <text>', 'trigger, failback: why (goes to the incident and to every hook)')
  .option('--yes', 'trigger, failback: confirm')
  .addOption(
    new Option(
      '--monitor <name>',
      "this monitor's name (one of failover.monitors when a quorum is set; default the host name)",
    ).env('DRKIT_FAILOVER_MONITOR'),
  )
  .option(
    '--step <n>',
    'restore: the restore step to run (its number in failover.steps; default the first restore step)',
    wholeNumber,
  )
  .action(lazy(() => import('./commands/failover.js')));

const schedule = program
  .command('schedule')
  .description("the scheduler's plan (drkit-scheduler runs it): next runs, run history, a job now");
schedule
  .command('list')
  .description("the plan's jobs (the config's schedule:, else the DR plan) and their next runs")
  .action(lazy(() => import('./commands/schedule-list.js')));
schedule
  .command('history')
  .description('runs recorded in the state store, oldest first: slot, kind, result, duration, snapshot or error code')
  .option('--job <name>', 'only this job')
  .option('--limit <n>', 'only the newest n runs', wholeNumber)
  .action(lazy(() => import('./commands/schedule-history.js')));
schedule
  .command('run')
  .description('run a job of the plan now, by hand, under the same rules as the daemon (never twice at once)')
  .argument('<name>', 'the job, as drkit schedule list names it')
  .action(lazy(() => import('./commands/schedule-run.js')));

const redis = program.command('redis').description('Redis operations for incident runbooks');
redis
  .command('revoke-tokens')
  .description('delete the keys that match a pattern (e.g. every session token): counts first, deletes only with --yes')
  .addOption(new Option('--redis <url>', 'the server, redis://[:password@]host:port[/db]').env('DRKIT_REDIS_URL'))
  .option('--source <name>', 'a redis source of the config, instead of --redis')
  .option('--pattern <glob>', "keys to delete, e.g. 'token:*' (SCAN MATCH syntax)")
  .option('--db <n>', 'only this database (repeatable); alone, without --pattern: every key of it', wholeNumbers, [])
  .option('--yes', 'delete; without it, only count')
  .action(lazy(() => import('./commands/redis-revoke.js')));

/**
 * restic's snapshot filters. They choose among snapshots before `latest` or a prefix is resolved;
 * with a config and no --host/--path, `latest` means the newest snapshot of its sources on this host.
 */
function filters(command: Command, withSource?: 'source'): Command {
  command
    .option('--host <name>', 'only snapshots of this host (repeatable: any of them)', collect, [])
    .option(
      '--path <path>',
      'only snapshots holding a source read from this path (repeatable: all of them)',
      collect,
      [],
    )
    .option('--tag <a,b>', 'only snapshots with all these tags (repeatable: any of the lists)', collect, []);
  return withSource
    ? command.option('--source <name>', 'only snapshots holding this source (repeatable: all of them)', collect, [])
    : command;
}

function signingKeyOption(description: string): Option {
  return new Option('--signing-key <file>', description).env('DRKIT_SIGNING_KEY_FILE');
}

const SEVERITY_CHOICES = ['P1', 'P2', 'P3', 'P4'];
const STATUS_CHOICES = ['investigating', 'identified', 'monitoring', 'resolved'];

const incident = program
  .command('incident')
  .description('incidents: open, update, acknowledge, resolve, list (state store only: no repository needed)');
incident
  .command('open')
  .description(
    'open an incident and notify its route at once; prints its id (with --dedup-key, updates the open one that has it)',
  )
  .addOption(
    new Option('--severity <P1|P2|P3|P4>', 'how bad: P1 critical … P4 low')
      .choices(SEVERITY_CHOICES)
      .makeOptionMandatory(),
  )
  .requiredOption('--title <text>', 'one line: what is wrong')
  .option('--component <name>', 'an affected component (repeatable)', collect, [])
  .option('--message <text>', 'the first timeline entry')
  .option('--dedup-key <key>', 'an open incident with this key is updated instead of a new one opened')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).open })));
incident
  .command('update')
  .description('add a timeline entry, optionally changing the status')
  .argument('<id>', 'incident id or a unique start of one')
  .requiredOption('--message <text>', 'what happened')
  .addOption(new Option('--status <status>', 'the new status').choices(STATUS_CHOICES))
  .option('--internal', 'keep the entry off the status page')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).update })));
incident
  .command('ack')
  .description('acknowledge: stops reminders and escalation')
  .argument('<id>', 'incident id or a unique start of one')
  .option('--by <name>', 'who takes it (default: your user name)')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).ack })));
incident
  .command('resolve')
  .description('resolve it, and tell its channels')
  .argument('<id>', 'incident id or a unique start of one')
  .option('--message <text>', 'the closing timeline entry')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).resolve })));
incident
  .command('list')
  .description('open incidents, oldest first')
  .option('--all', 'resolved ones too')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).list })));
incident
  .command('show')
  .description('an incident and its timeline')
  .argument('<id>', 'incident id or a unique start of one')
  .action(lazy(async () => ({ run: (await import('./commands/incident.js')).show })));

incident
  .command('report')
  .description(
    'write the post-incident review (YYYY-MM-DD-title.md), prefilled from the timeline and the runbook runs on it',
  )
  .argument('<id>', 'incident id or a unique start of one')
  .option('--out <dir>', 'the folder to write it to', 'docs/incident-reports')
  .action(lazy(() => import('./commands/incident-report.js')));

const notify = program.command('notify').description('the notification outbox');
notify
  .command('flush')
  .description('send every message that is due; exit 1 if any failed for good')
  .addOption(
    new Option(
      '--wait <duration>',
      'keep sending retries, reminders and digests that fall due within this long (e.g. 5m)',
    ).argParser(duration),
  )
  .action(lazy(async () => ({ run: (await import('./commands/notify.js')).flush })));
notify
  .command('status')
  .description('outbox counts, messages that missed their deadline, pending and undelivered ones, held channels')
  .action(lazy(async () => ({ run: (await import('./commands/notify.js')).status })));
notify
  .command('test')
  .description('send a test message to one channel, through the outbox')
  .argument('<channel>', 'a name under notify.channels')
  .action(lazy(async () => ({ run: (await import('./commands/notify.js')).test })));

const statusPage = program
  .command('status-page')
  .description(
    'the static status page: components, incidents, maintenance, 90-day uptime (state store only: no ' +
      'repository needed)',
  );
statusPage
  .command('build')
  .description('write index.html and summary.json into a folder (a preview; sends no reminders)')
  .requiredOption('--out <dir>', 'the folder to write them to')
  .action(lazy(async () => ({ run: (await import('./commands/status-page.js')).build })));
statusPage
  .command('publish')
  .description(
    'put the page at status_page.target (a folder or s3://bucket/prefix); open P1/P2 incidents without a ' +
      'recent public update make it say it is stale and get a reminder',
  )
  .option('--target <location>', "where to put it instead of the config's status_page.target")
  .action(lazy(async () => ({ run: (await import('./commands/status-page.js')).publish })));

const drill = program
  .command('drill')
  .description(
    'a recovery drill: restore a snapshot into a sandbox (folders, a scratch Redis), check every file and ' +
      'key, start the service there, measure RTO and RPO; exit 1 if anything failed',
  )
  .option('--snapshot <id>', 'id, unique prefix, latest or latest:TAG', 'latest')
  .addOption(
    new Option(
      '--scenario <name>',
      'restore: the snapshot; full: every source of the chain from the last full, plus a runbook in dry-run',
    )
      .choices(['restore', 'full'])
      .default('restore'),
  )
  .option('--runbook <name>', 'full scenario: the runbook run in dry-run alongside', 'server-failure')
  .option('--keep-sandbox', 'leave the sandbox (restored data, service log) in place for a look')
  .action(lazy(() => import('./commands/drill.js')));
drill
  .command('history')
  .description('every drill, oldest first: result, RTO, RPO (state store only)')
  .action(lazy(async () => ({ run: (await import('./commands/drill.js')).history })));
drill
  .command('show')
  .description("one drill's report")
  .argument('<id>', 'drill id or a unique start of one')
  .action(lazy(async () => ({ run: (await import('./commands/drill.js')).show })));

const runbook = program
  .command('runbook')
  .description(
    "runbooks as code: the DR plan's scenarios (server-failure, database-corruption, data-loss, " +
      "security-breach, cloud-outage) and the config's own",
  );
runbook
  .command('list')
  .description('every runbook: built in, or from the config')
  .action(lazy(async () => ({ run: (await import('./commands/runbook.js')).list })));
runbook
  .command('show')
  .description("a runbook's steps and what each would run")
  .argument('<name>', 'the runbook')
  .action(lazy(async () => ({ run: (await import('./commands/runbook.js')).show })));
runbook
  .command('run')
  .description(
    'run a runbook step by step, recording each on its incident (opened when --incident is not given); ' +
      'stops at the first failing step',
  )
  .argument('<name>', 'the runbook')
  .option('--dry-run', 'say what each step would do; do nothing, record nothing')
  .option('--yes', 'answer yes to every confirm step (only after reading the runbook)')
  .option('--from <step>', 'start at this step (resume a failed or killed run)')
  .option('--incident <id>', 'record on this incident instead of opening one')
  .action(lazy(async () => ({ run: (await import('./commands/runbook.js')).run })));

program
  .command('secrets')
  .description('incident response: secrets in env files')
  .command('rotate')
  .description(
    'give keys of an env file new random values; the old file is kept beside it (mode 0600); values are never printed',
  )
  .requiredOption('--env-file <file>', 'the env file (KEY=value lines)')
  .requiredOption('--keys <A,B>', 'the keys to rotate, comma-separated')
  .action(lazy(async () => ({ run: (await import('./commands/incident-tools.js')).rotate })));
program
  .command('logs')
  .description('incident response: logs')
  .command('scan')
  .description(
    'count lines matching patterns (default suspicious|error|unauthorized) in log files, gzip too: ' +
      'first/last seen, top IPs and users',
  )
  .option('--glob <glob>', "log files, e.g. 'logs/**/*.log' (repeatable)", collect, [])
  .option('--pattern <regex>', 'a case-insensitive regular expression (repeatable)', collect, [])
  .action(lazy(async () => ({ run: (await import('./commands/incident-tools.js')).scan })));

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs the command; false when it ended in an error (already reported). */
async function main(): Promise<boolean> {
  try {
    await program.parseAsync(process.argv);
    return true;
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      // Commander has printed the message; scripts with --json get it on stdout as well.
      if (err.exitCode !== 0 && process.argv.includes('--json'))
        printJson({
          error: {
            code: 'CLI_USAGE',
            message: err.message.replace(/^error: /, ''),
            hint: 'See drkit <command> --help.',
          },
        });
      return err.exitCode === 0;
    }
    const json = process.argv.includes('--json');
    const signal = interruptedBy();
    if (signal && isDrkitError(err)) await reportInterrupted(err, signal, json);
    else reportError(err, json);
    process.exitCode = isDrkitError(err) && err.code === 'CLI_USAGE' ? ExitCode.USAGE : ExitCode.ERROR;
    return false;
  }
}

/** One line: what state the interrupted command left, and the command that finishes the job. */
async function reportInterrupted(err: DrkitError, signal: NodeJS.Signals, json: boolean): Promise<void> {
  const finish = await commandToFinish(Array.isArray(err.details?.finish) ? (err.details.finish as string[]) : []);
  warn(`drkit: interrupted by ${signal} [${err.code}]: ${err.message} To finish: ${finish}`);
  if (json)
    printJson({
      error: {
        code: err.code,
        message: err.message,
        hint: `To finish: ${finish}`,
        ...(err.details ? { details: err.details } : {}),
      },
    });
}

watchOutput();
watchSignals();
const completed = await main();
const signal = interruptedBy();
if (signal) {
  if (completed) warn(`drkit: ${signal} arrived as the command finished: its work is done, as printed above.`);
  process.exitCode = exitCodeOf(signal);
}
// Writes to a pipe are asynchronous: exiting before they are out would cut the output short.
await outputFlushed();
process.exit(process.exitCode ?? 0);
