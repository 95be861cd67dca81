// The S3-compatible server of the S3 bench steps: moto's server (python3 with moto[server]),
// started on first use on a fixed port of 127.0.0.1, fresh (in memory) for every run, and
// stopped when the harness exits. Steps use it through the helpers below.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const { env: ENV } = process;
const PYTHON = ENV.DRKIT_TEST_PYTHON ?? 'python3';
export const S3_PORT = 40_000 + (process.pid % 10_000);
export const S3_BUCKET = 'drkit-bench';
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench-secret', AWS_REGION: 'us-east-1' };
const pidFile = path.join(os.tmpdir(), `drkit-bench-s3-${S3_PORT}.pid`);

/** null, or why the S3 steps cannot run here. */
export function s3Available() {
  const r = spawnSync(PYTHON, ['-c', 'import moto.server'], { stdio: 'ignore' });
  return r.status === 0
    ? null
    : `moto's S3 server is not importable with ${PYTHON} (python3 -m pip install 'moto[server]')`;
}

/** Bash: (re)start a fresh server and create the bucket; untimed, before every run. */
export function s3Fresh(c) {
  const pid = c.q(pidFile);
  const url = `http://127.0.0.1:${S3_PORT}`;
  return (
    `{ [ -f ${pid} ] && kill "$(cat ${pid})" 2>/dev/null; rm -f ${pid}; sleep 0.2; } ; ` +
    `( ${c.q(PYTHON)} -m moto.server -H 127.0.0.1 -p ${S3_PORT} >/dev/null 2>&1 & echo $! > ${pid} ) && ` +
    `for i in $(seq 100); do ${c.q(c.node)} -e "fetch('${url}/${S3_BUCKET}',{method:'PUT'}` +
    `).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break; sleep 0.1; done`
  );
}

export function s3Stop() {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
  } catch {}
  rmSync(pidFile, { force: true });
}
process.on('exit', s3Stop);
