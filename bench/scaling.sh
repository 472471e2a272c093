#!/usr/bin/env bash
# How load time, cascade time and peak memory grow with the number of accounts (BENCHMARKS.md,
# "Scaling"): for each size, `cascade gen --seed 1`, then `cascade stress --timings` on the
# generated snapshot (the generic shock: the most-held volatile asset −30%) once with all cores
# and once with one thread, each under `/usr/bin/time -v` for the peak resident size.
#
# Usage: bench/scaling.sh [SIZES…]   (default: 10000 100000 1000000 4000000 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000 1000000 4000000 10000000)
cargo build --release --locked -p cascade-cli >/dev/null
bin=./target/release/cascade
out=target/bench/scaling
mkdir -p "$out"
echo "machine: $(nproc) cores; $(uptime)"
echo "| accounts | positions | load, 2 threads | cascade, 2 threads | peak RSS, 2 threads | load, 1 thread | cascade, 1 thread | peak RSS, 1 thread |"
echo "|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  dir="$out/system-$n"
  if [ ! -f "$dir/snapshot.toml" ]; then
    "$bin" gen --accounts "$n" --seed 1 --out-dir "$dir" >"$out/gen-$n.txt" 2>&1
  fi
  positions=$(grep -o '[0-9]* positions' "$out/gen-$n.txt" | head -1 | cut -d' ' -f1 || true)
  row="| $n | ${positions:-?} |"
  for threads in 2 1; do
    /usr/bin/time -v "$bin" stress --snapshot "$dir/snapshot.toml" --threads "$threads" --timings \
      >/dev/null 2>"$out/stress-$n-$threads.txt"
    # "timings: load 0.010 s (…), cascade 0.005 s (…)"
    load=$(sed -n 's/^timings: load \([0-9.]*\) s.*/\1 s/p' "$out/stress-$n-$threads.txt")
    cascade=$(sed -n 's/^timings: .*, cascade \([0-9.]*\) s.*/\1 s/p' "$out/stress-$n-$threads.txt")
    rss=$(awk '/Maximum resident set size/ {printf "%.0f MiB", $6/1024}' "$out/stress-$n-$threads.txt")
    row="$row $load | $cascade | $rss |"
  done
  echo "$row"
done
echo "machine after: $(uptime)"
