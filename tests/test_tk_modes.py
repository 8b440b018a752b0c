"""The Tk host's two modes: thread (a backend thread wakes Tk through
Tcl_ThreadQueueEvent) and threadless (Tcl file handlers and a Tcl timer,
set up from C, watch the loop's backend fd and deadline).

tests/test_tk.py runs in this process in the default mode
(``asyncio_guest.tk.DEFAULT_MODE``, or ``$ASYNCIO_GUEST_MODE``) and again in
the other mode in a child pytest (``test_tk_suite_in_the_other_mode``).
The tests below check threadless mode itself.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import tkinter
from typing import Any

import pytest

from asyncio_guest import _core, tk as guest_tk

from guest_helpers import tids

HERE = os.path.dirname(os.path.abspath(__file__))


def this_process_mode() -> str:
    mode = os.environ.get("ASYNCIO_GUEST_MODE") or "auto"
    return guest_tk.DEFAULT_MODE if mode == "auto" else mode


def test_tk_suite_in_the_other_mode(display: str) -> None:
    other = "thread" if this_process_mode() == "threadless" else "threadless"
    env = dict(os.environ, ASYNCIO_GUEST_MODE=other, DISPLAY=display)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         os.path.join(HERE, "test_tk.py")],
        env=env, capture_output=True, text=True, timeout=600)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, tail


def run_threadless(root: tkinter.Tk, main: Any, loop_factory: Any) -> Any:
    out: dict[str, Any] = {}

    def done(task: Any) -> None:
        out["task"] = task
        root.quit()

    run = guest_tk.start(root, main, done_callback=done,
                         loop_factory=loop_factory, mode="threadless")
    assert run._runner.threadless and run._runner.core.threadless
    guard = root.after(20000, lambda: (out.setdefault("hung", True),
                                       run.cancel()))
    root.mainloop()
    root.after_cancel(guard)
    assert "hung" not in out
    return out["task"].result()


def test_threadless_starts_no_thread(tk_root: tkinter.Tk,
                                     loop_factory: Any) -> None:
    tk_root.update()  # Tcl's own notifier thread exists from here on
    before = tids()
    a, b = socket.socketpair()
    seen: dict[str, Any] = {}

    async def main() -> bytes:
        seen["during"] = tids()
        reader, writer = await asyncio.open_connection(sock=a)
        tk_root.after(30, lambda: b.send(b"from another end\n"))
        line = await reader.readline()  # the fd watched by a file handler
        t0 = time.monotonic()
        await asyncio.sleep(0.05)  # the deadline, a Tcl timer
        seen["slept"] = time.monotonic() - t0
        writer.close()
        return line

    try:
        assert run_threadless(tk_root, main, loop_factory) == \
            b"from another end\n"
    finally:
        b.close()
    # libuv keeps whole milliseconds: uvloop may end a sleep ~0.4 ms early
    assert seen["slept"] >= 0.048
    assert seen["during"] - before == set()  # no backend thread


def test_threadless_stale_deadline_fixed_by_tk_callback(
        tk_root: tkinter.Tk, loop_factory: Any) -> None:
    """The guest waits on a one-hour timer (a Tcl timer of an hour); a Tk
    callback resolves a future: the wake hook makes the watcher fire now."""
    async def main() -> tuple[str, float]:
        fut = asyncio.get_running_loop().create_future()
        sleeper = asyncio.ensure_future(asyncio.sleep(3600))
        await asyncio.sleep(0.02)  # parked on the hour
        t0 = time.monotonic()
        tk_root.after(30, lambda: fut.set_result("from Tk"))
        value = await fut
        sleeper.cancel()
        return value, time.monotonic() - t0

    value, waited = run_threadless(tk_root, main, loop_factory)
    assert value == "from Tk"
    assert waited < 5.0


@pytest.mark.native_tcl
def test_bad_mode_and_fds_are_refused(tk_root: tkinter.Tk) -> None:
    async def main() -> None:
        pass

    with pytest.raises(ValueError, match="mode must be"):
        guest_tk.start(tk_root, main, mode="fast")
    addr = tk_root.tk.interpaddr()
    with pytest.raises(ValueError, match="1 or 2"):
        _core.TclWaker(addr, "set x 1", fds=[])
    with pytest.raises(ValueError, match="bad fd"):
        _core.TclWaker(addr, "set x 1", fds=[-1])
    with pytest.raises(TypeError):
        _core.TclWaker(addr, "set x 1", fds=["0"])  # type: ignore[list-item]
    w = _core.TclWaker(addr, "set x 1", fds=[0])
    assert w.threadless
    w.close()
    assert not _core.TclWaker(addr, "set x 1").threadless


def test_tcl_waker_says_how_the_core_was_built(tk_root: tkinter.Tk) -> None:
    """A core built without Tcl's development files has no native waker,
    says so clearly, and the Tk host then wakes Tk through tkinter (the
    rest of the Tk suite runs on such a build in make test-degraded)."""
    addr = tk_root.tk.interpaddr()
    if _core.TCL_VERSION == "none":
        with pytest.raises(RuntimeError, match="without Tcl"):
            _core.TclWaker(addr, "set x 1")
        assert guest_tk.NATIVE_WAKER is None
    else:
        _core.TclWaker(addr, "set x 1").close()
        assert guest_tk.NATIVE_WAKER == _core.TCL_VERSION


@pytest.mark.native_tcl
def test_tcl_waker_capsules(tk_root: tkinter.Tk) -> None:
    """A TclWaker made with fds is a watcher (for Guest.threadless), one
    without is a waker (for Guest.threaded); the other capsule is refused
    clearly, and so is either once closed."""
    addr = tk_root.tk.interpaddr()
    watcher = _core.TclWaker(addr, "set x 1", fds=[0])
    waker = _core.TclWaker(addr, "set x 1")
    try:
        assert "watcher" in repr(watcher._ag_watcher)
        assert "waker" in repr(waker._ag_waker)
        with pytest.raises(AttributeError, match="threadless TclWaker has no "
                                                 "_ag_waker"):
            watcher._ag_waker  # noqa: B018
        with pytest.raises(AttributeError, match="TclWaker without fds has "
                                                 "no _ag_watcher"):
            waker._ag_watcher  # noqa: B018
        with pytest.raises(TypeError, match="Guest.threaded: .*TclWaker has no "
                                            "_ag_waker"):
            _core.Guest.threaded(0, watcher)
        with pytest.raises(TypeError, match="Guest.threadless: .*TclWaker has "
                                            "no _ag_watcher"):
            _core.Guest.threadless(0, waker)
    finally:
        watcher.close()
        waker.close()
    with pytest.raises(RuntimeError, match="TclWaker._ag_waker: the waker is "
                                           "closed"):
        waker._ag_waker  # noqa: B018
    with pytest.raises(RuntimeError, match="TclWaker.post_soon: the waker is "
                                           "closed"):
        waker.post_soon()
