"""Fuzz the app:// path resolver (any page may ask for any app:// URL):
resolve_app_path either names a regular file inside the folder or raises
AppPathError; origin_of and OriginPolicy.allows never raise.

    python fuzz/fuzz_app_path.py [libFuzzer options, e.g. -runs=100000]
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from asyncio_guest.webview._origins import (
        AppPathError, OriginPolicy, origin_of, resolve_app_path)

# A folder with files, a subfolder, and symlinks in and out; a secret
# beside it.
BASE = tempfile.mkdtemp(prefix="fuzz-app-")
ROOT = os.path.join(BASE, "app")
os.makedirs(os.path.join(ROOT, "sub"))
for name in ("index.html", "sub/page.html", "sub/index.html", "a b.js"):
    with open(os.path.join(ROOT, name), "w") as f:
        f.write("x")
with open(os.path.join(BASE, "secret.txt"), "w") as f:
    f.write("secret")
os.symlink(os.path.join(BASE, "secret.txt"), os.path.join(ROOT, "out"))
os.symlink(BASE, os.path.join(ROOT, "dir-out"))
os.symlink(os.path.join(ROOT, "sub"), os.path.join(ROOT, "in"))
REAL = os.path.realpath(ROOT)
POLICY = OriginPolicy.of(["https://example.com", "app://main",
                          f"file://{REAL}/"])
PIECES = ["..", ".", "%2e", "%2E", "%2f", "%5c", "\\", "/", "%00", "sub",
          "out", "dir-out", "in", "index.html", "secret.txt", "%", "%ff",
          "//", "~", "a b.js", "a%20b.js"]


def one(data: bytes) -> None:
    """First byte: odd = the path is made of PIECES (one per byte after
    it); else the path is the rest's text (UTF-8, errors replaced)."""
    if data[:1] and data[0] & 1:
        path = "".join(PIECES[b % len(PIECES)] for b in data[1:13])
    else:
        path = data[1:].decode("utf-8", errors="replace")
    try:
        found = resolve_app_path(ROOT, path)
    except AppPathError as exc:
        assert exc.status in (400, 403, 404), exc
    else:
        assert os.path.commonpath([REAL, found]) == REAL, (path, found)
        assert os.path.isfile(found), (path, found)
        assert "secret" not in found, (path, found)
    for uri in (path, "file://" + path, "app://main" + path,
                "https://example.com" + path):
        origin_of(uri)
        POLICY.allows(uri)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
