#!/usr/bin/env bash
# Runs .ci/run on a clean clone of HEAD inside a freshly debootstrap'd Debian 12 (minbase),
# so a package that only this machine happens to have cannot hide a missing install step.
# Root only; needs debootstrap (apt-get install debootstrap) and Debian's mirror.
# Usage: scripts/fresh-ci.sh [ROOTFS_DIR]     (default: a new temporary directory)
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "fresh-ci: run as root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-ci: apt-get install debootstrap" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$(mktemp -d /tmp/zlock-fresh.XXXXXX)}

cleanup() { umount -R "$root/dev" "$root/proc" "$root/sys" 2>/dev/null || true; }
trap cleanup EXIT

[ -x "$root/bin/bash" ] || debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >&2
# mktemp -d makes the directory 0700: as the chroot's "/" it would keep every dropped-privilege
# user (Apache's www-data) out of every path
chmod 755 "$root"
cat > "$root/etc/apt/sources.list" <<'SRC'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
# a Debian machine resolves localhost through /etc/hosts; debootstrap writes none
[ -f "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/dev" || mount --rbind /dev "$root/dev"
mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
rm -rf "$root/root/zlock"
git clone -q "$repo" "$root/root/zlock"
chroot "$root" /usr/bin/env -i HOME=/root CI=true \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd /root/zlock && bash .ci/run'
