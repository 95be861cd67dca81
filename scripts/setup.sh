#!/usr/bin/env bash
# One-time setup on a fresh Debian/Ubuntu machine with Node >= 20.19: system tools the tests
# use, pnpm, the workspace's packages, and a first build.
set -euo pipefail
cd "$(dirname "$0")/.."

# GNU tar + zstd (the format promise is tested with them), setpriv (permission tests as nobody),
# GNU time (benchmarks), redis-server + redis-cli (Redis tests start their own servers), etcd.
need=()
command -v tar >/dev/null || need+=(tar)
command -v zstd >/dev/null || need+=(zstd)
command -v setpriv >/dev/null || need+=(util-linux)
[ -x /usr/bin/time ] || need+=(time)
# age + age-keygen: the format promise for encrypted repositories is tested against Debian's age.
command -v age >/dev/null || need+=(age)
command -v script >/dev/null || need+=(bsdutils)
command -v redis-server >/dev/null || need+=(redis-server)
# etcd (a lease backend): the lease tests start their own single-member servers.
command -v etcd >/dev/null || need+=(etcd-server)
# openssl: the email tests make a self-signed certificate for their SMTP server.
command -v openssl >/dev/null || need+=(openssl)
# chromium: the status page is tested in Debian's headless browser (driven by playwright-core, which downloads none).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The scheduler's tests: Prometheus scrapes its /metrics (promtool checks them), Alertmanager posts
# to its webhook (chromium, above, renders its pages).
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "setup: please install: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# The S3 tests run moto's S3-compatible server (python3 with moto[server]; the machine image has it).
if ! "${DRKIT_TEST_PYTHON:-python3}" -c 'import moto.server' 2>/dev/null &&
  ! "${DRKIT_TEST_PYTHON:-python3}" -m pip install -q 'moto[server]' 2>/dev/null; then
  echo "setup: warning: the S3 tests need moto's server: python3 -m pip install 'moto[server]' (or set DRKIT_TEST_PYTHON)" >&2
fi

# corepack on Node 20 fails pnpm's signature check, so pnpm comes from npm.
if [ "$(pnpm --version 2>/dev/null)" != "12.4.2" ]; then npm i -g pnpm@12.4.2; fi
export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile
pnpm build
# drkit (and every other app's command) on PATH: shims in $DRKIT_BIN_DIR, else /usr/local/bin as
# root, else ~/.local/bin, running this checkout's build.
node scripts/link-bins.mjs
