#!/usr/bin/env bash
# What request logging costs (a measurement, not a test): N gets of one record on zlock-emu by
# a client without hooks (the one-C-crossing path) and by one with an on_response hook (the C
# call returns to Lua around each request), in the same command; prints both and the ratios.
#   bench/log_hooks.sh                  # N=2000 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/emu_common.sh
. bench/emu_common.sh
make --no-print-directory -j2 emu core LUA=lua5.4 >/dev/null
emu_start
trap emu_stop EXIT
EMU_URL="$EMU_URL" EMU_TOKEN="$EMU_TOKEN" LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
  lua5.4 bench/log_hooks.lua
