"""A program whose host stops pumping before its guest run ends (run by
tests/test_faults.py, one scenario per process; not a test module).

    python abandon_driver.py HOST LOOP MODE

HOST is ``queue`` (start_guest_run on a queue.Queue host), ``tk``, ``qt``
or ``gtk``; LOOP ``asyncio`` or ``uvloop``; MODE ``thread`` or
``threadless`` (GUI hosts; the queue host always has a backend thread).

The program starts a run whose main coroutine never ends, pumps the host
until the guest is parked (its backend thread polls, or the host watches
its fds), prints ``parked``, ``threads while parked: N`` and ``stopped
pumping``, and falls off the end of the script with the run still
alive.  An exit hook registered *before* asyncio_guest is imported (exit
hooks run last-registered first, so this one runs after asyncio_guest's
own) prints one line::

    LATE {"guest_threads": [...], "leftover_fds": {...},
          "wakeup_fd_before": N, "wakeup_fd_after": N, ...}

``leftover_fds``: fds opened while the run started (not by the loop
factory, which the run reports separately as ``loop_fds``) and still open
at that point.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
from typing import Any

HOST, LOOP, MODE = sys.argv[1:4]
os.environ["ASYNCIO_GUEST_MODE"] = MODE
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("NO_AT_BRIDGE", "1")

state: dict[str, Any] = {}


def open_fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the fd of the listing itself, closed meanwhile
    return out


def guest_threads() -> list[str]:
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "asyncio-guest":
                    found.append(tid)
        except OSError:
            pass  # exited meanwhile
    return found


def wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def joined_threads() -> list[str]:
    """guest_threads(), once the joined ones have left /proc: pthread_join
    returns when the kernel clears the thread's tid, a moment before its
    task is released (and /proc/self/task/<tid> goes away)."""
    deadline = time.monotonic() + 2.0
    found = guest_threads()
    while found and time.monotonic() < deadline:
        time.sleep(0.01)
        found = guest_threads()
    return found


def late_report() -> None:
    now = open_fds()
    mine = set(now) - set(state.get("before", now)) - set(
        state.get("loop_fds", ()))
    print("LATE " + json.dumps({
        "guest_threads": joined_threads(),
        "leftover_fds": {str(fd): now[fd] for fd in sorted(mine)},
        "loop_fds": state.get("loop_fds", []),
        "wakeup_fd_before": state.get("wakeup_before"),
        "wakeup_fd_after": wakeup_fd(),
    }), flush=True)


atexit.register(late_report)  # before asyncio_guest registers its own

import asyncio  # noqa: E402

import asyncio_guest  # noqa: E402


def loop_factory() -> asyncio.AbstractEventLoop:
    if LOOP == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    state["loop_fds"] = sorted(set(open_fds()) - set(state["before"]))
    return loop


async def main() -> None:
    state["waiting"] = True
    await asyncio.sleep(3600)


def parked() -> bool:
    run = state.get("run")
    if run is None or not state.get("waiting"):
        return False
    guest = run._runner.core
    return bool(guest.state == ("armed" if guest.threadless else "polling"))


def run_queue_host() -> None:
    import queue
    import time

    q: "queue.Queue[Any]" = queue.Queue()
    state["before"] = open_fds()
    state["wakeup_before"] = wakeup_fd()
    state["run"] = asyncio_guest.start_guest_run(
        main, run_sync_soon_threadsafe=q.put, done_callback=print,
        loop_factory=loop_factory)
    deadline = time.monotonic() + 10
    while not parked() and time.monotonic() < deadline:
        try:
            q.get(timeout=0.01)()
        except queue.Empty:
            pass


def run_tk() -> None:
    import tkinter

    from asyncio_guest import tk as guest_tk

    root = tkinter.Tk()
    state["root"] = root  # alive until exit, as in a program that forgot it
    root.update()  # Tcl starts its notifier (and opens its pipe) lazily
    state["before"] = open_fds()
    state["wakeup_before"] = wakeup_fd()
    state["run"] = guest_tk.start(root, main, loop_factory=loop_factory)
    poll_then_quit(lambda ms, fn: root.after(ms, fn), root.quit)
    root.mainloop()


def run_qt() -> None:
    import importlib

    from asyncio_guest import qt as guest_qt

    binding = guest_qt.resolve_binding()
    widgets = importlib.import_module(f"{binding}.QtWidgets")
    core = importlib.import_module(f"{binding}.QtCore")
    app = widgets.QApplication.instance() or widgets.QApplication([])
    state["app"] = app
    state["before"] = open_fds()
    state["wakeup_before"] = wakeup_fd()
    state["run"] = guest_qt.start(main, loop_factory=loop_factory)
    poll_then_quit(lambda ms, fn: core.QTimer.singleShot(ms, fn), app.quit)
    (getattr(app, "exec", None) or app.exec_)()


def run_gtk() -> None:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk  # noqa: F401  (GTK initialised)

    from asyncio_guest import gtk as guest_gtk

    mainloop = GLib.MainLoop()
    state["before"] = open_fds()
    state["wakeup_before"] = wakeup_fd()
    state["run"] = guest_gtk.start(main, loop_factory=loop_factory)

    def after(ms: int, fn: Any) -> None:
        GLib.timeout_add(ms, lambda: fn() and False)

    poll_then_quit(after, mainloop.quit)
    mainloop.run()


def poll_then_quit(after: Any, quit_host: Any) -> None:
    """From host timers: once the guest is parked, quit the host loop (the
    run is left alive); give up (and quit) after 10 s."""
    import time

    deadline = time.monotonic() + 10

    def poll() -> None:
        if parked() or time.monotonic() > deadline:
            quit_host()
        else:
            after(5, poll)

    after(0, poll)


{"queue": run_queue_host, "tk": run_tk, "qt": run_qt, "gtk": run_gtk}[HOST]()
print("parked" if parked() else "never parked", flush=True)
print(f"threads while parked: {len(guest_threads())}", flush=True)
print("stopped pumping", flush=True)
