#!/usr/bin/env bash
# Installs the Debian packages zlock needs to build, test and run its demo.
# As root it installs what is missing; otherwise it names what to install and fails.
# Note: Debian's nginx Lua module links OpenResty's LuaJIT (luajit2), which conflicts
# with the plain `luajit` package, so zlock builds its LuaJIT module against luajit2.
set -euo pipefail

PKGS=(
  gcc make pkg-config curl openssl ca-certificates
  libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
  lua5.4 liblua5.4-dev lua5.3 liblua5.3-dev lua5.1 liblua5.1-0-dev
  luajit2 libluajit2-5.1-dev
  lua-cjson lua-socket lua-busted lua-check luarocks
  nginx-light libnginx-mod-http-lua
  valgrind wrk strace
  redis-server libhiredis-dev libssl-dev
  haproxy apache2 lua-cqueues lua-http lua-copas lua-luv lua-posix
  lua-ldoc lua-markdown clang libclang-rt-14-dev tinyproxy zsh groff-base bsdextrautils man-db
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "zlock: installing missing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "zlock: missing Debian packages; install them with:" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
