#!/usr/bin/env bash
# The dashboard's benchmark (BENCHMARKS.md, "The dashboard"): builds the release binary, generates a
# system of N accounts (default 100,000), starts `cascade serve` on it with a fresh state folder,
# waits for the watchlist's first run, then times over loopback (curl, one request at a time): the
# what-if form's run (ETH −30% at today's depth, and ETH −30% at half depth), the overview page,
# /live.json and a protocol page. Prints each request's seconds and the median and maximum.
#
# Usage: bench/dashboard.sh [--accounts N] [--rounds K]
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=100000
rounds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) accounts="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
out=target/bench/dashboard
mkdir -p "$out"
cargo build --release --locked -p cascade-cli
system="target/bench/serve/system-$accounts"
if [ ! -f "$system/snapshot.toml" ]; then
  mkdir -p target/bench/serve
  ./target/release/cascade gen --accounts "$accounts" --seed 1 --out-dir "$system"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$out/data"
cat > "$out/serve.toml" <<EOF
listen = "127.0.0.1:$port"
data = "data"
rate_per_second = 100000
rate_burst = 100000
[watchlist]
scenarios = ["eth-crash", "usdc-depeg", "steth-depeg", "bridge-hack"]
contagion = false
EOF
./target/release/cascade serve --config "$out/serve.toml" --snapshot "$system/snapshot.toml" \
  >"$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 600); do
  grep -q "watchlist refreshed" "$out/serve.log" 2>/dev/null && break
  sleep 0.1
done
echo "machine: $(nproc) cores; $(uptime)"
echo "system: $accounts accounts ($system)"
time_it() {
  local label="$1" url="$2"
  local times=()
  for _ in $(seq 1 "$rounds"); do
    local code t
    read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$url")
    [ "$code" = 200 ] || { echo "$label: HTTP $code" >&2; exit 1; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { v[NR] = $1 } END { printf "%-44s median %.3f s  max %.3f s  (%d requests)\n", label, v[int((NR + 1) / 2)], v[NR], NR }'
}
time_it "what-if ETH -30%, depth x1" "$base/what-if?asset=ETH&drop=30&liquidity=1"
time_it "what-if ETH -30%, depth x0.5" "$base/what-if?asset=ETH&drop=30&liquidity=0.5"
time_it "overview page (/)" "$base/"
time_it "tiles (/live.json)" "$base/live.json"
time_it "protocol page (/protocols/aave-v3)" "$base/protocols/aave-v3"
echo "machine after: $(uptime)"
grep "what-if run" "$out/serve.log" | tail -3 || true
