"""A private Xvfb, for the tests, the docs' tests and the screenshots (a
module of its own: it imports no conftest)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
from typing import Any

#: Held around Popen by the helpers that start children from several
#: threads at once: concurrent vfork()s in this (many-threaded) process were
#: seen failing with EFAULT ("Bad address") in exec.
SPAWN_LOCK = threading.Lock()


def spawn(argv: "list[str]", **kwargs: Any) -> "subprocess.Popen[Any]":
    """Popen under SPAWN_LOCK, tried again (3 times) when exec fails with
    EFAULT: seen even under the lock, once, on Python 3.15 (a child whose
    exec fails never ran anything, so starting it again is safe)."""
    for attempt in range(3):
        try:
            with SPAWN_LOCK:
                return subprocess.Popen(argv, **kwargs)
        except OSError as exc:
            if exc.errno != errno.EFAULT or attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_xvfb(screen: str = "1024x768x24") -> "tuple[subprocess.Popen[bytes], str]":
    """An Xvfb of its own (the server picks the display number): (process,
    ":N").  RuntimeError without Xvfb, or when it does not start."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("no Xvfb: install xvfb (apt-get install xvfb)")
    r, w = os.pipe()
    proc = spawn(
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
