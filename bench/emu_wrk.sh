#!/usr/bin/env bash
# Throughput of zlock-emu under wrk (16 keep-alive connections, 2 threads, DURATION each):
#   (a) GET one lock, (b) lock + list + unlock cycles rotating over many Deals.
# A measurement, not a test: it prints figures. Usage: bench/emu_wrk.sh [DURATION] (default 5s)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5s}
. bench/emu_common.sh
[ -x "$EMU_BIN" ] || { echo "build $EMU_BIN first (make emu)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'emu_stop; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
emu_start --seed demo --records Deals=4000
AUTH="Authorization: Zoho-oauthtoken $EMU_TOKEN"

# Deals ids that the demo rule does not lock (not Closed Lost) and that carry no lock yet.
for page in $(seq 1 10); do
  curl -sf -H "$AUTH" "$EMU_URL/crm/v8/Deals?fields=Stage,Locked__s&per_page=200&page=$page" || true
  echo
done | lua5.4 -e '
  local cjson = require "cjson"
  for line in io.lines() do
    if line ~= "" then
      for _, r in ipairs(cjson.decode(line).data or {}) do
        if r.Stage ~= "Closed Lost" and r.Locked__s ~= true then print(r.id) end
      end
    end
  end' >"$TMP/ids"
N=$(wc -l <"$TMP/ids")
[ "$N" -ge 100 ] || { echo "only $N unlocked deals found" >&2; exit 1; }

# (a) one locked record, GET its lock.
REC=$(head -1 "$TMP/ids"); tail -n +2 "$TMP/ids" >"$TMP/cycle_ids"
LOCK=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"data":[{"Locked_Reason__s":"bench"}]}' "$EMU_URL/crm/v8/Deals/$REC/Locking_Information__s" |
  lua5.4 -e 'print(require("cjson").decode(io.read("a")).data[1].details.id)')
GET_PATH="/crm/v8/Deals/$REC/Locking_Information__s/$LOCK"

echo "# zlock-emu $(nproc) cores, wrk -t2 -c16 -d$DURATION, $N records in rotation"
wrk -t2 -c16 -d"$DURATION" -s bench/emu_wrk_get.lua "$EMU_URL" -- "$GET_PATH" "$EMU_TOKEN" | grep -E '^get_one|Latency'
wrk -t2 -c16 -d"$DURATION" -s bench/emu_wrk_cycle.lua "$EMU_URL" -- "$TMP/cycle_ids" "$EMU_TOKEN" 2 "$GET_PATH" |
  grep -E '^lock_unlock|Latency'
echo "# emulator stats after the runs: $(curl -sf "$EMU_URL/__emu/stats" | head -c 400)"
