#!/usr/bin/env bash
# Runs every loader fuzz target for SECONDS (default 600) each, one after another, from seeds made of the
# repository's examples; prints one summary line per target. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Usage: fuzz/run.sh [SECONDS] [TARGET…]   — see docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v cascade-fuzz))
fi

seed() { # target → seed folder filled from the examples
  local t=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case $t in
    snapshot)
      for f in examples/builtin/system.toml examples/worked/snapshot.toml examples/replays/*/snapshot*.toml; do
        { printf '\0'; cat "$f"; } > "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
        # The same snapshot as JSON (odd first byte), converted with Python's tomllib.
        { printf '\1'; python3 -c 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb")), indent=1))' "$f"; } \
          > "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f" .toml).json"
      done ;;
    scenario)
      for f in examples/builtin/*-*.toml examples/*/scenario*.toml examples/replays/*/scenario*.toml; do
        [ -f "$f" ] && { printf '\0'; cat "$f"; } > "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
      done ;;
    positions_csv|positions_parquet)
      local fmt=${t#positions_} tmp
      tmp=$(mktemp -d)
      cargo run -q -p cascade-cli -- gen --accounts 40 --seed 1 --derivative-accounts 5 \
        --format "$fmt" --out-dir "$tmp" >/dev/null
      cp "$tmp"/positions.* "$dir/seed-gen.$fmt"
      rm -rf "$tmp" ;;
    network_csv)
      # The first byte picks the file kind (see fuzz_targets/network_csv.rs).
      for f in examples/networks/*.csv; do
        case $f in
          *liabilities*) k='\0' ;; *external*) k='\1' ;; *exposures*) k='\2' ;; *) k='\3' ;;
        esac
        { printf "$k"; cat "$f"; } > "$dir/seed-$(basename "$f")"
      done ;;
    options_csv)
      cp crates/cli/tests/golden/options.csv "$dir/seed-options.csv" ;;
  esac
}

for t in "${targets[@]}"; do
  seed "$t"
  log=fuzz/artifacts/$t.log
  mkdir -p fuzz/artifacts/$t
  start=$(date +%s)
  # -detect_leaks=0: LeakSanitizer reports glibc's thread-local destructor registration
  # (__cxa_thread_atexit_impl) when an input first starts the loader's scoped reader thread; the
  # reported input does not reproduce alone. Leaks are not what these targets look for.
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 > "$log" 2>&1 && rc=0 || rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  files=$(ls "fuzz/corpus/$t" | wc -l)
  crashes=$(ls "fuzz/artifacts/$t" | wc -l)
  panics=$(grep -c "panicked at" "$log" || true)
  echo "$t: exit $rc, ${took}s, ${execs:-?} runs, ${rate:-?} exec/s, corpus $files files, $crashes crash files, $panics panic lines"
done
