#!/bin/sh
# Python 3.14 and 3.15 for `make test-matrix`: a Debian forky chroot
# (scripts/chroot.sh, cached in build/forky), then
#     sh scripts/forky.sh NAME PYTHON [args for scripts/test_matrix.py]
# runs scripts/test_matrix.py inside it, on this checkout, under an Xvfb of
# the chroot's;
#     sh scripts/forky.sh --sh 'COMMAND'
# runs a shell command there instead (make dist builds its wheels so).
# Needs root.
set -eu
PKGS=python3.14,python3.14-dev,python3.14-venv,python3.14-tk,python3.15,python3.15-dev,python3.15-venv,python3.15-tk,gcc,make,tcl8.6-dev,tk8.6,xvfb,xauth,pkg-config,ca-certificates,xdotool,libglib2.0-dev
# installed after debootstrap, for the heavy groups (scripts/test_matrix.py
# --heavy): PyGObject's build and GTK 3/4 + WebKitGTK typelibs; what Qt's
# wheels load (GL, fontconfig, xkbcommon, D-Bus, and the xcb plugin's
# libraries); SDL 2's development files (pygame has no wheel for 3.14 and
# 3.15: it is built from source)
EXTRA=libsdl2-dev,libsdl2-image-dev,libsdl2-mixer-dev,libsdl2-ttf-dev,libfreetype-dev,libportmidi-dev,libgirepository1.0-dev,libcairo2-dev,gir1.2-gtk-3.0,gir1.2-gtk-4.0,gir1.2-webkit2-4.1,libgl1,libegl1,libfontconfig1,libxkbcommon0,libxkbcommon-x11-0,libdbus-1-3,libxcb-cursor0,libxcb-icccm4,libxcb-keysyms1,libxcb-shape0
if [ "$1" = "--sh" ]; then
  command=$2
else
  name=$1 python=$2
  shift 2
  command="xvfb-run -a $python scripts/test_matrix.py $name $python $*"
fi
SUITE=forky CHROOT=build/forky PKGS=$PKGS EXTRA=$EXTRA exec sh "$(dirname "$0")/chroot.sh" "$command"
