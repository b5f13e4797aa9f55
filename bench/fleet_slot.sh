#!/usr/bin/env bash
# The cost per call of taking a fleet budget slot (bench/fleet_slot.lua): sequential calls with
# the budget on and off against zlock-emu without latency, Redis on loopback. Target: under
# 0.2 ms a call. A measurement, not a test. Usage: bench/fleet_slot.sh [N=2000] [BLOCKS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/zlock-emu ] || { echo "build build/zlock-emu first (make emu)" >&2; exit 1; }
[ -f build/lua5.4/zlock/core.so ] || { echo "build the core first (make core)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)" >&2; exit 1; }
exec lua5.4 bench/fleet_slot.lua "${1:-2000}" "${2:-10}"
