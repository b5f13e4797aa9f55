#!/usr/bin/env bash
# Memory of zlock-emu per record: RSS with --records Deals=10000 vs Deals=100000,
# (RSS_100k - RSS_10k) / 90000 = bytes per record. A measurement, not a test.
# Usage: bench/emu_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/emu_common.sh
[ -x "$EMU_BIN" ] || { echo "build $EMU_BIN first (make emu)" >&2; exit 1; }
trap 'emu_stop' EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
measure() {
  emu_start --seed demo --records "Deals=$1"
  # touch the org once so lazily built parts exist, then read the resident set size
  curl -sf -o /dev/null -H "Authorization: Zoho-oauthtoken $EMU_TOKEN" \
    "$EMU_URL/crm/v8/Deals?fields=Deal_Name&per_page=200&page=1" || true
  sleep 0.3
  local kb; kb=$(rss_kb "$EMU_PID")
  emu_stop
  echo "$kb"
}
SMALL=$(measure 10000)
LARGE=$(measure 100000)
echo "rss Deals=10000:  ${SMALL} KiB"
echo "rss Deals=100000: ${LARGE} KiB"
awk -v s="$SMALL" -v l="$LARGE" 'BEGIN { printf "bytes per record: %.0f  ((RSS_100k - RSS_10k) / 90000)\n", (l - s) * 1024 / 90000 }'
