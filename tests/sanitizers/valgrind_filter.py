"""Read a valgrind memcheck log; fail if an error or a definite leak is
ours.

    python tests/sanitizers/valgrind_filter.py valgrind.log

CPython itself is not valgrind-clean without its own suppressions (it reads
uninitialised bytes on purpose, e.g. in int.from_bytes of os.urandom() data,
and keeps objects at exit), and neither are GLib's or libuv's caches.  An
error block counts as ours when one of its top frames (where it happened,
or where a leaked block was allocated, past the allocator) is in the C
core: the _core or _glib extension, by file name or by object.
"""

from __future__ import annotations

import re
import sys

OURS = re.compile(
    r"\((?:guest|module|glibmodule|backend-\w+|thread-\w+|waker-\w+|"
    r"loop-uv)\.c:\d+\)|/asyncio_guest/_(?:core|glib)\.cpython")
ALLOCATORS = ("malloc", "calloc", "realloc", "PyMem_", "PyObject_Malloc",
              "g_malloc", "g_slice")
TOP = 4


def blocks(text: str) -> list[list[str]]:
    out: list[list[str]] = []
    cur: list[str] = []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if not body.strip():
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(body)
    if cur:
        out.append(cur)
    return out


def ours(block: list[str]) -> bool:
    frames = [ln for ln in block if re.match(r"\s+(at|by) 0x", ln)]
    if "definitely lost" in block[0]:
        frames = [f for f in frames
                  if not any(a in f for a in ALLOCATORS)]
    return any(OURS.search(f) for f in frames[:TOP])


def main(path: str) -> int:
    with open(path) as f:
        text = f.read()
    errors = [b for b in blocks(text)
              if b and (b[0].startswith(("Invalid", "Conditional jump",
                                         "Use of uninitialised",
                                         "Syscall param", "Mismatched",
                                         "Source and destination"))
                        or "definitely lost" in b[0])]
    mine = [b for b in errors if ours(b)]
    for b in mine:
        print("\n".join(b) + "\n", file=sys.stderr)
    summary = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    print(f"valgrind: {len(errors)} error blocks in the log "
          f"({summary[-1] if summary else '?'} errors in all, CPython's and "
          f"the libraries' included); {len(mine)} in the C core")
    return 1 if mine else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
