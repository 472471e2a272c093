#!/usr/bin/env bash
# The one command that regenerates BENCHMARKS.md: builds the release binary, runs the whole
# suite (`cascade bench --emit`, the issue's sizes), installs and runs the Python peers against the
# same inputs, and renders the page. Takes a few minutes; needs PyPI for the peers' first install.
# Usage: bench/run.sh [--no-peers]
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench/run
mkdir -p "$out"
cargo build --release --locked -p cascade-cli
./target/release/cascade bench --out-dir "$out" --json > "$out/cascade.json"
peers=()
if [ "${1:-}" != "--no-peers" ]; then
  bench/peers/setup.sh target/bench/venv
  target/bench/venv/bin/python bench/peers/run_peers.py "$out" > "$out/peers.json"
  peers=(--peers "$out/peers.json")
fi
{
  ./target/release/cascade bench --render "$out/cascade.json" "${peers[@]}"
  echo
  cat bench/history.md
} > BENCHMARKS.md.tmp
mv BENCHMARKS.md.tmp BENCHMARKS.md
echo "wrote BENCHMARKS.md (inputs and outputs in $out)"
