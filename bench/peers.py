"""The peers: other ways of running async code alongside a GUI (or generic)
event loop, measured on the same scenarios as our configurations.

``PEERS(Config)`` is called by bench/suite.py with its ``Config`` class (so
this module needs nothing from it).  A peer's mode string is ignored; its
``host`` names the configuration of ours it is compared with.  Each peer's
packages are imported only inside its runner (requirements-bench.txt).
"""

from __future__ import annotations

import asyncio
import collections
import queue
from importlib.metadata import version
from typing import Any, Callable, Coroutine, Optional

import trio_workloads
import workloads

Make = Callable[[Optional[workloads.Post]], Any]   # post -> coroutine
Factory = Optional[Callable[[], asyncio.AbstractEventLoop]]


def _versions(*packages: str) -> dict[str, str]:
    return {p: version(p) for p in packages}


# -- qasync: the asyncio loop replaced by one running QApplication.exec() ----

def run_qasync(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    from PySide6 import QtCore, QtWidgets  # first, so qasync picks PySide6

    import qasync

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])

    def post(fn: Callable[[], object]) -> None:
        QtCore.QTimer.singleShot(0, fn)

    # qasync's documented idiom, asyncio.run(main(), loop_factory=...),
    # spelled with asyncio.Runner for Python 3.11 (closes the loop too).
    # The loop factory is qasync's own: it cannot run uvloop.
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as r:
        result: dict[str, float] = r.run(make(post))
    return result


def _qasync_versions() -> dict[str, str]:
    import PySide6
    from PySide6 import QtCore

    return dict(_versions("qasync"), PySide6=PySide6.__version__,
                Qt=QtCore.qVersion())


# -- PySide6.QtAsyncio: Qt's own asyncio loop (a Qt event per callback) -----

def run_qtasyncio(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    from PySide6 import QtAsyncio, QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])

    def post(fn: Callable[[], object]) -> None:
        QtCore.QTimer.singleShot(0, fn)

    # QtAsyncio's documented way, stopping when the coroutine ends.  Its
    # loop stops by quitting the application's exec() (quit_qapp=False
    # never returns from run_until_complete in 6.11); the application
    # object stays, and the next round exec()s it again with a new loop.
    result: dict[str, float] = QtAsyncio.run(
        make(post), keep_running=False, quit_qapp=True)
    del app
    return result


def qtasyncio_scenarios(
        post: Optional[workloads.Post], echo_port: int,
        sizes: dict[str, Any] = workloads.SIZES,
        only: Optional[set[str]] = None,
) -> Coroutine[Any, Any, dict[str, float]]:
    """The scenarios QtAsyncio can run: it has no I/O at all (add_reader,
    sockets, servers, getaddrinfo raise NotImplementedError in 6.11), so no
    wake latency and no ping-pong; the iteration cost, timers, idle and the
    host under a flood."""
    can = {"iter", "timer", "idle", "flood"}
    return workloads.scenarios(post, echo_port, sizes,
                               can if only is None else only & can)


def _qtasyncio_versions() -> dict[str, str]:
    import PySide6
    from PySide6 import QtCore

    return {"PySide6 (QtAsyncio)": PySide6.__version__, "Qt": QtCore.qVersion()}


# -- async-tkinter-loop: Tk pumped from an asyncio task every 10 ms ----------

