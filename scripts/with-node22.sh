#!/usr/bin/env bash
# Runs a command with Node 22 first on PATH (zstd is native there), installing a local Node 22
# from the npm `node@22` package into .tools/ when missing. The system node is never replaced.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node22"
bin="$dir/node_modules/node/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  # The package's install script fetches the platform binary package; npm 11 must be told to run it.
  echo '{"name":"drkit-node22","private":true,"allowScripts":{"node":true}}' > "$dir/package.json"
  (cd "$dir" && npm install --no-save --no-audit --no-fund node@22 >/dev/null)
fi
export PATH="$bin:$PATH"
echo "with-node22: $(node --version)" >&2
exec "$@"
