#!/bin/sh
# A Debian chroot for this checkout, built once by debootstrap and cached:
#     SUITE=forky CHROOT=build/forky PKGS=a,b,c [EXTRA=d,e] sh scripts/chroot.sh COMMAND
# runs the shell COMMAND inside it, in this checkout (bind-mounted at the
# same path), with pip pointed at the host's CA bundle and index
# configuration.  A suite with no debootstrap script of its own (bookworm's
# debootstrap has none for forky) uses sid's.  PKGS go in with debootstrap;
# EXTRA afterwards with apt-get inside (debootstrap resolves no
# alternatives: GTK's dconf-service needs "default-dbus-session-bus |
# dbus-session-bus").  A cached chroot that lacks any of them gets them.
# Needs root.  Used by scripts/forky.sh (Python
# 3.14 and 3.15 for make test-matrix and make dist) and
# scripts/fresh-debian.sh (the README's commands on a fresh Debian 13).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${SUITE:?}" "${CHROOT:?}" "${PKGS:?}"
case $CHROOT in /*) ;; *) CHROOT=$ROOT/$CHROOT ;; esac
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SCRIPT=/usr/share/debootstrap/scripts/$SUITE
[ -e "$SCRIPT" ] || SCRIPT=/usr/share/debootstrap/scripts/sid
if [ ! -e "$CHROOT/.stamp" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  rm -rf "$CHROOT"
  mkdir -p "$ROOT/build"
  debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$CHROOT" "$MIRROR" \
    "$SCRIPT" >"$ROOT/build/$SUITE.log" 2>&1 ||
    { tail -20 "$ROOT/build/$SUITE.log"; exit 1; }
  touch "$CHROOT/.stamp"
fi
# pip inside: the host's CA bundle and index configuration
mkdir -p "$CHROOT/etc/ssl/certs" "$CHROOT$ROOT"
cp /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$CHROOT/etc/pip.conf"
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
mounts=""
bind() {  # source target [options]
  mountpoint -q "$CHROOT$2" || { mount ${3:---bind} "$1" "$CHROOT$2"; mounts="$CHROOT$2 $mounts"; }
}
cleanup() { for m in $mounts; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
mkdir -p "$CHROOT/proc" "$CHROOT/dev" "$CHROOT/opt"
bind proc /proc "-t proc"
bind /dev /dev
bind /dev/pts /dev/pts
bind tmpfs /dev/shm "-t tmpfs"
bind "$ROOT" "$ROOT"
for d in /opt/wheels /opt/pypi /opt/pypi-more; do
  if [ -d "$d" ]; then mkdir -p "$CHROOT$d"; bind "$d" "$d"; fi
done
missing=$(for p in $(echo "$PKGS,${EXTRA:-}" | tr , ' '); do
  chroot "$CHROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
    grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then  # EXTRA, or a cached chroot from an older list
  chroot "$CHROOT" sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(echo $missing)" >"$ROOT/build/$SUITE-apt.log" 2>&1 ||
    { tail -20 "$ROOT/build/$SUITE-apt.log"; exit 1; }
fi
chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
  PIP_FIND_LINKS="${PIP_FIND_LINKS:-}" PIP_DISABLE_PIP_VERSION_CHECK=1 \
  sh -c "cd '$ROOT' && $1"
