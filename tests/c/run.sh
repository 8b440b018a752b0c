#!/bin/sh
# Builds and runs the C tests of the core (tests/c/test.h says what they are).
#
#   tests/c/run.sh native   gcc: backend-epoll.c, then backend-kqueue.c (its
#                           poll() + self-pipe code, over an epoll fd: the
#                           kqueue-specific part is not tested here)
#   tests/c/run.sh wine     mingw-w64: backend-iocp.c, thread-win.c,
#                           waker-win32.c, run under Wine (under Xvfb when
#                           there is no display: one test needs a window);
#                           compile checks only: loop-uv.c and
#                           waker-tcl-none.c with mingw-w64, win32module.c
#                           and glue.c against this Python's headers
#
# `make test-c` and `make test-wine`.  A missing compiler or Wine is an
# error, never a skip (scripts/system-deps.sh installs them).
# Variables: CC, MINGW_CC, WINE, PYTHON; outputs go to build/c/.
set -eu
cd "$(dirname "$0")/../.."
CORE=src/asyncio_guest/_core
OUT=build/c
CFLAGS="-std=c11 -Wall -Wextra -Werror -O2 -g -I$CORE -Itests/c"
mkdir -p "$OUT"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "tests/c/run.sh: '$1' not found (Debian package: $2; see" \
         "scripts/system-deps.sh)" >&2
    exit 2
  }
}

native() {
  CC=${CC:-gcc}  # may carry flags: CC="gcc -fsanitize=thread"
  need "${CC%% *}" gcc
  for backend in epoll kqueue; do
    case $backend in
      epoll) label="backend-epoll.c, thread-posix.c" ;;
      kqueue) label="backend-kqueue.c over an epoll fd (its poll + self-pipe code; kqueue itself untested), thread-posix.c" ;;
    esac
    $CC $CFLAGS -pthread -DAG_TEST_BACKEND="\"$label\"" \
      -o "$OUT/test_core_$backend" tests/c/test_core.c tests/c/fixture-epoll.c \
      "$CORE/guest.c" "$CORE/backend-$backend.c" "$CORE/thread-posix.c"
    "$OUT/test_core_$backend"
  done
}

wine_run() {
  MINGW_CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
  WINE=${WINE:-wine}
  PYTHON=${PYTHON:-.venv/bin/python}
  need "$MINGW_CC" gcc-mingw-w64-x86-64
  need "$WINE" "wine and wine64"
  "$MINGW_CC" $CFLAGS -static-libgcc \
    -DAG_TEST_BACKEND='"backend-iocp.c, thread-win.c, waker-win32.c"' \
    -o "$OUT/test_core.exe" tests/c/test_core.c tests/c/fixture-iocp.c \
    "$CORE/guest.c" "$CORE/backend-iocp.c" "$CORE/thread-win.c" \
    "$CORE/waker-win32.c" -luser32
  if [ -z "${DISPLAY:-}" ]; then
    need xvfb-run xvfb
    XRUN="xvfb-run -a"
  else
    XRUN=""
  fi
  # A throwaway prefix, created on first use (a few seconds).
  WINEPREFIX="$PWD/build/wineprefix" WINEDEBUG=-all \
    $XRUN "$WINE" "$OUT/test_core.exe"
  # The rest of the Windows _core that needs no Python headers (setup.py's
  # Windows list): compiled only.
  for f in loop-uv.c waker-tcl-none.c; do
    "$MINGW_CC" $CFLAGS -fsyntax-only "$CORE/$f"
  done
  echo "loop-uv.c, waker-tcl-none.c: compile with mingw-w64 (not run)"
  # The Python glue of the Win32 waker: no Windows Python here, so only
  # compiled (syntax and types) against this Python's C API.
  include=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  ${CC:-gcc} $CFLAGS -fsyntax-only -I"$include" "$CORE/win32module.c" \
    "$CORE/glue.c"
  echo "win32module.c, glue.c: compile against the Python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])') C API (not run)"
}

case "${1:-}" in
  native) native ;;
  wine) wine_run ;;
  *) echo "usage: tests/c/run.sh native|wine" >&2; exit 2 ;;
esac
