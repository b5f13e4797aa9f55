#!/usr/bin/env bash
# Memory of zlock-emu per record: RSS with --records Deals=10000 vs Deals=100000,
# (RSS_100k - RSS_10k) / 90000 = bytes per record. A measurement, not a test.
# Usage: bench/emu_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/emu_common.sh
[ -x "$EMU_BIN" ] || { echo "build $EMU_BIN first (make emu)" >&2; exit 1; }
trap 'emu_stop' EXIT
trap 'exit 130' INT TERM

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# runs in this shell (not a $(...) subshell) so the EXIT trap can stop an emulator left running
# when the script is interrupted; the figure goes to RSS.
measure() {
  emu_start --seed demo --records "Deals=$1"
  # touch the org once so lazily built parts exist, then read the resident set size
  curl -sf -o /dev/null -H "Authorization: Zoho-oauthtoken $EMU_TOKEN" \
    "$EMU_URL/crm/v8/Deals?fields=Deal_Name&per_page=200&page=1" || true
  sleep 0.3
  RSS=$(rss_kb "$EMU_PID")
  emu_stop
}
measure 10000; SMALL=$RSS
measure 100000; LARGE=$RSS
echo "rss Deals=10000:  ${SMALL} KiB"
echo "rss Deals=100000: ${LARGE} KiB"
awk -v s="$SMALL" -v l="$LARGE" 'BEGIN { printf "bytes per record: %.0f  ((RSS_100k - RSS_10k) / 90000)\n", (l - s) * 1024 / 90000 }'
