"""A GUI program with a guest run, to be interrupted by a real SIGINT (run
by tests/test_sigint.py, one scenario per process; not a test module).

    python sigint_driver.py HOST LOOP WHERE MODE

HOST is ``tk``, ``qt`` or ``gtk`` (each host's ``run()``); LOOP
``asyncio`` or ``uvloop``; MODE ``thread`` or ``threadless``; WHERE says
what the program is doing when the signal comes:

* ``idle``: nothing.  The main coroutine waits for an hour; once the guest
  has stayed parked (its backend thread polls, or the host watches its
  fds) and the program's window shown for a while, a host timer prints
  ``ready`` and the host is left to sleep.
* ``tick``: the main coroutine prints ``busy`` and spins in a CPU loop,
  inside a guest tick.
* ``callback``: a plain host timer callback (Tk ``after``, Qt ``QTimer``,
  GLib ``timeout_add``) prints ``busy`` and spins in a CPU loop.

Another task of the run waits too, with a ``finally`` that awaits.  When
the host's ``run()`` raises, the program prints one line::

    TEARDOWN {"log": [...], "run_done": ..., "loop_closed": ...,
              "guest_threads": [...], "current_run": ...}

and lets the exception go: Python reports it and exits as it does for an
uncaught KeyboardInterrupt.  Should ``run()`` return instead, the program
prints ``RETURNED`` and exits with status 3.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

HOST, LOOP, WHERE, MODE = sys.argv[1:5]
os.environ["ASYNCIO_GUEST_MODE"] = MODE
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("NO_AT_BRIDGE", "1")

import asyncio  # noqa: E402

import asyncio_guest  # noqa: E402

log: list[str] = []
box: dict[str, Any] = {}


def say(line: str) -> None:
    print(line, flush=True)


def loop_factory() -> asyncio.AbstractEventLoop:
    if LOOP == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def spin() -> None:
    say("busy")
    while True:
        pass


async def other() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(0)  # a clean-up that awaits
        log.append("other finally")


async def main(after: Callable[[int, Callable[[], None]], None]) -> None:
    box["run"] = asyncio_guest.current_run()
    box["loop"] = asyncio.get_running_loop()
    asyncio.create_task(other())
    await asyncio.sleep(0.01)
    try:
        if WHERE == "tick":
            spin()
        elif WHERE == "callback":
            after(0, spin)
        else:
            after(0, report_ready)
        box["waiting"] = True
        await asyncio.sleep(3600)
    finally:
        log.append("main finally")


def report_ready() -> None:
    """A host timer: ``ready`` once the guest has been parked, and the
    host's window shown (``box["shown"]()``), for 300 ms in a row: by then
    the window's first events (map, expose) have been handled, and nothing
    but the signal can wake the host."""
    guest = box["run"]._runner.core
    quiet = (box.get("waiting") and box["shown"]()
             and guest.state == ("armed" if guest.threadless else "polling"))
    if not quiet or box.get("posts") != guest.posts:
        box["quiet since"] = time.monotonic()
        box["posts"] = guest.posts
    if quiet and time.monotonic() - box["quiet since"] >= 0.3:
        say("ready")
    else:
        box["after"](10, report_ready)


def guest_threads() -> list[str]:
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "asyncio-guest":
                    found.append(tid)
        except OSError:
            pass
    return found


def run_tk() -> None:
    import tkinter

    from asyncio_guest import tk as guest_tk

    root = tkinter.Tk()
    box["after"] = lambda ms, fn: root.after(ms, fn)
    box["shown"] = lambda: bool(root.winfo_viewable())
    guest_tk.run(root, main, box["after"], loop_factory=loop_factory)


def run_qt() -> None:
    import importlib

    from asyncio_guest import qt as guest_qt

    binding = guest_qt.resolve_binding()
    widgets = importlib.import_module(f"{binding}.QtWidgets")
    core = importlib.import_module(f"{binding}.QtCore")
    app = widgets.QApplication([])  # noqa: F841  (alive for the run)
    window = widgets.QLabel("sigint_driver")
    window.show()
    box["after"] = lambda ms, fn: core.QTimer.singleShot(ms, fn)
    box["shown"] = window.isVisible
    guest_qt.run(main, box["after"], loop_factory=loop_factory)


def run_gtk() -> None:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk  # noqa: F401  (GTK initialised)

    from asyncio_guest import gtk as guest_gtk

    def after(ms: int, fn: Callable[[], None]) -> None:
        GLib.timeout_add(ms, lambda: fn() and False)

    window = Gtk.Window(title="sigint_driver")
    window.show_all()
    box["after"] = after
    box["shown"] = window.get_mapped
    guest_gtk.run(main, after, loop_factory=loop_factory)


try:
    {"tk": run_tk, "qt": run_qt, "gtk": run_gtk}[HOST]()
finally:
    run = box.get("run")
    say("TEARDOWN " + json.dumps({
        "log": log,
        "run_done": None if run is None else run.done,
        "loop_closed": None if "loop" not in box else box["loop"].is_closed(),
        "guest_threads": guest_threads(),
        "current_run": asyncio_guest.current_run() is not None,
    }))
say("RETURNED")
sys.exit(3)
