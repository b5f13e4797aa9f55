# Sourced by scripts/test.sh (`make test SANITIZE=1`; SANITIZE=also: after the whole suite):
# builds the core, the module for lua5.4, the emulator and the C tests with ASan + UBSan into
# build-san/, then runs the C tests and the core and bulk specs on that build: the module
# loaded into an uninstrumented lua5.4 with gcc's libasan preloaded (in every lua5.4 the specs
# start, the `zlock` command's too: LUA_INIT_5_4), and the emulator (ZLOCK_EMU:
# scripts/san_emu.sh, leaks checked) from build-san/ too. Every process writes its sanitizer report to build-san/reports/; the last step fails
# when any report is there.
# Uses run_step, LOGDIR, PASSED and FAILED from scripts/test.sh.
SAN=build-san
san_build() {
  if make --no-print-directory SANITIZE=1 emu core LUA=lua5.4 >"$LOGDIR/san-build.log" 2>&1; then
    echo "ok 1 - sanitizer build (ASan + UBSan, $SAN/)"
  else
    tail -n 30 "$LOGDIR/san-build.log"; echo "not ok 1 - sanitizer build"
    return 1
  fi
}
san_reports() {
  local n
  n=$(find "$SAN/reports" -type f 2>/dev/null | wc -l)
  if [ "$n" -eq 0 ]; then
    echo "ok 1 - no sanitizer report from any process"
  else
    find "$SAN/reports" -type f -exec sh -c 'echo "# $1"; head -n 40 "$1" | sed "s/^/#   /"' _ {} \;
    echo "not ok 1 - $n sanitizer report(s) in $SAN/reports/"
    return 1
  fi
}

SAN_START=$(date +%s)
run_step san-build san_build
if [ -x "$SAN/zlock-emu" ] && [ -f "$SAN/lua5.4/zlock/core.so" ]; then
  rm -rf "$SAN/reports"; mkdir -p "$SAN/reports"
  # halt at the first error; the C tests check leaks too (the interpreter's exit is not ours)
  SAN_OPTS="halt_on_error=1:abort_on_error=0:log_path=$PWD/$SAN/reports/asan"
  for t in "$SAN"/tests/*; do
    [ -x "$t" ] && run_step "san-c-$(basename "$t")" env ASAN_OPTIONS="$SAN_OPTS:detect_leaks=1" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$SAN/reports/ubsan" "$t"
  done
  LIBASAN=$(gcc -print-file-name=libasan.so)
  # every lua5.4 (busted, and the zlock commands the specs start, whatever their cpath) gets
  # zlock.core from build-san/, or fails loudly
  SAN_PRELOAD="package.preload['zlock.core'] = assert(package.loadlib('$PWD/$SAN/lua5.4/zlock/core.so', 'luaopen_zlock_core'))"
  for dir in core bulk; do
    run_step "san-busted-$dir" env LD_PRELOAD="$LIBASAN" \
      ASAN_OPTIONS="$SAN_OPTS:detect_leaks=0" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$SAN/reports/ubsan" \
      LUA_CPATH="$SAN/lua5.4/?.so;;" LUA_INIT_5_4="$SAN_PRELOAD" ZLOCK_EMU=scripts/san_emu.sh ZLOCK_LUA=lua5.4 \
      busted --lua=lua5.4 -o TAP "spec/$dir"
  done
  run_step san-reports san_reports
fi
echo "# sanitizer run: $(( $(date +%s) - SAN_START )) s"
