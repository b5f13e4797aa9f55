#!/bin/sh
# The sanitizer run's emulator (scripts/test_sanitize.sh points ZLOCK_EMU here):
# build-san/zlock-emu with leak checking on, which the specs' Lua interpreter runs without.
# Its leaks are reported when it exits (the specs stop it with SIGTERM).
exec env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1" "$(dirname "$0")/../build-san/zlock-emu" "$@"
