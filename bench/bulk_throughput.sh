#!/usr/bin/env bash
# Bulk lock throughput with no latency: zlock's C engine (through c:bulk, and driven directly)
# locking N distinct Deals at concurrency 16, against what wrk gets from the same emulator on the
# same route (POST .../Locking_Information__s, one record per request) with 16 connections.
# A third peer, libcurl alone (bench/curl_bulk_loop.c: the same requests on bare libcurl multi
# handles, no zlock), shows how much of the gap to wrk is libcurl's and how much zlock's.
# Each side gets a fresh zlock-emu with the same records. A plain figure of loopback speed, with
# no target: what zlock aims at is CPU per lock (bench/bulk_callgrind.sh) and the latency-bound
# rates (bench/bulk_latency.sh). A measurement, not a test.
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
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o build/bench/curl_bulk_loop bench/curl_bulk_loop.c \
  $(pkg-config --cflags --libs libcurl)

fresh_emu() {
  emu_stop
  emu_start --seed demo --records "$RECORDS"
  curl -sf "$EMU_URL/__emu/state" | lua5.4 bench/bulk_ids.lua Deals "$N" >"$TMP/ids"
  [ "$(wc -l <"$TMP/ids")" -ge "$N" ] || { echo "fewer than $N unlocked deals" >&2; exit 1; }
}

echo "# $(nproc) cores shared by zlock-emu and the client; $N locks, concurrency 16 (libcurl alone: 1 thread, as zlock);"
echo "# wrk -t2 -c16 -d$DURATION;"
echo "# $ROUNDS rounds, interleaved (the machine is shared: the best and the median of each side are compared)"
rate() { sed -n 's/.*locks_per_s \([0-9.]*\).*/\1/p' <<<"$1"; }
W=0; R=0; E=0; C=0; WS=""; RS=""; ES=""; CS=""; PR=""; PE=""; PC=""; PRC=""
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
  fresh_emu
  CUR=$(build/bench/curl_bulk_loop "$EMU_URL" "$EMU_TOKEN" "$TMP/ids" 16 1)
  echo "round $round: $CUR"
  W=$(best "$W" "$(rate "$WRK")"); R=$(best "$R" "$(rate "$RUN")"); E=$(best "$E" "$(rate "$ENG")")
  C=$(best "$C" "$(rate "$CUR")")
  WS="$WS $(rate "$WRK")"; RS="$RS $(rate "$RUN")"; ES="$ES $(rate "$ENG")"; CS="$CS $(rate "$CUR")"
  # the same round's wrk: the machine's mood of the moment is shared by both sides
  PR="$PR $(awk -v a="$(rate "$RUN")" -v b="$(rate "$WRK")" 'BEGIN { print 100 * a / b }')"
  PE="$PE $(awk -v a="$(rate "$ENG")" -v b="$(rate "$WRK")" 'BEGIN { print 100 * a / b }')"
  PC="$PC $(awk -v a="$(rate "$CUR")" -v b="$(rate "$WRK")" 'BEGIN { print 100 * a / b }')"
  PRC="$PRC $(awk -v a="$(rate "$RUN")" -v b="$(rate "$CUR")" 'BEGIN { print 100 * a / b }')"
done
awk -v w="$W" -v r="$R" -v e="$E" -v c="$C" -v mw="$(median "$WS")" -v mr="$(median "$RS")" -v me="$(median "$ES")" \
    -v mc="$(median "$CS")" 'BEGIN {
  printf "best locks/s: wrk %d, zlock runner %d, zlock engine %d, libcurl alone %d\n", w, r, e, c
  printf "ratio zlock runner / wrk = %.0f%%   zlock engine / wrk = %.0f%%\n", 100 * r / w, 100 * e / w
  printf "ratio libcurl alone / wrk = %.0f%%   zlock runner / libcurl alone = %.0f%%\n", 100 * c / w, 100 * r / c
  printf "median locks/s: wrk %d, zlock runner %d, zlock engine %d, libcurl alone %d; ratios to wrk %.0f%%, %.0f%%, %.0f%%\n",
    mw, mr, me, mc, 100 * mr / mw, 100 * me / mw, 100 * mc / mw }'
awk -v pr="$(median "$PR")" -v pe="$(median "$PE")" -v rs="$PR" -v es="$PE" -v cs="$PC" -v rcs="$PRC" \
    -v pc="$(median "$PC")" -v prc="$(median "$PRC")" 'BEGIN {
  printf "per-round ratios runner:%s\n", rs; printf "per-round ratios engine:%s\n", es
  printf "per-round ratios libcurl alone:%s\n", cs; printf "per-round ratios runner / libcurl alone:%s\n", rcs
  printf "median of per-round ratios: libcurl alone / wrk = %.0f%%   zlock runner / libcurl alone = %.0f%%\n", pc, prc
  printf "median of per-round ratios: zlock runner / wrk = %.0f%%   zlock engine / wrk = %.0f%%\n", pr, pe }'
