#!/usr/bin/env bash
# CPU time per lock (user + system, microseconds) of each side of bench/bulk_throughput.sh:
# wrk, zlock's runner (c:bulk), zlock's engine alone, libcurl alone (bench/curl_bulk_loop.c on one thread, as zlock: the
# same requests on bare libcurl, no zlock) and the emulator serving each of them.
# On a machine where client and emulator share the cores, the rate is about
# cores / (client + emulator CPU per lock): this shows where a ratio to wrk comes from.
# Usage: bench/bulk_cpu.sh [N=60000] [ROUNDS=2]      (a measurement, not a test)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-60000}
ROUNDS=${2:-2}
. bench/emu_common.sh
bulk_bench_setup wrk
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }     # utime + stime, clock ticks
HZ=$(getconf CLK_TCK)
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o build/bench/curl_bulk_loop bench/curl_bulk_loop.c \
  $(pkg-config --cflags --libs libcurl)

W=$(( 2 * N > 150000 ? 2 * N : 150000 ))   # ids enough for wrk's 3 s
fresh_emu() {
  emu_stop
  emu_start --seed demo --records "Deals=$((W + 100))"
  curl -sf "$EMU_URL/__emu/state" | lua5.4 bench/bulk_ids.lua Deals "$W" >"$TMP/ids"
  head -n "$N" "$TMP/ids" >"$TMP/ids_n"
  E0=$(ticks "$EMU_PID")
}
report() {   # name client_seconds locks
  local e1; e1=$(ticks "$EMU_PID")
  awk -v n="$1" -v c="$2" -v l="$3" -v e="$(( e1 - E0 ))" -v hz="$HZ" 'BEGIN {
    printf "%-13s client %5.1f us/lock   emulator %5.1f us/lock   (%d locks)\n", n, 1e6 * c / l, 1e6 * e / hz / l, l }'
}
echo "# $(nproc) cores; CPU per lock, user + system"
for round in $(seq 1 "$ROUNDS"); do
  fresh_emu
  # wrk for 3 s (per request: locks plus any reply other than 201, if its ids ran out)
  /usr/bin/time -f "%U %S" -o "$TMP/t" wrk -t2 -c16 -d3s -s bench/bulk_wrk_lock.lua "$EMU_URL" -- "$TMP/ids" "$EMU_TOKEN" 2 \
    | grep '^wrk_locks' >"$TMP/o"
  report "wrk" "$(awk '{ print $1 + $2 }' "$TMP/t")" "$(awk '{ print $2 + $4 }' "$TMP/o")"
  for mode in runner engine; do
    fresh_emu
    /usr/bin/time -f "%U %S" -o "$TMP/t" lua5.4 bench/bulk_run.lua "$EMU_URL" "$TMP/ids_n" 16 "$mode" >"$TMP/o"
    report "zlock_$mode" "$(awk '{ print $1 + $2 }' "$TMP/t")" "$(sed -n 's/.* locks \([0-9]*\) .*/\1/p' "$TMP/o")"
  done
  fresh_emu
  /usr/bin/time -f "%U %S" -o "$TMP/t" build/bench/curl_bulk_loop "$EMU_URL" "$EMU_TOKEN" "$TMP/ids_n" 16 1 >"$TMP/o"
  report "libcurl_alone" "$(awk '{ print $1 + $2 }' "$TMP/t")" "$(sed -n 's/.* locks \([0-9]*\) .*/\1/p' "$TMP/o")"
done
