#!/usr/bin/env bash
# The import benchmark (BENCHMARKS.md, "Import (Aave v3 on a local node)"): a local hardhat node
# running Aave's v3 Test market (evm/) with ACCOUNTS generated borrowers on top of populate.js's 30
# accounts, read by `cascade import aave-v3` (release binary): users found in the pool's logs
# (`--from-block 0`), users from a file (`--users`), and for comparison the file again with
# `--no-multicall` (one eth_call per call; NO_PLAIN=1 skips it). Each run's wall clock, the cascade
# process's own CPU time (user + sys) and the node's CPU time over the same run are measured. Every
# output must pass `cascade validate`, hold at least ACCOUNTS accounts, and be the same bytes. The node is stopped on exit (KEEP=1 keeps it
# running and prints how to reach and stop it). Takes 4-8 minutes for 10,000 accounts, most of it
# populating (not measured).
#
# Usage: bench/import.sh [ACCOUNTS]          (default 10000)
# The issue's targets, for 10,000 accounts on 2 cores: wall <= 30 s, cascade's CPU <= 10% of wall.
# Timing uses GNU time (/usr/bin/time) when present, else bash's `times` (NO_GNU_TIME=1 forces it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
accounts="${1:-10000}"
out=$root/target/bench/import
rm -rf "$out"
mkdir -p "$out"

cargo build --release --locked -p cascade-cli
cascade=$root/target/release/cascade
version="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ', uncommitted changes')"
bash evm/setup.sh >/dev/null

# A free loopback port: one nothing answers on.
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "import.sh: no free port found" >&2; exit 1; }

export EVM_OUT=$out/evm EVM_PORT=$port
t=$(date +%s.%N)
pid=$(bash evm/start-node.sh "$port" "$out/node.log")
stop() { [ -n "${pid:-}" ] && [ -z "${KEEP:-}" ] && kill "$pid" 2>/dev/null || true; }
trap stop EXIT
echo "node on 127.0.0.1:$port (pid $pid), up in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
(cd evm && node populate.js) > "$out/populate.json" || { cat "$out/populate.json" >&2; exit 1; }
(cd evm && ACCOUNTS="$accounts" node populate-many.js) > "$out/populate-many.json" ||
  { cat "$out/populate-many.json" >&2; exit 1; }
node -e 'const p=require(process.argv[1]), m=require(process.argv[2]);
  console.error(`populate.js ${p.seconds} s; populate-many.js: ${m.accounts} accounts (${m.borrowers} borrowers, ${m.emode} in e-mode, ${m.idleSuppliers} idle), ${m.transactions} transactions in ${m.blocks} blocks, ${m.seconds} s`)' \
  "$out/populate.json" "$out/populate-many.json"
provider=$(node -e 'console.log(require(process.argv[1]).aave.PoolAddressesProvider)' "$EVM_OUT/addresses.json")
users_file=$EVM_OUT/users-many.txt
url=http://127.0.0.1:$port

tck=$(getconf CLK_TCK)
# The node's CPU seconds so far (utime + stime of its process).
node_cpu() { awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
# run NAME ARGS...: one timed import into $out/NAME, then validated.
run() {
  local name=$1
  shift
  local dir=$out/$name
  local n0 n1 wall user sys
  n0=$(node_cpu)
  if [ -x /usr/bin/time ] && [ -z "${NO_GNU_TIME:-}" ]; then
    /usr/bin/time -f '%e %U %S' -o "$out/$name.time" \
      "$cascade" import aave-v3 --rpc "$url" --pool-addresses-provider "$provider" "$@" --out-dir "$dir" \
      2> "$out/$name.log"
    read -r wall user sys < "$out/$name.time"
  else
    # bash's `times` in a fresh subshell: its children's user and sys time are cascade's.
    local t0 t1 tm
    t0=$(date +%s.%N)
    tm=$( (
      "$cascade" import aave-v3 --rpc "$url" --pool-addresses-provider "$provider" "$@" --out-dir "$dir" \
        2> "$out/$name.log" || exit 1
      times
    ) | tail -n 1)
    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    read -r user sys < <(echo "$tm" | awk 'function s(x, a) { split(x, a, "m"); sub(/s$/, "", a[2]); return a[1] * 60 + a[2] }
      { print s($1), s($2) }')
  fi
  n1=$(node_cpu)
  cat "$out/$name.log" >&2
  "$cascade" validate --snapshot "$dir/snapshot.toml" > "$out/$name.validate" 2>&1 ||
    { cat "$out/$name.validate" >&2; echo "import.sh: $name: cascade validate failed" >&2; exit 1; }
  local requests batches inside users
  requests=$(grep -o '[0-9]* requests in' "$out/$name.log" | tail -n 1 | cut -d' ' -f1)
  batches=$(grep -o '[0-9]* batches' "$out/$name.log" | tail -n 1 | cut -d' ' -f1)
  inside=$(grep -o '[0-9]* calls inside multicalls' "$out/$name.log" | tail -n 1 | cut -d' ' -f1)
  # The accounts as cascade validate counts them in what was written.
  users=$(grep -o '[0-9]* accounts,' "$out/$name.validate" | tail -n 1 | cut -d' ' -f1)
  [ "${users:-0}" -ge "$accounts" ] ||
    { echo "import.sh: $name: $users accounts with positions, expected at least $accounts" >&2; exit 1; }
  rows+=("$(awk -v n="$name" -v u="$users" -v r="$requests" -v b="$batches" -v m="$inside" -v w="$wall" -v us="$user" -v sy="$sys" -v nd="$n1" -v n0="$n0" \
    'BEGIN { c = us + sy; printf "| %s | %d | %d (%d in multicalls) | %d | %.2f | %.2f (%.2f + %.2f) | %.1f%% | %.1f | %s |", n, u, r, m, b, w, c, us, sy, 100 * c / w, nd - n0, (w <= 30 && c <= 0.1 * w) ? "met" : "missed" }')")
}

run logs --from-block 0
run file --users "$users_file"
# For comparison: the same users with one eth_call per call (JSON-RPC batches of 200, no multicall).
[ -n "${NO_PLAIN:-}" ] || run plain --users "$users_file" --no-multicall
for r in file $([ -n "${NO_PLAIN:-}" ] || echo plain); do
  for f in snapshot.toml positions.parquet; do
    cmp -s "$out/logs/$f" "$out/$r/$f" || { echo "import.sh: $f differs between runs logs and $r" >&2; exit 1; }
  done
done

echo
echo "Aave v3 Test market on a local hardhat node, $accounts generated accounts + populate.js's, $(nproc) cores"
echo "(cascade $version)"
echo
echo "| run | accounts written (cascade validate) | requests (calls inside multicalls) | batches | wall s | cascade CPU s (user + sys) | CPU / wall | node CPU s | ≤ 30 s, CPU ≤ 10% |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "every output passes cascade validate; all are the same bytes (inputs and logs in $out)"
echo "load average before the runs: $load0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${KEEP:-}" ]; then echo "node kept running: EVM_PORT=$port EVM_OUT=$EVM_OUT, kill $pid"; fi
