# Sourced by scripts/demo.sh and scripts/soak.sh. emu_start DIR ARGS...: starts build/zlock-emu
# on a free loopback port with ARGS (stdout and stderr in DIR/emu.out, DIR/emu.err); sets
# EMU_PID, and URL once it listens (empty when it did not start within 5 seconds).
emu_start() {
  local dir=$1; shift
  build/zlock-emu --listen 127.0.0.1:0 "$@" >"$dir/emu.out" 2>"$dir/emu.err" &
  EMU_PID=$!
  URL=
  for _ in $(seq 100); do
    URL=$(sed -n '1s/^zlock-emu listening on //p' "$dir/emu.out")
    [ -n "$URL" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.05
  done
}
