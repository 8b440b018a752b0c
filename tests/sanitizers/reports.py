"""Print the sanitizer reports a `make test-sanitize` run left behind, and
fail if any came from a process of ours.

    python tests/sanitizers/reports.py build/san-report.*

The sanitizers write one file per reporting process, named
``san-report.<executable>.<pid>`` (``log_exe_name=1``).  Reports from
WebKit's helper processes (``WebKitWebProcess``, ``WebKitNetworkProcess``)
are shown but do not fail the run: they inherit the preloaded runtime
through the environment, load nothing of ours, and run WebKit's own
allocator (bmalloc/libpas), which the runtime does not understand.
"""

from __future__ import annotations

import os
import sys

FOREIGN = ("WebKitWebProcess", "WebKitNetworkProcess", "WebKitGPUProcess")


def main(paths: list[str]) -> int:
    ours = 0
    for path in paths:
        if not os.path.isfile(path):
            continue  # the shell's unexpanded glob: no report at all
        name = os.path.basename(path)
        foreign = any(f in name for f in FOREIGN)
        with open(path, errors="replace") as f:
            text = f.read()
        label = "not ours, ignored" if foreign else "FAILS THE RUN"
        print(f"==== {name} ({label})\n{text}", file=sys.stderr)
        ours += not foreign
    if ours:
        print(f"test-sanitize: {ours} sanitizer report(s) from our "
              f"processes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
