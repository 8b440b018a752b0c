#!/bin/sh
# Python 3.14 and 3.15 for `make test-matrix`: a Debian forky chroot built
# once by debootstrap (bookworm's debootstrap has no forky script; sid's
# works) and cached in build/forky, then
#     sh scripts/forky.sh NAME PYTHON [args for scripts/test_matrix.py]
# runs scripts/test_matrix.py inside it, on this checkout (bind-mounted at
# the same path), under an Xvfb of the chroot's;
#     sh scripts/forky.sh --sh 'COMMAND'
# runs a shell command there instead (make dist builds its wheels so).
# Needs root.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=$ROOT/build/forky
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PKGS=python3.14,python3.14-dev,python3.14-venv,python3.14-tk,python3.15,python3.15-dev,python3.15-venv,python3.15-tk,gcc,make,tcl8.6-dev,tk8.6,xvfb,xauth,pkg-config,ca-certificates,xdotool,libglib2.0-dev
if [ ! -e "$CHROOT/.stamp" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  rm -rf "$CHROOT"
  debootstrap --variant=minbase --include=$PKGS forky "$CHROOT" "$MIRROR" \
    /usr/share/debootstrap/scripts/sid >"$ROOT/build/forky.log" 2>&1 ||
    { tail -20 "$ROOT/build/forky.log"; exit 1; }
  touch "$CHROOT/.stamp"
fi
missing=$(for p in $(echo "$PKGS" | tr , ' '); do
  chroot "$CHROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
    grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then  # a cached chroot from an older package list
  chroot "$CHROOT" sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(echo $missing)" >/dev/null
fi
# pip inside: the host's CA bundle and index configuration
mkdir -p "$CHROOT/etc/ssl/certs" "$CHROOT$ROOT"
cp /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$CHROOT/etc/pip.conf"
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
if [ "$1" = "--sh" ]; then
  command="cd '$ROOT' && $2"
else
  name=$1 python=$2
  shift 2
  command="cd '$ROOT' && xvfb-run -a $python scripts/test_matrix.py $name $python $*"
fi
chroot "$CHROOT" env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
  PIP_FIND_LINKS="${PIP_FIND_LINKS:-}" PIP_DISABLE_PIP_VERSION_CHECK=1 \
  sh -c "$command"
