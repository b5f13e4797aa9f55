#!/usr/bin/env bash
# Bulk lock rate against an org-like server: zlock-emu with --latency 100 (ms per call) and a
# concurrency limit, through c:bulk on the C engine. The ceiling is limit / latency calls per
# second (100/s at limit 10). Also the unknown-limit case: limit 15, client told concurrency 50.
# A measurement, not a test. Usage: bench/bulk_latency.sh [N=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
. bench/emu_common.sh
bulk_bench_setup

run() {  # LIMIT CONCURRENCY
  emu_stop
  emu_start --seed demo --records "Deals=$((N + N / 5 + 50))" --latency 100 --concurrency-limit "$1"
  curl -sf "$EMU_URL/__emu/state" | lua5.4 bench/bulk_ids.lua Deals "$N" >"$TMP/ids"
  local out
  out=$(lua5.4 bench/bulk_run.lua "$EMU_URL" "$TMP/ids" "$2" runner)
  local stats
  stats=$(curl -sf "$EMU_URL/__emu/stats" | lua5.4 -e 'local s = require("cjson").decode(io.read("a"))
    io.write(("emu_requests %d emu_429 %d emu_max_in_flight %d"):format(s.total, s.too_many_requests, s.max_in_flight))')
  echo "limit $1 concurrency $2: $out; $stats; ceiling $((10 * $1))/s"
}
echo "# --latency 100, $N locks through c:bulk on the C engine"
run 10 10
run 15 50
