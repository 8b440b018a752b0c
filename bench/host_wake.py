"""Wake latency per host, measured the same way for all.

Another thread writes a byte to a socketpair while the guest loop is idle;
the time until the guest's reader callback runs (on the host thread) is one
sample (bench/workloads.py: wake).  The full suite (bench/suite.py) covers
the queue, Tk, Qt and GTK hosts; this covers every host, wake-ups only.  Each host runs in its own
process (Qt bindings cannot share one).  Needs a display for Tk and GTK;
Qt uses the offscreen platform, pygame SDL's dummy driver.
GTK is measured with each waker: gtk3/gtk4 (the C GLib waker, the
default) and gtk3-py/gtk4-py (the PyGObject idle-source waker).

    python bench/host_wake.py [--samples 2000] [--hosts queue,tk,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
import suite  # noqa: E402
import workloads  # noqa: E402


def wake_latency(n: int) -> Any:
    return workloads.wake(n)

HOSTS = ["native", "queue", "tk", "PySide6", "PyQt6", "PyQt5", "gtk3", "gtk4",
         "gtk3-py", "gtk4-py", "pygame", "asyncio", "tornado", "trio"]


def factory(loop: str) -> Any:
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def measure(host: str, loop: str, n: int) -> dict[str, float]:
    f = factory(loop)
    if host == "native":
        with asyncio.Runner(loop_factory=f) as runner:
            return runner.run(wake_latency(n))
    if host == "queue":
        return suite.run_queue(lambda post: wake_latency(n), f, "thread")
    if host == "tk":
        return suite.run_tk(lambda post: wake_latency(n), f,
                            os.environ.get("ASYNCIO_GUEST_MODE", "thread"))
    if host in ("PySide6", "PyQt6", "PyQt5"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import importlib

        widgets = importlib.import_module(f"{host}.QtWidgets")
        from asyncio_guest import qt

        app = widgets.QApplication([])
        result = qt.run(wake_latency, n, loop_factory=f, binding=host)
        del app
        return result
    if host in ("gtk3", "gtk4", "gtk3-py", "gtk4-py"):
        # gtkN: the default (C) GLib waker; gtkN-py: the PyGObject one
        import gi

        gi.require_version("Gtk", "3.0" if host.startswith("gtk3") else "4.0")
        from asyncio_guest import gtk

        return gtk.run(wake_latency, n, loop_factory=f,
                       waker="python" if host.endswith("-py") else "native")
    if host == "pygame":
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        import pygame

        from asyncio_guest import pygame as guest_pygame

        pygame.init()
        pygame.display.set_mode((64, 64))
        return guest_pygame.run(wake_latency, n, loop_factory=f)
    if host == "asyncio":
        from asyncio_guest import aio

        return asyncio.run(aio.run(wake_latency, n, loop_factory=f))
    if host == "tornado":
        from tornado.ioloop import IOLoop

        from asyncio_guest import tornado as guest_tornado

        return IOLoop.current().run_sync(
            lambda: guest_tornado.run(wake_latency, n, loop_factory=f))
    if host == "trio":
        import trio

        from asyncio_guest import trio as guest_trio

        return trio.run(lambda: guest_trio.run(wake_latency, n,
                                               loop_factory=f))
    raise SystemExit(f"unknown host {host!r}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--hosts", default=",".join(HOSTS))
    ap.add_argument("--one", nargs=2, metavar=("HOST", "LOOP"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        fig = measure(args.one[0], args.one[1], args.samples)
        print(json.dumps([fig["wake_med_us"], fig["wake_p99_us"]]))
        return
    print("| host | loop | wake median us | wake p99 us |")
    print("|---|---|---|---|")
    for host in args.hosts.split(","):
        for loop in ("asyncio", "uvloop"):
            out = subprocess.run(
                [sys.executable, __file__, "--samples", str(args.samples),
                 "--one", host, loop], capture_output=True, text=True)
            try:
                med, p99 = json.loads(out.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                print(f"| {host} | {loop} | failed: "
                      f"{out.stderr.strip().splitlines()[-1:]} | |")
                continue
            print(f"| {host} | {loop} | {med:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
