#!/usr/bin/env bash
# The core's performance figures against bare libcurl (measurements, not tests): builds the
# emulator, the module for $ZLOCK_LUA (default lua5.4) and the plain libcurl peer, then runs
# bench/core_bench.lua.
#   bench/core_bench.sh                 # N=1000 ROUNDS=3
#   ZLOCK_LUA=luajit N=2000 bench/core_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LUA=${ZLOCK_LUA:-lua5.4}
make --no-print-directory -j2 emu core LUA="$LUA" >/dev/null
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -o build/bench/core_curl_loop bench/core_curl_loop.c \
  $(pkg-config --cflags --libs libcurl)
ZLOCK_LUA="$LUA" LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH="build/$LUA/?.so;;" \
  "$LUA" bench/core_bench.lua
