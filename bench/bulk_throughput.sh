#!/usr/bin/env bash
# Bulk lock throughput with no latency: zlock's C engine (through c:bulk, and driven directly)
# locking N distinct Deals at concurrency 16, against what wrk gets from the same emulator on the
# same route (POST .../Locking_Information__s, one record per request) with 16 connections.
# Each side gets a fresh zlock-emu with the same records. A measurement, not a test.
# Usage: bench/bulk_throughput.sh [N=100000] [WRK_DURATION=3s] [ROUNDS=5]
# (wrk must not run out of records: other_replies stays 0)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
DURATION=${2:-3s}
ROUNDS=${3:-5}
. bench/emu_common.sh
bulk_bench_setup wrk
RECORDS="Deals=$((N + N / 10 + 100))"

fresh_emu() {
  emu_stop
  emu_start --seed demo --records "$RECORDS"
  curl -sf "$EMU_URL/__emu/state" | lua5.4 bench/bulk_ids.lua Deals "$N" >"$TMP/ids"
  [ "$(wc -l <"$TMP/ids")" -ge "$N" ] || { echo "fewer than $N unlocked deals" >&2; exit 1; }
}

echo "# $(nproc) cores shared by zlock-emu and the client; $N locks, concurrency 16; wrk -t2 -c16 -d$DURATION;"
echo "# $ROUNDS rounds, interleaved (the machine is shared: the best and the median of each side are compared)"
rate() { sed -n 's/.*locks_per_s \([0-9.]*\).*/\1/p' <<<"$1"; }
W=0; R=0; E=0; WS=""; RS=""; ES=""; PR=""; PE=""
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for round in $(seq 1 "$ROUNDS"); do
  fresh_emu
  WRK=$(wrk -t2 -c16 -d"$DURATION" -s bench/bulk_wrk_lock.lua "$EMU_URL" -- "$TMP/ids" "$EMU_TOKEN" 2 | grep '^wrk_locks')
  echo "round $round: $WRK"
  fresh_emu
  RUN=$(lua5.4 bench/bulk_run.lua "$EMU_URL" "$TMP/ids" 16 runner)
  echo "round $round: $RUN"
  fresh_emu
  ENG=$(lua5.4 bench/bulk_run.lua "$EMU_URL" "$TMP/ids" 16 engine)
  echo "round $round: $ENG"
  W=$(best "$W" "$(rate "$WRK")"); R=$(best "$R" "$(rate "$RUN")"); E=$(best "$E" "$(rate "$ENG")")
  WS="$WS $(rate "$WRK")"; RS="$RS $(rate "$RUN")"; ES="$ES $(rate "$ENG")"
  # the same round's wrk: the machine's mood of the moment is shared by both sides
  PR="$PR $(awk -v a="$(rate "$RUN")" -v b="$(rate "$WRK")" 'BEGIN { print 100 * a / b }')"
  PE="$PE $(awk -v a="$(rate "$ENG")" -v b="$(rate "$WRK")" 'BEGIN { print 100 * a / b }')"
done
awk -v w="$W" -v r="$R" -v e="$E" -v mw="$(median "$WS")" -v mr="$(median "$RS")" -v me="$(median "$ES")" 'BEGIN {
  printf "best locks/s: wrk %d, zlock runner %d, zlock engine %d\n", w, r, e
  printf "ratio zlock runner / wrk = %.0f%%   zlock engine / wrk = %.0f%%   (target >= 80%%)\n", 100 * r / w, 100 * e / w
  printf "median locks/s: wrk %d, zlock runner %d, zlock engine %d; ratios %.0f%% and %.0f%%\n", mw, mr, me,
    100 * mr / mw, 100 * me / mw }'
awk -v pr="$(median "$PR")" -v pe="$(median "$PE")" -v rs="$PR" -v es="$PE" 'BEGIN {
  printf "per-round ratios runner:%s\n", rs; printf "per-round ratios engine:%s\n", es
  printf "median of per-round ratios: zlock runner / wrk = %.0f%%   zlock engine / wrk = %.0f%%   (target >= 80%%)\n", pr, pe }'
