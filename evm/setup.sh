#!/usr/bin/env bash
# Installs the harness's npm dependencies exactly as pinned in package-lock.json.
# Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"

if ! command -v node >/dev/null 2>&1; then
  echo "setup.sh: 'node' not found on PATH; install Node.js >= 18 (tested with v20.20.2)" >&2
  exit 2
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup.sh: 'npm' not found on PATH; install npm (tested with 11.19.1)" >&2
  exit 2
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 18 ]; then
  echo "setup.sh: Node.js $(node --version) is too old; need >= 18" >&2
  exit 2
fi

STAMP="node_modules/.cascade-evm-lock.sha256"
WANT="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -f node_modules/hardhat/package.json ]; then
  echo "setup.sh: node_modules is current (package-lock.json unchanged); nothing to do"
  exit 0
fi

echo "setup.sh: running npm ci (offline-safe: only the npm registry is used)"
npm ci --no-audit --no-fund --loglevel=error
echo "$WANT" > "$STAMP"
echo "setup.sh: done"
