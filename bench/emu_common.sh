# Shared by bench/emu_*.sh: start zlock-emu on a free loopback port and stop it.
# emu_start ARGS... sets EMU_PID and EMU_URL; emu_stop stops that process only.
EMU_BIN=${ZLOCK_EMU:-build/zlock-emu}
EMU_TOKEN=1000.zlockemu.demo-access-token

emu_start() {
  EMU_OUT=$(mktemp)
  "$EMU_BIN" --listen 127.0.0.1:0 "$@" >"$EMU_OUT" 2>/dev/null &
  EMU_PID=$!
  EMU_URL=
  for _ in $(seq 1 300); do
    EMU_URL=$(sed -n '1s#^zlock-emu listening on \(http://127\.0\.0\.1:[0-9]*\)$#\1#p' "$EMU_OUT")
    [ -n "$EMU_URL" ] && return 0
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "zlock-emu did not start" >&2
  return 1
}

emu_stop() {
  [ -n "${EMU_PID:-}" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
  [ -n "${EMU_OUT:-}" ] && rm -f "$EMU_OUT"
  EMU_PID=
  return 0
}

# bulk_bench_setup [wrk]: what a bulk benchmark needs (the emulator, the Lua 5.4 core, wrk when
# asked) or a clear exit; sets TMP, removed with the emulator on exit.
bulk_bench_setup() {
  [ -x "$EMU_BIN" ] || { echo "build $EMU_BIN first (make emu)" >&2; exit 1; }
  [ -f build/lua5.4/zlock/core.so ] || { echo "build the core first (make core)" >&2; exit 1; }
  if [ "${1:-}" = wrk ]; then
    command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)" >&2; exit 1; }
  fi
  TMP=$(mktemp -d)
  trap 'emu_stop; rm -rf "$TMP"' EXIT
}
