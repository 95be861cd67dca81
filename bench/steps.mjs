// Benchmark steps, as data. bench/run.mjs runs them in this order.
//
// Adding a step (S3 backup, encrypted backup, restic, borg, Redis, ...) means adding one object
// to STEPS. Every function gets the context `c` built by run.mjs:
//
//   c.q(str)        shell-quote a string for bash
//   c.node          absolute path of the node binary running the bench
//   c.cli           absolute path of drkit's CLI (apps/cli/dist/main.js, or --cli)
//   c.tree          absolute path of the generated reference tree (read-only for steps!)
//   c.treeBytes     total bytes of the tree's files
//   c.file(name)    absolute path of `name` inside the scratch dir (wiped at start and end)
//   c.scale, c.runs the options in force
//
// Fields (only id, label, group and command are required):
//   id          unique name, used by --only and in latest.json
//   label       text of the table row
//   group       'backup' | 'verify' | 'restore' | 'hash' | ... (free text, informative)
//   tools       commands that must be on PATH; a missing one skips the step with an install hint
//   install     { tool: 'how to install' } hints for missing tools (default: apt-get install -y TOOL)
//   available(c)  -> null, or a reason string why the step cannot run (e.g. CLI not built,
//                 service env var not set); the step is then reported as failed with that reason
//   requires    ids of steps whose output this step reads; if such a step has not succeeded yet in
//               this invocation (e.g. with --only), it is run once, untimed, first
//   env(c)      -> extra environment variables for prepare/command (e.g. RESTIC_PASSWORD)
//   prepare(c)  -> bash snippet run untimed before EVERY run (e.g. remove the previous repo)
//   command(c)  -> bash snippet that is timed; runs under `set -o pipefail`, cwd = scratch dir
//   outputs(c)  -> paths whose `du -sb` total is the step's output size (after the last run)
//   check(c)    -> null, or a warning string (after the last run; e.g. restored tree mismatch)
//   collect(c)  -> object of extra facts for the report (e.g. drkit's codec), after success
//   cleanup(c)  -> bash snippet run untimed after the last run (e.g. delete a restore target)
//   anchors     ids of reference steps this one is compared with (time and size ratios)

const drkitAvailable = (c) => (c.cliExists ? null : `drkit CLI not built (${c.cliRel} missing; run pnpm build)`);

export const STEPS = [
  {
    id: 'drkit-backup',
    label: 'drkit init+backup',
    group: 'backup',
    available: drkitAvailable,
    prepare: (c) => `rm -rf ${c.q(c.file('drkit-repo'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} init --repo ${c.q(c.file('drkit-repo'))} > /dev/null && ` +
      `${c.q(c.node)} ${c.q(c.cli)} backup ${c.q(c.tree)} --repo ${c.q(c.file('drkit-repo'))} --json > ${c.q(c.file('drkit-backup.json'))}`,
    outputs: (c) => [c.file('drkit-repo')],
    check: (c) => {
      const r = c.readJson(c.file('drkit-backup.json'));
      return r.jsonError ?? (r.json?.id ? null : 'backup --json printed no "id"');
    },
    collect: (c) => c.readJson(c.file('drkit-backup.json')),
    anchors: ['tar-zstd', 'tar-gzip'],
  },
  {
    id: 'drkit-verify',
    label: 'drkit verify latest',
    group: 'verify',
    available: drkitAvailable,
    requires: ['drkit-backup'],
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} verify latest --repo ${c.q(c.file('drkit-repo'))} --json > ${c.q(c.file('drkit-verify.json'))}`,
    collect: (c) => c.readJson(c.file('drkit-verify.json')),
    anchors: ['sha256sum'],
  },
  {
    id: 'drkit-restore',
    label: 'drkit restore latest',
    group: 'restore',
    available: drkitAvailable,
    requires: ['drkit-backup'],
    prepare: (c) => `rm -rf ${c.q(c.file('drkit-target'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} restore latest --target ${c.q(c.file('drkit-target'))} --repo ${c.q(c.file('drkit-repo'))}`,
    outputs: (c) => [c.file('drkit-target')],
    check: (c) => c.compareWithTree(c.file('drkit-target')),
    cleanup: (c) => `rm -rf ${c.q(c.file('drkit-target'))}`,
    anchors: ['tar-xzf'],
  },
  {
    id: 'tar-gzip',
    label: 'tar | gzip -6',
    group: 'backup',
    tools: ['tar', 'gzip'],
    command: (c) => `tar -cf - -C ${c.q(c.tree)} . | gzip -6 > ${c.q(c.file('out.tar.gz'))}`,
    outputs: (c) => [c.file('out.tar.gz')],
  },
  {
    id: 'tar-zstd',
    label: 'tar | zstd -3 -T0',
    group: 'backup',
    tools: ['tar', 'zstd'],
    command: (c) => `tar -cf - -C ${c.q(c.tree)} . | zstd -3 -T0 -q > ${c.q(c.file('out.tar.zst'))}`,
    outputs: (c) => [c.file('out.tar.zst')],
  },
  {
    id: 'tar-xzf',
    label: 'tar -xzf (restore)',
    group: 'restore',
    tools: ['tar', 'gzip'],
    requires: ['tar-gzip'],
    prepare: (c) => `rm -rf ${c.q(c.file('tar-target'))} && mkdir -p ${c.q(c.file('tar-target'))}`,
    command: (c) => `tar -xzf ${c.q(c.file('out.tar.gz'))} -C ${c.q(c.file('tar-target'))}`,
    outputs: (c) => [c.file('tar-target')],
    check: (c) => c.compareWithTree(c.file('tar-target')),
    cleanup: (c) => `rm -rf ${c.q(c.file('tar-target'))}`,
  },
  {
    id: 'sha256sum',
    label: 'find | xargs sha256sum',
    group: 'hash',
    tools: ['find', 'xargs', 'sha256sum'],
    command: (c) => `find ${c.q(c.tree)} -type f -print0 | xargs -0 sha256sum > /dev/null`,
  },
];

// Example of a later step (sketch, not enabled):
// {
//   id: 'restic-backup', label: 'restic init+backup', group: 'backup', tools: ['restic'],
//   install: { restic: 'apt-get install -y restic' },
//   env: () => ({ RESTIC_PASSWORD: 'bench' }),
//   prepare: (c) => `rm -rf ${c.q(c.file('restic-repo'))}`,
//   command: (c) => `restic init -q -r ${c.q(c.file('restic-repo'))} && restic backup -q -r ${c.q(c.file('restic-repo'))} ${c.q(c.tree)}`,
//   outputs: (c) => [c.file('restic-repo')],
// },
