#!/usr/bin/env bash
# `make soak` (not in CI): a long bulk run against zlock-emu under every fault at once
# (500s, dropped replies, latency with jitter, a concurrency limit below the run's, short-lived
# tokens minted by refresh, a credit budget), with repeated kill -9 of `zlock run` and resumes
# from its journal, then reruns until one ends clean. Ends exact or fails: every target deal
# holds exactly one lock, ours, with its reason, and no other lock changed (checked through
# /__emu/state). Prints the figures: items, faults survived (/__emu/stats), kills, duration.
# Sizes and rates (environment): SOAK_DEALS (30000 deals, ~1/6 targets), SOAK_KILLS (8),
# SOAK_KILL_MIN/MAX (seconds into a run before the kill: 6/16), SOAK_CONCURRENCY (12),
# SOAK_FAIL_RATE (0.1), SOAK_DROP_RATE (0.05), SOAK_LATENCY (30:60 ms), SOAK_LIMIT (8 in flight),
# SOAK_TOKEN_TTL (60 s: the emulator, like Zoho, mints at most 10 tokens per 10 minutes),
# SOAK_CREDITS (DEALS / 2: about twice what the soak spends, so X-API-CREDITS-REMAINING shows).
set -uo pipefail
cd "$(dirname "$0")/.."
DEALS=${SOAK_DEALS:-30000}; KILLS=${SOAK_KILLS:-8}
KMIN=${SOAK_KILL_MIN:-6}; KMAX=${SOAK_KILL_MAX:-16}
CONC=${SOAK_CONCURRENCY:-12}; FAIL=${SOAK_FAIL_RATE:-0.1}; DROP=${SOAK_DROP_RATE:-0.05}
LAT=${SOAK_LATENCY:-30:60}; LIMIT=${SOAK_LIMIT:-8}; TTL=${SOAK_TOKEN_TTL:-60}
CREDITS=${SOAK_CREDITS:-$(( DEALS / 2 ))}
POLICY=spec/bulk/fixtures/lock_qualification.lua   # reason "spec kill <id>"
die() { echo "soak: $*" >&2; exit 1; }

make --no-print-directory emu core LUA=lua5.4 >build/soak-build.log 2>&1 || { tail -n 20 build/soak-build.log; die "build failed"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zlock-soak.XXXXXX")
JOURNAL="$WORK/soak.journal"
EMU_PID=""; RUN_PID=""; PASSED=0
cleanup() {
  [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null
  [ -n "$EMU_PID" ] && { kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; }
  if [ "$PASSED" = 1 ]; then rm -rf "$WORK"; else echo "soak: logs kept in $WORK" >&2; fi
}
trap cleanup EXIT

. scripts/emu_start.sh
emu_start "$WORK" --seed demo --records "Deals=$DEALS" --latency "$LAT" --concurrency-limit "$LIMIT" \
  --fail-rate "$FAIL" --drop-rate "$DROP" --drop-mode headers --token-ttl "$TTL" --credits "$CREDITS" \
  --state "$WORK/state.json"
[ -n "$URL" ] || { cat "$WORK/emu.err" >&2; die "zlock-emu did not start"; }

# Minted tokens only, never the static one: each run starts with the token minted here (a new
# one once it has expired: the emulator, like Zoho, mints 10 per 10 minutes per refresh token),
# so a run often starts with a token about to expire and must refresh it itself.
export ZOHO_API_DOMAIN="$URL" ZOHO_ACCOUNTS_DOMAIN="$URL" ZOHO_CLIENT_ID=1000.ZLOCKEMUDEMOCLIENT \
  ZOHO_CLIENT_SECRET=zlock-emu-demo-client-secret ZOHO_REFRESH_TOKEN=1000.zlockemu.demo-refresh-token
unset ZOHO_DC
MINTED_AT=0; MINTS=0
fresh_token() {
  [ $(( $(date +%s) - MINTED_AT )) -lt "$TTL" ] && return 0
  local reply
  reply=$(curl -sf -X POST "$URL/oauth/v2/token" -d grant_type=refresh_token -d "client_id=$ZOHO_CLIENT_ID" \
          -d "client_secret=$ZOHO_CLIENT_SECRET" -d "refresh_token=$ZOHO_REFRESH_TOKEN") || die "token endpoint failed"
  ZOHO_ACCESS_TOKEN=$(printf '%s' "$reply" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$ZOHO_ACCESS_TOKEN" ] || die "no token minted: $reply"
  export ZOHO_ACCESS_TOKEN
  MINTED_AT=$(date +%s); MINTS=$((MINTS + 1))
}

curl -sf "$URL/__emu/state?module=Deals&records=0" >"$WORK/before.json" || die "cannot read /__emu/state"

START=$(date +%s)
kills=0; runs=0; failed_runs=0
for k in $(seq "$KILLS"); do
  fresh_token
  bin/zlock run "$POLICY" --journal "$JOURNAL" --concurrency "$CONC" --no-progress \
    >"$WORK/run-$k.out" 2>"$WORK/run-$k.err" &
  RUN_PID=$!
  runs=$((runs + 1))
  sleep "$(( KMIN + RANDOM % (KMAX - KMIN + 1) ))"
  how=""
  if kill -9 "$RUN_PID" 2>/dev/null; then kills=$((kills + 1)); how="killed"; fi
  wait "$RUN_PID" 2>/dev/null
  rc=$?
  [ -n "$how" ] || how="ended by itself (exit $rc: $(tail -q -n 2 "$WORK/run-$k.err" "$WORK/run-$k.out" | tr '\n' ' ' | head -c 400))"
  RUN_PID=""
  echo "soak: run $k $how; the journal holds $(wc -l <"$JOURNAL" 2>/dev/null || echo 0) lines"
done
# Resume until a run ends clean (items a run could not finish are retried by the next).
clean=0
for r in 1 2 3 4 5; do
  runs=$((runs + 1))
  fresh_token
  if bin/zlock --json run "$POLICY" --journal "$JOURNAL" --concurrency "$CONC" --no-progress \
       >"$WORK/final-$r.json" 2>"$WORK/final-$r.err"; then clean=1; break; fi
  failed_runs=$((failed_runs + 1))
  echo "soak: resume $r did not end clean: $(lua5.4 scripts/soak_check.lua --run "$WORK/final-$r.json") $(head -c 300 "$WORK/final-$r.err")"
done
DURATION=$(( $(date +%s) - START ))
[ "$clean" -eq 1 ] || die "no run ended clean after $KILLS kills and 5 resumes (logs: $WORK)"

curl -sf "$URL/__emu/state?module=Deals&records=0" >"$WORK/after.json" || die "cannot read /__emu/state"
curl -sf "$URL/__emu/stats" >"$WORK/stats.json" || die "cannot read /__emu/stats"
# Which deals are targets (their Stage): from the state file the emulator saves on SIGTERM.
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null; EMU_PID=""
[ -s "$WORK/state.json" ] || die "zlock-emu saved no state file"
lua5.4 scripts/soak_check.lua "$WORK" "$KILLS" "$kills" "$runs" "$failed_runs" "$DURATION" "$MINTS" && PASSED=1
[ "$PASSED" = 1 ]
