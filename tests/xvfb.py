"""A private Xvfb, for the tests, the docs' tests and the screenshots (a
module of its own: it imports no conftest)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

#: Held around Popen by the helpers that start children from several
#: threads at once: concurrent vfork()s in this (many-threaded) process were
#: seen failing with EFAULT ("Bad address") in exec.
SPAWN_LOCK = threading.Lock()


def start_xvfb(screen: str = "1024x768x24") -> "tuple[subprocess.Popen[bytes], str]":
    """An Xvfb of its own (the server picks the display number): (process,
    ":N").  RuntimeError without Xvfb, or when it does not start."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("no Xvfb: install xvfb (apt-get install xvfb)")
    r, w = os.pipe()
    with SPAWN_LOCK:
        proc = subprocess.Popen(
            [xvfb, "-displayfd", str(w), "-screen", "0", screen,
             "-nolisten", "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        proc.wait()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number}"
