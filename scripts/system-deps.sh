#!/bin/sh
# Installs the Debian packages asyncio-guest needs to build and test:
#   gcc, make; for Debian's own python3 (when it is the one used, as on a
#   fresh machine): its headers, venv and tkinter (python3-dev python3-venv
#   python3-tk); tcl8.6-dev (Tcl headers + stubs library for the Tk waker),
#   tk8.6 (Tk for tkinter), xvfb + xauth (a display for the Tk tests/demo),
#   xdotool (real X input in the Tk tests); for the GTK host, GTK 3 and 4
#   typelibs and what PyGObject needs to build from PyPI against GLib 2.74
#   (libglib2.0-dev libgirepository1.0-dev, libcairo2-dev, pkg-config);
#   WebKitGTK 4.1 for GTK 3 (gir1.2-webkit2-4.1) for asyncio_guest.webview,
#   WebKitGTK 4.0 (libwebkit2gtk-4.0-37) for asyncio_guest.webview_python,
#   where the distribution still has it (Debian 12 does; Debian 13 dropped
#   the 4.0 API, and there the webview_python tests report it as skipped);
#   valgrind (make valgrind); wrk (the load of bench/aiohttp_bench.py);
#   what Qt's xcb platform plugin loads (a real X
#   display: the screenshots of `make docs`; `ldd libqxcb.so` of each
#   binding);
#   and, without their recommends (Wine's would add GL, GStreamer, fonts),
#   the mingw-w64 cross-compiler and Wine for the C tests (make test-wine).
# Does nothing when they are all present; needs root (or sudo) otherwise.
set -eu
PKGS="gcc make python3-dev python3-venv python3-tk tcl8.6-dev tk8.6 xvfb xauth xdotool
  libglib2.0-dev libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0 gir1.2-gtk-4.0
  gir1.2-webkit2-4.1 valgrind wrk
  libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 libxkbcommon-x11-0
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1"
NORECS="gcc-mingw-w64-x86-64 wine wine64"
OPTIONAL="libwebkit2gtk-4.0-37"
installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}
missing=""
for p in $PKGS; do installed "$p" || missing="$missing $p"; done
norecs=""
for p in $NORECS; do installed "$p" || norecs="$norecs $p"; done
optional=""
for p in $OPTIONAL; do installed "$p" || optional="$optional $p"; done
[ -z "$missing$norecs$optional" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# Optional packages: installed where the distribution has them.
for p in $optional; do
  if apt-cache policy "$p" 2>/dev/null | grep -q "Candidate: [0-9]"; then
    missing="$missing $p"
  else
    echo "system-deps: $p is not packaged here; the tests that need it" \
      "report it as skipped" >&2
  fi
done
[ -z "$missing$norecs" ] && exit 0
echo "installing Debian packages:$missing$norecs"
[ -z "$missing" ] ||
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
[ -z "$norecs" ] ||
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $norecs >/dev/null
