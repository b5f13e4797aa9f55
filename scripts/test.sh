#!/usr/bin/env bash
# zlock's test command (README: `make test`). Builds everything, then runs:
#   C unit tests (TAP), the libFuzzer harnesses (3 s each), luacheck, the emulator specs,
#   the module specs under every Lua ABI (5.4, 5.3, 5.1, LuaJIT), the bulk and OpenResty specs.
#   SANITIZE=1: instead, the C tests and the core and bulk specs on the ASan + UBSan build
#   (scripts/test_sanitize.sh); SANITIZE=also (CI): the suite, then that run.
# Every step prints TAP; the failing tests are repeated at the end (with up to 8 lines of their
# diagnostics), so the tail of a CI log names them; the last line is the sum: "N passed, N failed".
# Exit status: 0 when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
# tokens the specs' clients cache (file token store) stay in the build tree, not in ~/.cache
export XDG_CACHE_HOME="$PWD/build/test-cache"
rm -rf "$XDG_CACHE_HOME"
PASSED=0; FAILED=0
FAILURES="$LOGDIR/failures.txt"
: > "$FAILURES"

# run_step NAME CMD... : runs CMD, tees its TAP output, adds ok / not ok lines.
run_step() {
  local name=$1; shift
  local log="$LOGDIR/$name.tap"
  echo "# ---- $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local ok nok
  ok=$(grep -cE '^ok [0-9]+' "$log")
  nok=$(grep -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
    echo "not ok - $name exited with status $rc and reported no failing test" | tee -a "$log"
    nok=1
  fi
  if [ "$nok" -gt 0 ]; then
    # each "not ok" line and up to 8 diagnostic lines after it, stopping at the next test's
    # line or at busted's "# FILE @ LINE: NAME" header of the next test
    { echo "# ---- $name"
      awk '/^not ok/ { keep = 9 } /^ok |^1\.\.|^# [^ ]+ @ [0-9]+: / { keep = 0 } keep > 0 { print; keep-- }' "$log"
    } >> "$FAILURES"
  fi
  PASSED=$((PASSED + ok)); FAILED=$((FAILED + nok))
}

# summary: the failing tests again, then the count line (always the last line)
summary() {
  if [ -s "$FAILURES" ]; then
    echo "# ==== failed (repeated from above; logs in $LOGDIR/)"
    cat "$FAILURES"
  fi
  echo "$PASSED passed, $FAILED failed"
}

# make test SANITIZE=1: only the ASan + UBSan run (scripts/test_sanitize.sh).
if [ "${SANITIZE:-}" = 1 ]; then
  . scripts/test_sanitize.sh
  summary
  [ "$FAILED" -eq 0 ]; exit
fi

echo "# ---- build"
if ! make --no-print-directory emu all-luas >"$LOGDIR/build.log" 2>&1; then
  cat "$LOGDIR/build.log"
  echo "not ok 1 - build"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok - build"; PASSED=$((PASSED + 1))

# C unit tests of the pure parts (each binary prints TAP).
for t in build/tests/*; do
  [ -x "$t" ] && run_step "c-$(basename "$t")" "$t"
done

# libFuzzer harnesses: each a few seconds, so they keep building and finding nothing.
run_step fuzz scripts/fuzz.sh 3

lint() {
  if luacheck --no-color -q lua spec bin examples bench >"$LOGDIR/luacheck.log" 2>&1; then
    echo "ok 1 - luacheck clean"
  else
    cat "$LOGDIR/luacheck.log"; echo "not ok 1 - luacheck"
    return 1
  fi
}
run_step luacheck lint

# Specs under Lua 5.4, once: every spec/<dir> but core (every ABI, below), openresty
# (LuaJIT, below) and helpers. A new spec directory runs here without editing this file.
for dir in spec/*/; do
  dir=${dir%/}
  case "$(basename "$dir")" in core|openresty|helpers) continue ;; esac
  run_step "busted-$(basename "$dir")" \
    env LUA_CPATH="build/lua5.4/?.so;;" busted --lua=lua5.4 -o TAP "$dir"
done

# The module specs: under every Lua ABI zlock supports.
if [ -d spec/core ]; then
  for l in lua5.4 lua5.3 lua5.1 luajit; do
    run_step "busted-core-$l" env LUA_CPATH="build/$l/?.so;;" ZLOCK_LUA="$l" \
      busted --lua="$l" -o TAP spec/core
  done
fi

# The unit specs (no server; under Lua 5.4 above): also under the other ABIs, whose string
# libraries differ (no utf8 on 5.1/LuaJIT).
if [ -d spec/unit ]; then
  for l in lua5.3 lua5.1 luajit; do
    run_step "busted-unit-$l" env LUA_CPATH="build/$l/?.so;;" busted --lua="$l" -o TAP spec/unit
  done
fi

# LuaRocks: the rockspecs install offline for every Lua ABI, each into its own tree.
run_step luarocks scripts/check-rock.sh

# The API reference builds (LDoc) and documents every public function.
run_step doc scripts/check-doc.sh

# OpenResty: a real nginx in front of the emulator.
[ -d spec/openresty ] && run_step busted-openresty \
  env LUA_CPATH="build/luajit/?.so;;" busted --lua=luajit -o TAP spec/openresty

# CI (SANITIZE=also): the sanitizer run after the suite, counted in the same line.
[ "${SANITIZE:-}" = also ] && . scripts/test_sanitize.sh

summary
[ "$FAILED" -eq 0 ]
