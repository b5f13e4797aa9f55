#!/usr/bin/env bash
# Fleet throughput and 429 share: 1, 2, 3 and 5 `zlock run` processes at once on one org
# (zlock-emu --latency 100 --concurrency-limit 10, ceiling 100 locks/s), each locking its share
# of 900 deals, without the fleet budget (ZLOCK_ORG_BUDGET=off), with it and the limit given
# (ZLOCK_ORG_LIMIT=10), and with it learning the limit; a markdown table on stdout
# (bench/fleet.lua). A measurement, not a test. Usage: bench/fleet.sh [N=900] [ROUNDS=1] [P=1,2,3,5]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/zlock-emu ] || { echo "build build/zlock-emu first (make emu)" >&2; exit 1; }
[ -f build/lua5.4/zlock/core.so ] || { echo "build the core first (make core)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)" >&2; exit 1; }
exec lua5.4 bench/fleet.lua "${1:-900}" "${2:-1}" "${3:-1,2,3,5}"
