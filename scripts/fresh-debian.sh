#!/bin/sh
# The README's two commands on a fresh Debian 13 (trixie) machine with
# Debian's own python3, in a chroot (scripts/chroot.sh, cached in
# build/trixie): a minimal system with python3, make and git, a clean clone
# of this checkout's HEAD, then `make demo` and `make test` there, which
# install what they need themselves (scripts/system-deps.sh).  Not in CI
# (about 25 minutes).  Needs root.
#     sh scripts/fresh-debian.sh [trixie|bookworm]
set -eu
SUITE=${1:-trixie}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLONE=build/fresh-$SUITE/asyncio-guest
rm -rf "$ROOT/build/fresh-$SUITE"
mkdir -p "$ROOT/build/fresh-$SUITE"
git clone -q "$ROOT" "$ROOT/$CLONE"
SUITE=$SUITE CHROOT=build/$SUITE PKGS=python3,make,git,ca-certificates \
  exec sh "$ROOT/scripts/chroot.sh" \
  "cd $CLONE && python3 --version && make demo && make test"
