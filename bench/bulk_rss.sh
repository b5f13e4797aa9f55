#!/usr/bin/env bash
# Peak RSS of `bin/zlock run` (the whole CLI: selection, runner, C engine) over 10,000 and over
# 100,000 records: memory must not grow with the number of records (target: within 10%).
# A measurement, not a test. Usage: bench/bulk_rss.sh [SMALL=10000] [LARGE=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-10000}
LARGE=${2:-100000}
. bench/emu_common.sh
bulk_bench_setup

run() {  # N -> RSS (KiB); not in a subshell, so emu_stop and the trap see the emulator
  emu_stop
  emu_start --seed demo --records "Deals=$1"
  /usr/bin/time -f "%M %e" -o "$TMP/time" env ZOHO_API_DOMAIN="$EMU_URL" ZOHO_ACCESS_TOKEN="$EMU_TOKEN" \
    bin/zlock --json run bench/bulk_policy.lua --concurrency 16 --param "limit=$1" >"$TMP/out" 2>"$TMP/err" || true
  local rss secs locked
  read -r rss secs <"$TMP/time"
  locked=$(lua5.4 -e 'local s = require("cjson").decode(io.read("a")) or {}
    local c = s.counts or (s.summary or {}).counts or {}; io.write(string.format("%d", c.locked or 0))' <"$TMP/out")
  echo "records $1: locked $locked in ${secs}s, peak RSS ${rss} KiB"
  RSS=$rss
}
echo "# bin/zlock run bench/bulk_policy.lua --concurrency 16, no latency"
run "$SMALL"; A=$RSS
run "$LARGE"; B=$RSS
emu_stop
awk -v a="$A" -v b="$B" -v s="$SMALL" -v l="$LARGE" 'BEGIN {
  printf "peak RSS %d records / %d records = %.3f (target <= 1.10)\n", l, s, b / a }'
