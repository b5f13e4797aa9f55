#!/usr/bin/env bash
# What the file token store costs and saves, with `zlock get` processes against zlock-emu.
#  1. tokens minted by 100 sequential `zlock get` processes on the refresh flow (fresh HOME):
#     the store's point (Zoho allows 10 per 10 minutes; without a store each process mints).
#  2. wall time per process, interleaved rounds of ROUND processes each:
#       store: refresh flow, file store warm (reads ~/.cache/zlock/<key>.token)
#       none:  the same command with the emulator's access token and ZLOCK_TOKEN_STORE=none
#     Both make the same single API request; the difference is the store's cost, but a process
#     takes ~50 ms (Lua, libcurl and TLS start), so on a busy machine the noise is larger than it.
#  3. the same two clients in one process (bench/token_store_cost.lua): the store's own cost.
# Usage: bench/token_store.sh [ROUNDS=10] [ROUND=20]      (a measurement, not a test)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
ROUND=${2:-20}
. bench/emu_common.sh
[ -x "$EMU_BIN" ] || { echo "build $EMU_BIN first (make emu)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'emu_stop; rm -rf "$TMP"' EXIT
emu_start --seed demo
ID=$(curl -sf "$EMU_URL/__emu/state" | lua5.4 -e 'print((io.read("a"):match("\"record_id\":\"(%d+)\"")))')
minted() { curl -sf "$EMU_URL/__emu/stats" | sed 's/.*"tokens_minted":\([0-9]*\).*/\1/'; }

clean_env=(env -u ZOHO_ACCESS_TOKEN -u ZOHO_API_DOMAIN -u ZLOCK_REDIS_URL -u XDG_CACHE_HOME -u ZLOCK_TOKEN_STORE)
refresh_env=("${clean_env[@]}" HOME="$TMP" ZOHO_ACCOUNTS_DOMAIN="$EMU_URL" ZOHO_CLIENT_ID=1000.ZLOCKEMUDEMOCLIENT
             ZOHO_CLIENT_SECRET=zlock-emu-demo-client-secret ZOHO_REFRESH_TOKEN=1000.zlockemu.demo-refresh-token)
static_env=("${clean_env[@]}" HOME="$TMP" ZOHO_API_DOMAIN="$EMU_URL" ZOHO_ACCESS_TOKEN="$EMU_TOKEN"
            ZLOCK_TOKEN_STORE=none)

before=$(minted)
for _ in $(seq 100); do "${refresh_env[@]}" bin/zlock get Deals "$ID" >/dev/null; done
echo "tokens minted by 100 sequential zlock get processes (refresh flow, file store): $(( $(minted) - before ))"

now_us() { date +%s%6N; }
run_round() {   # env-array-name -> microseconds for ROUND processes
  local -n e=$1
  local t0 t1
  t0=$(now_us)
  for _ in $(seq "$ROUND"); do "${e[@]}" bin/zlock get Deals "$ID" >/dev/null; done
  t1=$(now_us)
  echo $(( t1 - t0 ))
}
s_sum=0; n_sum=0
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then s=$(run_round refresh_env); n=$(run_round static_env)
  else n=$(run_round static_env); s=$(run_round refresh_env); fi
  s_sum=$(( s_sum + s )); n_sum=$(( n_sum + n ))
done
total=$(( ROUNDS * ROUND ))
awk -v s="$s_sum" -v n="$n_sum" -v t="$total" 'BEGIN {
  printf "per zlock get process: file store %.2f ms, none %.2f ms, difference %.2f ms (ratio %.3f), %d processes each\n",
         s / t / 1000, n / t / 1000, (s - n) / t / 1000, s / n, t }'
lua5.4 bench/token_store_cost.lua "$EMU_URL" "$ID" "$TMP/.cache/zlock" "$((ROUNDS * ROUND))"
echo "tokens minted in all: $(( $(minted) - before ))"
