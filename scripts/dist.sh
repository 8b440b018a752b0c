#!/bin/sh
# make dist: an sdist, then one wheel per supported Python built from it
# (3.11 from .venv, 3.12 and 3.13 from pyenv, 3.14 and 3.15 in the forky
# chroot of scripts/forky.sh), each repaired by auditwheel to a manylinux
# tag -- without grafting libglib: the process must keep the one libglib
# PyGObject loaded (the Tk waker binds through Tcl's stubs and links no
# libtcl; uvloop is reached through its module, not libuv) -- then
# `auditwheel show` and `twine check` on all of them.
set -eu
export AG_REQUIRE_TCL=1 AG_REQUIRE_GLIB=1  # a wheel has both native wakers
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=$ROOT/.venv/bin/python
OUT=$ROOT/dist
WORK=$ROOT/build/dist
PYTHONS=${DIST_PYTHONS:-"$PY $HOME/.pyenv/versions/3.12.1/bin/python3 $HOME/.pyenv/versions/3.13.0/bin/python3"}
FORKY=${DIST_FORKY:-"python3.14 python3.15"}
rm -rf "$OUT" "$WORK"
mkdir -p "$OUT" "$WORK/raw"
"$PY" -m build --sdist --outdir "$OUT" "$ROOT" >"$WORK/sdist.log" 2>&1 ||
  { tail -20 "$WORK/sdist.log"; exit 1; }
SDIST=$(ls "$OUT"/*.tar.gz)
for py in $PYTHONS; do
  "$py" -m pip wheel -q --no-deps -w "$WORK/raw" "$SDIST" ||
    { echo "dist: the wheel for $py failed"; exit 1; }
done
for py in $FORKY; do
  sh "$ROOT/scripts/forky.sh" --sh "rm -rf build/dist/venv-$py && $py -m venv build/dist/venv-$py && build/dist/venv-$py/bin/pip wheel -q --no-deps -w build/dist/raw '$SDIST'" ||
    { echo "dist: the wheel for $py failed"; exit 1; }
done
PATH="$ROOT/.venv/bin:$PATH"
for wheel in "$WORK"/raw/*.whl; do
  auditwheel repair --exclude libglib-2.0.so.0 -w "$OUT" "$wheel" >>"$WORK/repair.log" 2>&1 || { tail -20 "$WORK/repair.log"; exit 1; }
done
for wheel in "$OUT"/*.whl; do
  auditwheel show "$wheel" | tr '\n' ' ' | grep -o 'platform tag: "[^"]*"' |
    sed "s|^|dist: $(basename "$wheel"): |"
  if unzip -l "$wheel" | grep -qE "\.libs/|libglib|libtcl|libuv"; then
    echo "dist: $wheel bundles a library it must not"; exit 1
  fi
done
twine check --strict "$OUT"/*
ls -l "$OUT"
