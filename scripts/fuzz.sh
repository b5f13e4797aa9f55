#!/usr/bin/env bash
# Runs every libFuzzer harness (fuzz/*_fuzz.c) for SECONDS each (default 60), one TAP line
# per harness with libFuzzer's figures: `make fuzz FUZZ_TIME=N`, and `make test` (3 s each).
# Seeds come from fuzz/corpus/<name>/ (read only); inputs found go to build/fuzz/found/<name>/,
# a crashing input to build/fuzz/crash-<name>-*. Exit status 0 only when every harness ran
# its time and found nothing. Needs clang (FUZZ_CC) with libFuzzer.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
mkdir -p "$OUT"

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "not ok 1 - fuzz: $CC not found (scripts/deps.sh installs clang and libclang-rt-14-dev)"
  exit 1
fi
if ! make --no-print-directory fuzz-build FUZZ_CC="$CC" >"$OUT/build.log" 2>&1; then
  tail -n 30 "$OUT/build.log"
  echo "not ok 1 - fuzz: the harnesses do not build (log: $OUT/build.log)"
  exit 1
fi

n=0; failed=0
for src in fuzz/*_fuzz.c; do
  name=$(basename "$src" _fuzz.c)
  n=$((n + 1))
  work="$OUT/found/$name"; log="$OUT/$name.log"
  mkdir -p "$work"
  # leaks are checked after every input; -timeout: one input may not take 10 s
  "$OUT/${name}_fuzz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$OUT/crash-$name-" \
    "$work" "fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
  secs=$(echo "$done_line" | sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
    echo "ok $n - fuzz $name: ${runs:-?} runs in ${secs:-?} s, ${cov:-cov: ?}, $(ls "$work" | wc -l) inputs in $work"
  else
    failed=$((failed + 1))
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/# /'
    echo "not ok $n - fuzz $name: exit $rc after ${runs:-?} runs (log: $log)"
  fi
done
[ "$failed" -eq 0 ]