def run_async_tk(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    import tkinter

    from async_tkinter_loop import async_mainloop

    root = tkinter.Tk()
    loop = (factory or asyncio.new_event_loop)()

    def post(fn: Callable[[], object]) -> None:
        root.after(0, fn)

    # The scenarios run as a task beside the pump; when they end the root
    # is destroyed, which ends the pump (and run_until_complete).
    task = loop.create_task(make(post))
    task.add_done_callback(lambda _: root.destroy())
    try:
        async_mainloop(root, loop)
        result: dict[str, float] = task.result()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return result


def _async_tk_versions() -> dict[str, str]:
    import tkinter

    return dict(_versions("async-tkinter-loop"), Tk=str(tkinter.TkVersion))


# -- gi.events: PyGObject's asyncio loop running the GLib main context -------

def run_gi_events(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.events import GLibEventLoopPolicy
    from gi.repository import GLib, Gtk  # noqa: F401  (GTK loaded, as ours)

    def post(fn: Callable[[], object]) -> None:
        GLib.idle_add(fn)  # fn returns None: the idle source runs once

    # As PyGObject documents it: install the policy, take the loop of the
    # default main context (policy.new_event_loop(), hence asyncio.run,
    # would iterate a fresh context where GTK's sources are not).
    previous = asyncio.get_event_loop_policy()
    policy = GLibEventLoopPolicy()
    asyncio.set_event_loop_policy(policy)
    loop = policy.get_event_loop()
    try:
        result: dict[str, float] = loop.run_until_complete(make(post))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
        policy.set_event_loop(None)
        asyncio.set_event_loop_policy(previous)
    return result


def gi_events_scenarios(
        post: Optional[workloads.Post], echo_port: int,
        sizes: dict[str, Any] = workloads.SIZES,
        only: Optional[set[str]] = None,
) -> Coroutine[Any, Any, dict[str, float]]:
    """The scenarios without flood, which never ends under gi.events: its
    GSource runs asyncio at G_PRIORITY_DEFAULT and is always ready while
    the guest floods, so GLib never dispatches the host's idle sources
    (G_PRIORITY_DEFAULT_IDLE) and the probe's first event never runs."""
    return workloads.scenarios(None, echo_port, sizes, only)  # no post


def _gi_versions() -> dict[str, str]:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk

    return {"PyGObject": gi.__version__,
            "GTK 3": "%d.%d.%d" % (Gtk.get_major_version(),
                                   Gtk.get_minor_version(),
                                   Gtk.get_micro_version()),
            "GLib": "%d.%d.%d" % (GLib.MAJOR_VERSION, GLib.MINOR_VERSION,
                                  GLib.MICRO_VERSION)}


# -- aioguest: generic guest mode (greenlet; select() in a thread) -----------

def run_aioguest(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    import aioguest

    # The same host as our "queue" row: a queue drained by the main thread.
    q: "queue.Queue[Callable[[], object]]" = queue.Queue()
    out: list[Any] = []
    aioguest.start_guest_run(make(q.put), run_sync_soon_threadsafe=q.put,
                             done_callback=out.append, loop_factory=factory)
    while not out:
        q.get()()
    result: dict[str, float] = out[0].unwrap()  # an outcome.Outcome
    return result


# -- Trio's guest mode hosted by Tk: the architectural reference -------------

def run_trio_native(make: Make, factory: Factory) -> dict[str, float]:
    import trio

    result: dict[str, float] = trio.run(lambda: make(None))
    return result


def run_trio_tk(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    import tkinter

    import trio

    root = tkinter.Tk()
    # Trio's docs point to trio-guest's Tk host: one registered Tcl command
    # runs the oldest queued function.  A Tcl call made from another thread
    # is marshalled by _tkinter (threaded Tcl) to the interpreter's thread,
    # and waits only until Tcl has queued the `after`, so it is safe from
    # Trio's I/O thread.  The ticks are idle callbacks ("after idle"), so
    # that Tk's own pending events go first.
    pending: collections.deque[Callable[[], object]] = collections.deque()
    command = root.register(lambda: pending.popleft()())

    def soon_threadsafe(fn: Callable[[], object]) -> None:
        pending.append(fn)
        root.tk.call("after", "idle", command)

    def soon(fn: Callable[[], object]) -> None:
        # From a tick: "after idle after 0" waits for the queue to empty
        # and then for the next timer pass, so a guest that always has work
        # cannot keep Tk's events from running.
        pending.append(fn)
        root.tk.call("after", "idle", "after", 0, command)

    def post(fn: Callable[[], object]) -> None:
        root.after(0, fn)

    out: list[Any] = []

    def done(outcome: Any) -> None:
        out.append(outcome)
        root.destroy()

    trio.lowlevel.start_guest_run(
        lambda: make(post), run_sync_soon_threadsafe=soon_threadsafe,
        run_sync_soon_not_threadsafe=soon, done_callback=done,
        host_uses_signal_set_wakeup_fd=False)  # Tk does not use it
    root.mainloop()
    result: dict[str, float] = out[0].unwrap()
    return result


def _trio_versions() -> dict[str, str]:
    import tkinter

    return dict(_versions("trio"), Tk=str(tkinter.TkVersion))


# -- the list -----------------------------------------------------------------

def PEERS(Config: Any) -> list[Any]:
    return [
        Config("qasync", "qt", run_qasync, modes=("-",), loops=("asyncio",),
               peer=True, versions=_qasync_versions),
        Config("PySide6.QtAsyncio", "qt", run_qtasyncio, modes=("-",),
               loops=("asyncio",), scenarios=qtasyncio_scenarios, peer=True,
               versions=_qtasyncio_versions),
        Config("async-tkinter-loop", "tk", run_async_tk, modes=("-",),
               loops=("asyncio", "uvloop"), peer=True,
               versions=_async_tk_versions),
        Config("gi.events", "gtk", run_gi_events, modes=("-",),
               loops=("asyncio",), scenarios=gi_events_scenarios, peer=True,
               versions=_gi_versions),
        # No uvloop: aioguest accepts only asyncio.BaseEventLoop instances
        # (it patches their selector), and uvloop.Loop is not one.
        Config("aioguest", "queue", run_aioguest, modes=("-",),
               loops=("asyncio",), peer=True,
               versions=lambda: _versions("aioguest", "trio")),
        Config("Trio guest mode (Tk)", "tk", run_trio_tk, modes=("-",),
               loops=("trio",), native=run_trio_native,
               scenarios=trio_workloads.scenarios, peer=True,
               versions=_trio_versions),
    ]
