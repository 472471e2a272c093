#!/usr/bin/env bash
# The Python package's benchmark (BENCHMARKS.md, "Python and Ray"): builds the release CLI and the
# package (python/test.sh's virtual environment, target/python-venv), generates a system of N accounts
# (default 100,000), then on the same cores: `cascade simulate` with P paths (default 10,000), the
# same simulation from Python in one process, and through Ray on a local cluster with 1 and then 2
# workers (one CPU and one rayon thread each: RAYON_NUM_THREADS=1), each checked to give the CLI's
# figures; the time of each shard; and cascade.greeks on 10 million options.
#
# Usage: bench/python.sh [--accounts N] [--paths P]
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=100000
paths=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) accounts="$2"; shift 2 ;;
    --paths) paths="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
cargo build --release --locked -p cascade-cli
venv=target/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "./python[test]"
system="target/bench/serve/system-$accounts"
if [ ! -f "$system/snapshot.toml" ]; then
  mkdir -p target/bench/serve
  ./target/release/cascade gen --accounts "$accounts" --seed 1 --out-dir "$system"
fi
out=target/bench/python
mkdir -p "$out"
echo "machine: $(nproc) cores; $(uptime)"
start=$(date +%s.%N)
./target/release/cascade simulate --snapshot "$system/snapshot.toml" --paths "$paths" --seed 1 \
  --json --output "$out/cli.json"
end=$(date +%s.%N)
echo "cascade simulate, $paths paths × $accounts accounts: $(python3 -c "print(round($end - $start, 2))") s (load included)"
RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 "$venv/bin/python" - "$system/snapshot.toml" "$paths" "$out/cli.json" <<'EOF'
import json, os, sys, time

import numpy as np
import ray

import cascade
import cascade.distributed as cd

path, paths, cli = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
t = time.perf_counter()
snap = cascade.load(path)
print(f"load from Python: {time.perf_counter() - t:.2f} s")
t = time.perf_counter()
one = snap.simulate(paths=paths, seed=1)
print(f"Snapshot.simulate (one process, every core): {time.perf_counter() - t:.2f} s; same as the CLI: {one.metrics == cli}")

for workers in (1, 2):
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"RAYON_NUM_THREADS": "1"}})
    ref = ray.put(snap)

    @ray.remote
    def shard(s, a, b):
        t = time.perf_counter()
        part = s.simulate_shard(a, b, paths=paths, seed=1)
        return part, time.perf_counter() - t

    bounds = cd.shard_bounds(paths, 4 * workers)
    t = time.perf_counter()
    got = ray.get([shard.remote(ref, a, b) for a, b in bounds])
    merged = snap.merge_simulation([g[0] for g in got], paths=paths, seed=1)
    wall = time.perf_counter() - t
    per = [g[1] for g in got]
    print(f"Ray, {workers} worker(s) × 1 thread, {len(bounds)} shards of ~{paths // len(bounds)} paths: "
          f"{wall:.2f} s wall ({paths / wall:.0f} paths/s); shard times {min(per):.2f}–{max(per):.2f} s "
          f"(mean {sum(per) / len(per):.2f} s); same as the CLI: {merged.metrics == cli}")
    ray.shutdown()

n = 10_000_000
rng = np.random.default_rng(1)
s = rng.uniform(50, 150, n); k = rng.uniform(50, 150, n); r = np.full(n, 0.03)
v = rng.uniform(0.1, 1.0, n); T = rng.uniform(0.05, 2.0, n); kind = np.where(rng.random(n) < 0.5, "call", "put")
is_call = kind == "call"
for label, f in [("kind an array of strings", lambda: cascade.greeks(s, k, r, v, T, kind)),
                 ("kind a bool array (True: call)", lambda: cascade.greeks(s, k, r, v, T, is_call)),
                 ("kind \"call\" for all", lambda: cascade.greeks(s, k, r, v, T, "call"))]:
    f()
    t = time.perf_counter(); f(); dt = time.perf_counter() - t
    print(f"greeks from Python, {n:,} options, {label}: {dt:.3f} s = {n / dt / 1e6:.1f}M options/s")
EOF
echo "machine after: $(uptime)"
