"""Refuse to run a sanitizer suite that would not sanitize anything.

    python tests/sanitizers/check.py asan|tsan

Checks, in the environment `make test-sanitize` runs the suite in, that
``asyncio_guest`` is imported from the sanitizer build (build/<name>/), that
both extensions in it are instrumented (they import the sanitizer's entry
points), and that the sanitizer runtime is loaded first (LD_PRELOAD).
"""

from __future__ import annotations

import os
import subprocess
import sys

RUNTIME = {"asan": ("libasan.so", "__asan_report"),
           "tsan": ("libtsan.so", "__tsan_read")}


def main() -> int:
    name = sys.argv[1]
    runtime, symbol = RUNTIME[name]
    import asyncio_guest._core as core
    import asyncio_guest._glib as glib

    build = os.path.abspath(os.path.join("build", name))
    problems = []
    for mod in (core, glib):
        path = os.path.abspath(mod.__file__ or "")
        if not path.startswith(build + os.sep):
            problems.append(f"{mod.__name__} comes from {path}, not {build}")
        syms = subprocess.run(["nm", "-D", "--undefined-only", path],
                              capture_output=True, text=True).stdout
        if symbol not in syms:
            problems.append(f"{path} is not instrumented (no {symbol})")
    with open("/proc/self/maps") as f:
        if runtime not in f.read():
            problems.append(f"{runtime} is not loaded (LD_PRELOAD)")
    for p in problems:
        print(f"test-sanitize: {p}", file=sys.stderr)
    if not problems:
        print(f"test-sanitize: {name} build in {build}, {runtime} loaded")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
