#!/usr/bin/env bash
# Client instructions per bulk lock (callgrind: deterministic, unlike CPU time on a shared
# machine) of zlock's runner (c:bulk), of zlock's engine driven directly, and of libcurl alone
# (bench/curl_bulk_loop.c on one thread: the same requests with no zlock), each locking N1 and
# then N2 fresh Deals at the same concurrency against zlock-emu. The per-lock figure is
# (Ir(N2) - Ir(N1)) / (N2 - N1): start-up (the interpreter, libcurl, the first connections) cancels out.
# Also CPU time per lock (user + system, without valgrind; user space and kernel) over CPU_N
# locks, the median of ROUNDS runs per side, interleaved (it swings with the machine's load).
# Target: zlock's runner at most 1.3x libcurl alone.
# A measurement, not a test.
# Usage: bench/bulk_callgrind.sh [N1=300] [N2=1300] [CONCURRENCY=10] [CPU_N=20000] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${1:-300}
N2=${2:-1300}
CONC=${3:-10}
CPU_N=${4:-20000}
ROUNDS=${5:-3}
. bench/emu_common.sh
bulk_bench_setup
command -v valgrind >/dev/null || { echo "valgrind missing" >&2; exit 1; }
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o build/bench/curl_bulk_loop bench/curl_bulk_loop.c \
  $(pkg-config --cflags --libs libcurl)

fresh_emu() {  # N: a fresh emulator and N unlocked Deals in $TMP/ids
  emu_stop
  emu_start --seed demo --records "Deals=$(($1 + 100))"
  curl -sf "$EMU_URL/__emu/state" | lua5.4 bench/bulk_ids.lua Deals "$1" >"$TMP/ids"
}
client() {  # SIDE: the command that locks every id in $TMP/ids
  case $1 in
    runner|engine) echo lua5.4 bench/bulk_run.lua "$EMU_URL" "$TMP/ids" "$CONC" "$1" ;;
    libcurl) echo build/bench/curl_bulk_loop "$EMU_URL" "$EMU_TOKEN" "$TMP/ids" "$CONC" 1 ;;
  esac
}
# The emulator is started here, never in a $(...) subshell: emu_stop must see its PID.
ir() {  # SIDE N -> IR: instructions of the whole client process
  fresh_emu "$2"
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --callgrind-out-file="$TMP/cg" $(client "$1") >"$TMP/o" 2>"$TMP/vg"
  grep -q "locks $2 failed 0" "$TMP/o" || { echo "$1: not all $2 locked: $(cat "$TMP/o")" >&2; exit 1; }
  IR=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$TMP/cg")
}
cpu() {  # SIDE N -> US: CPU microseconds per lock
  fresh_emu "$2"
  # shellcheck disable=SC2046
  /usr/bin/time -f "%U %S" -o "$TMP/t" $(client "$1") >"$TMP/o"
  US=$(awk -v n="$2" '{ printf "%.1f", 1e6 * ($1 + $2) / n }' "$TMP/t")
}

echo "# $(nproc) cores; concurrency $CONC; per lock = (Ir($N2) - Ir($N1)) / $((N2 - N1))"
declare -A PER CPU
for side in libcurl engine runner; do
  ir "$side" "$N1"; a=$IR
  ir "$side" "$N2"; b=$IR
  PER[$side]=$(awk -v a="$a" -v b="$b" -v n=$((N2 - N1)) 'BEGIN { printf "%.0f", (b - a) / n }')
done
for round in $(seq 1 "$ROUNDS"); do
  for side in libcurl engine runner; do cpu "$side" "$CPU_N"; CPU[$side]="${CPU[$side]:-} $US"; done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for side in libcurl engine runner; do
  printf "%-8s %8s instructions/lock   CPU us/lock:%s (median %s)\n" "$side" "${PER[$side]}" "${CPU[$side]}" \
    "$(median "${CPU[$side]}")"
  CPU[$side]=$(median "${CPU[$side]}")
done
for side in engine runner; do
  awk -v s="$side" -v z="${PER[$side]}" -v c="${PER[libcurl]}" -v zt="${CPU[$side]}" -v ct="${CPU[libcurl]}" 'BEGIN {
    printf "%s / libcurl alone: %.2fx instructions, %.2fx CPU time\n", s, z / c, zt / ct }'
done
