// Splits a step's peak RSS into anonymous memory (the program's own data) and file-backed pages
// (its binary and libraries), which GNU time's %M lumps together. The Node runtime alone keeps
// ~37 MiB of its binary resident before drkit runs a line; a Go binary like restic keeps ~16 MiB.
import { readdirSync, readFileSync } from 'node:fs';

const INTERVAL_MS = 100;

/** Pids of `root` and its descendants, from /proc/PID/task/TID/children (Linux ≥ 3.5). */
function tree(root) {
  const pids = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop();
    pids.push(pid);
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone already
    }
    for (const tid of tasks) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' '))
          if (c) todo.push(Number(c));
      } catch {}
    }
  }
  return pids;
}

function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return undefined;
  }
}

/**
 * Samples the process tree under `root` every 100 ms until `stop()`, which returns the peak
 * RssAnon and RssFile (KiB) of the process whose anon + file peaked highest, the one %M reports.
 * A peak shorter than the interval can be missed; %M stays the figure the targets use.
 */
export function sampleRss(root) {
  if (process.platform !== 'linux') return { stop: () => undefined };
  const peaks = new Map(); // pid → { anon, file, total }
  const tick = () => {
    for (const pid of tree(root)) {
      const r = rssOf(pid);
      if (!r) continue;
      const p = peaks.get(pid) ?? { anon: 0, file: 0, total: 0 };
      peaks.set(pid, {
        anon: Math.max(p.anon, r.anon),
        file: Math.max(p.file, r.file),
        total: Math.max(p.total, r.anon + r.file),
      });
    }
  };
  tick();
  const timer = setInterval(tick, INTERVAL_MS);
  return {
    stop: () => {
      clearInterval(timer);
      let top;
      for (const p of peaks.values()) if (!top || p.total > top.total) top = p;
      return top && top.total > 0 ? { anonKiB: top.anon, fileKiB: top.file } : undefined;
    },
  };
}
