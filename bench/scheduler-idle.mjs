// The idle cost of drkit-scheduler: RSS and CPU of the daemon over 60 s with the default plan and
// nothing due (targets: ≤ 80 MiB RSS, ≤ 1 % of one core). Run by `pnpm bench`, or alone:
// `node bench/scheduler-idle.mjs [--seconds N]`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEDULER = path.join(ROOT, 'apps/scheduler/dist/main.js');
const CLI = path.join(ROOT, 'apps/cli/dist/main.js');
export const IDLE_TARGETS = { rssMiB: 80, cpuPercent: 1 };

/** utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

function rssMiB(pid) {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

/** A zone whose next hourly slot is more than `seconds` + 30 s away, so the hourly job is not due in the window. */
function quietZone(seconds) {
  const now = Date.now();
  for (const [zone, offsetMin] of [
    ['UTC', 0],
    ['Asia/Kolkata', 30],
    ['Asia/Kathmandu', 45],
  ]) {
    const hour = 3_600_000;
    const next = Math.ceil((now + offsetMin * 60_000) / hour) * hour - offsetMin * 60_000;
    if (next - now > (seconds + 30) * 1000) return zone;
  }
  return 'Asia/Kathmandu';
}

export async function measureSchedulerIdle({ seconds = 60 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drkit-bench-scheduler-'));
  try {
    const config = path.join(dir, 'drkit.config.yaml');
    writeFileSync(
      config,
      `repository: ${dir}/repo\nstate: ${dir}/state\nsources: [{ name: data, type: files, ` +
        `path: ${ROOT}/packages/errors }]\nschedule: { timezone: ${quietZone(seconds)} }\n`,
    );
    spawnSync(process.execPath, [CLI, 'init', '--config', config], { stdio: 'ignore' });
    const child = spawn(process.execPath, [SCHEDULER, '--config', config, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`drkit-scheduler exited ${code}: ${out}`)));
    });
    // Start-up (reading the snapshot list once) is not idle: measure from 2 s later.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpu0 = cpuSeconds(child.pid);
    const t0 = performance.now();
    let peak = 0;
    while (performance.now() - t0 < seconds * 1000) {
      peak = Math.max(peak, rssMiB(child.pid));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const cpu = cpuSeconds(child.pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const ran = out.split('\n').filter((l) => l.includes('"runId"')).length;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
    const result = {
      seconds: Math.round(wall),
      peakRssMiB: Math.round(peak * 10) / 10,
      cpuSeconds: Math.round(cpu * 1000) / 1000,
      cpuPercent: Math.round((cpu / wall) * 10000) / 100,
      jobLines: ran,
    };
    return {
      ...result,
      ok: result.peakRssMiB <= IDLE_TARGETS.rssMiB && result.cpuPercent <= IDLE_TARGETS.cpuPercent && ran === 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--seconds');
  const r = await measureSchedulerIdle({ seconds: i > 0 ? Number(process.argv[i + 1]) : 60 });
  console.log(
    `drkit-scheduler idle, default plan, nothing due, ${r.seconds} s: peak RSS ${r.peakRssMiB} MiB (target ` +
      `≤ ${IDLE_TARGETS.rssMiB}), CPU ${r.cpuSeconds} s = ${r.cpuPercent} % of one core (target ` +
      `≤ ${IDLE_TARGETS.cpuPercent} %)${r.ok ? '' : ' — MISSED'}`,
  );
  process.exitCode = r.ok ? 0 : 1;
}
