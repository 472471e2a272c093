#!/usr/bin/env bash
# Usage: start-node.sh PORT LOGFILE
# Starts a hardhat node on 127.0.0.1:PORT in the background with Aave's Test
# market deployed at start-up, waits (<= 120 s) until eth_blockNumber answers,
# and prints the node's PID on stdout (nothing else). The caller stops it with
# `kill PID`. The hardhat-deploy export (all Aave deployment addresses) goes to
# $EVM_OUT/deployments.json (EVM_OUT defaults to <this dir>/out); populate.js
# reads it from there. Use a distinct EVM_OUT per node when running several.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -ne 2 ]; then
  echo "usage: $0 PORT LOGFILE" >&2
  exit 2
fi
PORT="$1"
LOG="$2"
OUT="${EVM_OUT:-$DIR/out}"
TIMEOUT="${EVM_START_TIMEOUT:-120}"
mkdir -p "$OUT" "$(dirname "$LOG")"
if ! command -v node >/dev/null 2>&1; then echo "start-node.sh: node not found" >&2; exit 2; fi
if [ ! -f "$DIR/node_modules/hardhat/internal/cli/cli.js" ]; then
  echo "start-node.sh: dependencies missing; run $DIR/setup.sh first" >&2; exit 2
fi

rpc_ok() {
  curl -s -m 2 -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' \
    "http://127.0.0.1:$PORT" 2>/dev/null | grep -q '"result"'
}
if rpc_ok; then
  echo "start-node.sh: something already answers JSON-RPC on 127.0.0.1:$PORT" >&2
  exit 1
fi
rm -f "$OUT/deployments.json"

cd "$DIR"
# setsid: own process group, so the node survives the caller's shell job control;
# the printed PID is the hardhat node process itself (no npx wrapper in between).
MARKET_NAME=Test setsid node "$DIR/node_modules/hardhat/internal/cli/cli.js" node \
  --hostname 127.0.0.1 --port "$PORT" --export "$OUT/deployments.json" \
  </dev/null >"$LOG" 2>&1 &
PID=$!

deadline=$(( $(date +%s) + TIMEOUT ))
until rpc_ok && [ -s "$OUT/deployments.json" ]; do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "start-node.sh: hardhat node exited during start-up; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "start-node.sh: node did not answer on port $PORT within ${TIMEOUT}s; killing $PID" >&2
    kill "$PID" 2>/dev/null || true
    exit 1
  fi
  sleep 0.5
done
echo "$PID"
