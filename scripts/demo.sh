#!/usr/bin/env bash
# `make demo`: a real bulk lock policy against zlock-emu, in a minute.
#   installs missing Debian packages (scripts/deps.sh), builds the emulator and the C module,
#   starts build/zlock-emu with the demo org scaled to 2,000 deals (and ~100 ms of latency per
#   call, like Zoho), shows the lock audit, dry-runs examples/lock_closed_lost.lua, runs it with
#   a progress bar and kills it (kill -9) half way, resumes it with the same journal, shows the
#   audit again, runs it once more (nothing left to do), stops the emulator.
# Works on a terminal (colours, progress bar) and without one (CI logs: plain text).
set -euo pipefail
cd "$(dirname "$0")/.."

LUA=${LUA:-lua5.4}
POLICY=examples/lock_closed_lost.lua
if [ -t 1 ]; then
  B=$'\e[1m'; D=$'\e[2m'; G=$'\e[32m'; R=$'\e[0m'
  COLUMNS=$(stty size 2>/dev/null </dev/tty | cut -d' ' -f2); export COLUMNS   # tables fit the terminal
else
  B=; D=; G=; R=
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$R"; }
show() { printf '%s$ %s%s\n' "$D" "$*" "$R"; "$@"; }

scripts/deps.sh
step "Building zlock-emu and the zlock C module ($LUA)"
mkdir -p build
if ! make --no-print-directory -j2 emu core LUA="$LUA" >build/demo-build.log 2>&1; then
  cat build/demo-build.log; echo "demo: build failed" >&2; exit 1
fi
echo "ok (log: build/demo-build.log)"

WORK=$(mktemp -d)
EMU_PID=
cleanup() {
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Starting zlock-emu with the demo org (2,000 deals; ~100 ms per call, like Zoho)"
. scripts/emu_start.sh
emu_start "$WORK" --seed demo --records Deals=2000 --latency 100:40
if [ -z "$URL" ]; then cat "$WORK/emu.err" >&2; echo "demo: zlock-emu did not start" >&2; exit 1; fi
echo "listening on $URL"

# zlock reads its configuration from the environment (a real org: ZOHO_DC + OAuth client).
unset ZOHO_REFRESH_TOKEN ZOHO_CLIENT_ID ZOHO_CLIENT_SECRET ZOHO_DC ZOHO_ACCOUNTS_DOMAIN ZOHO_ENV
export ZOHO_API_DOMAIN="$URL" ZOHO_ACCESS_TOKEN=1000.zlockemu.demo-access-token
mkdir -p build/demo
JOURNAL=build/demo/closed-lost.journal
rm -f "$JOURNAL"

step "The locks the org holds now (audit by module, source and age)"
show bin/zlock locks

step "The policy: $POLICY"
sed -n '/^return {/,$p' "$POLICY"

step "Dry run: the plan (nothing changes)"
printf '%s$ %s%s\n' "$D" "bin/zlock run $POLICY --dry-run" "$R"
bin/zlock run "$POLICY" --dry-run >"$WORK/plan.txt"
n=$(wc -l <"$WORK/plan.txt")
if [ "$n" -gt 22 ]; then
  head -n 9 "$WORK/plan.txt"; echo "  ... ($((n - 18)) more lines)"; tail -n 9 "$WORK/plan.txt"
else
  cat "$WORK/plan.txt"
fi

step "The real run, journaled, killed with SIGKILL after 2 seconds"
printf '%s$ %s%s\n' "$D" "bin/zlock run $POLICY --journal $JOURNAL   # then kill -9" "$R"
bin/zlock run "$POLICY" --journal "$JOURNAL" &
RUN_PID=$!
sleep 2
kill -9 "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true
[ -t 2 ] && printf '\n' >&2
echo "killed: $(wc -l <"$JOURNAL") items were journaled as done; the calls in flight were cut off"

step "Resuming: the same command with the same journal"
show bin/zlock run "$POLICY" --journal "$JOURNAL"

step "The audit after the run"
show bin/zlock locks

step "Once more: nothing is left to do"
show bin/zlock run "$POLICY" --journal "$JOURNAL"

printf '\n%sDemo done.%s Next: write your own policy (see examples/ and README), dry-run it, run it.\n' "$G" "$R"
