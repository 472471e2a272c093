#!/usr/bin/env bash
# The live monitor's benchmark (BENCHMARKS.md, "cascade serve"): builds the release binary and the
# load generator, generates a 1M-account system, starts `cascade serve` on it with a fresh state
# folder and a 4-scenario watchlist, and drives it on loopback with a bounded number of
# connections (crates/serve/examples/loadgen.rs): update→read-back latency, sustained ingest of
# price and position batches while the watchlist runs, watchlist refresh time, peak RSS, restart
# after SIGTERM and after kill -9. Then the in-process figures of `cargo bench --bench live`.
#
# Usage: bench/serve.sh [--accounts N] [--skip-live-bench] [--with-nats] [loadgen flags…]
#   e.g. bench/serve.sh --connections 4 --seconds 10
#   JetStream: --with-nats starts a nats-server with JetStream on a free loopback port (Debian's
#   nats-server) and has the service ingest from it too; or pass --jetstream nats://HOST:PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=1000000
live_bench=1
with_nats=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) accounts="$2"; shift 2 ;;
    --skip-live-bench) live_bench=0; shift ;;
    --with-nats) with_nats=1; shift ;;
    *) pass+=("$1"); shift ;;
  esac
done
out=target/bench/serve
mkdir -p "$out"
cargo build --release --locked -p cascade-cli
cargo build --release --locked -p cascade-serve --example loadgen
system="$out/system-$accounts"
if [ ! -f "$system/snapshot.toml" ]; then
  ./target/release/cascade gen --accounts "$accounts" --seed 1 --out-dir "$system"
fi
if [ "$with_nats" = 1 ]; then
  nats=$(command -v nats-server || echo /usr/sbin/nats-server)
  nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$out/nats"
  "$nats" -js -a 127.0.0.1 -p "$nport" -sd "$out/nats" >"$out/nats.log" 2>&1 &
  nats_pid=$!
  trap 'kill $nats_pid 2>/dev/null || true' EXIT
  pass+=(--jetstream "nats://127.0.0.1:$nport")
fi
echo "machine: $(nproc) cores; $(uptime)"
./target/release/examples/loadgen --cascade target/release/cascade \
  --snapshot "$system/snapshot.toml" --work "$out/run" "${pass[@]}" | tee "$out/table.md"
echo "machine after: $(uptime)"
if [ "$live_bench" = 1 ]; then
  # In-process, for comparison: the same update → summary + ladder without HTTP or the log.
  CASCADE_LIVE_ACCOUNTS="$accounts" cargo bench --locked -p cascade-serve --bench live -- \
    --warm-up-time 1 --measurement-time 3 2>&1 | tee "$out/live-bench.txt" |
    grep -E "^(generate|Live::new|one price|  |price updates|position changes|checkpoint)"
fi
