#!/usr/bin/env bash
# valgrind (memcheck, full leak check) over a short run of the C bulk engine against zlock-emu
# with faults, 429s and 2-second tokens. Exit status non-zero on any error or leak.
# Usage: bench/bulk_valgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9 lua5.4 bench/bulk_valgrind.lua
