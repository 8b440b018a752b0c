"""The signal wake-up fd on the Tk, Qt and GTK hosts (Ctrl-C itself is a
scenario of the host contract: tests/hosts/test_contract_processes.py).

The wake-up fd: a host that owns ``signal.set_wakeup_fd`` (a Qt program
that set one, PyGObject's ``MainLoop.run()``) keeps it during the run, and
whatever was set before the run is there again after it (all three hosts).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import asyncio  # noqa: E402
import importlib  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import pytest  # noqa: E402

import asyncio_guest  # noqa: E402
from guest_helpers import qt_binding  # noqa: E402

# -- the wake-up fd -----------------------------------------------------------

def _wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd




def _is_uvloop(loop: Any) -> bool:
    return "uvloop" in type(loop).__module__


def _signal_scenario(after: Callable[[int, Callable[[], None]], None],
                     seen: dict[str, Any]) -> Callable[[], Any]:
    """A main coroutine that records the wake-up fd between ticks (from a
    host timer) and inside a tick, before and after it adds a SIGUSR1
    handler, then has SIGUSR1 sent from another thread once it waits
    between ticks."""

    async def between_ticks() -> int:
        fut = asyncio.get_running_loop().create_future()
        after(0, lambda: fut.set_result(_wakeup_fd()))
        return await fut

    async def main() -> str:
        loop = asyncio.get_running_loop()
        seen["between"] = await between_ticks()
        seen["in tick"] = _wakeup_fd()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "SIGUSR1")
        seen["between, handler added"] = await between_ticks()
        seen["in tick, handler added"] = _wakeup_fd()
        guest = asyncio_guest.current_run()._runner.core
        parked = "armed" if guest.threadless else "polling"

        def send() -> None:  # once the guest waits (between ticks)
            deadline = time.monotonic() + 10
            while guest.state != parked and time.monotonic() < deadline:
                time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGUSR1)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            return await asyncio.wait_for(got, 10)
        finally:
            await asyncio.to_thread(sender.join)
            seen["between, after signal"] = await between_ticks()

    return main




@pytest.fixture
def qt_app() -> Any:
    widgets = importlib.import_module(f"{qt_binding()}.QtWidgets")
    return widgets.QApplication.instance() or widgets.QApplication([])


@pytest.mark.timeout(60, method="thread")
def test_qt_program_keeps_its_wakeup_fd(qt_app, loop_factory,
                                        host_wakeup_fd):
    """A Qt program that set a wake-up fd before the run (and watches it
    with a QSocketNotifier) keeps it: the guest never takes it (between
    ticks, inside ticks on the stdlib loop, after add_signal_handler), the
    signal reaches the guest's handler through the program's fd, which
    gets the signal's byte, and the fd is the program's after the run."""
    from asyncio_guest import qt as guest_qt

    core = importlib.import_module(f"{qt_binding()}.QtCore")
    r, host_fd = host_wakeup_fd
    seen: dict[str, Any] = {}
    main = _signal_scenario(lambda ms, fn: core.QTimer.singleShot(ms, fn),
                            seen)
    loops: list[Any] = []

    def factory() -> Any:
        loops.append(loop_factory())
        return loops[0]

    # The program's side of the idiom: a notifier on its socket, whose
    # slot (Python) lets Python run the signal handlers.
    received: list[bytes] = []

    def drain() -> None:
        try:
            received.append(r.recv(16))
        except BlockingIOError:
            pass

    notifier = core.QSocketNotifier(r.fileno(),
                                    core.QSocketNotifier.Type.Read)
    notifier.activated.connect(drain)
    guard = core.QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: asyncio_guest.current_run().cancel())
    guard.start(20_000)
    try:
        assert guest_qt.run(main, loop_factory=factory) == "SIGUSR1"
    finally:
        guard.stop()
        notifier.setEnabled(False)
    assert seen["between"] == host_fd
    assert seen["between, handler added"] == host_fd
    assert seen["between, after signal"] == host_fd
    if not _is_uvloop(loops[0]):
        # uvloop takes the fd inside each of its run_forever() calls: its
        # documented limitation (README, "Support").
        assert seen["in tick"] == host_fd
        assert seen["in tick, handler added"] == host_fd
    assert received == [bytes([signal.SIGUSR1])]  # the program's fd got it
    assert _wakeup_fd() == host_fd


@pytest.fixture
def Gtk(display: str) -> Any:
    import gi

    gi.require_version("Gtk", os.environ.get("ASYNCIO_GUEST_GTK_VERSION",
                                             "3.0"))
    os.environ.setdefault("NO_AT_BRIDGE", "1")
    os.environ.setdefault("GTK_A11Y", "none")
    from gi.repository import Gtk as gtk_module

    return gtk_module


@pytest.mark.timeout(60, method="thread")
def test_glib_keeps_its_wakeup_fd(Gtk, loop_factory, host_wakeup_fd):
    """PyGObject's MainLoop.run() takes the wake-up fd for its duration:
    the guest leaves PyGObject's fd in place (between ticks, inside ticks
    on the stdlib loop, after add_signal_handler, after a signal), and the
    fd set before the run is back after it."""
    from gi.repository import GLib

    from asyncio_guest import gtk as guest_gtk

    _, before = host_wakeup_fd
    seen: dict[str, Any] = {}

    def after(ms: int, fn: Callable[[], None]) -> None:
        GLib.timeout_add(ms, lambda: fn() and False)

    main = _signal_scenario(after, seen)
    loops: list[Any] = []

    def factory() -> Any:
        loops.append(loop_factory())
        return loops[0]

    def host_fd() -> None:  # the first host callback of the run
        seen["host"] = _wakeup_fd()

    def guard() -> bool:
        run = asyncio_guest.current_run()
        if run is not None:
            run.cancel()
        return False

    GLib.idle_add(lambda: host_fd() and False)
    guard_id = GLib.timeout_add(20_000, guard)
    try:
        assert guest_gtk.run(main, loop_factory=factory) == "SIGUSR1"
    finally:
        GLib.source_remove(guard_id)
    pygobject_fd = seen["host"]
    assert pygobject_fd not in (-1, before)  # PyGObject's own, during run()
    assert seen["between"] == pygobject_fd
    assert seen["between, handler added"] == pygobject_fd
    assert seen["between, after signal"] == pygobject_fd
    if not _is_uvloop(loops[0]):
        assert seen["in tick"] == pygobject_fd
        assert seen["in tick, handler added"] == pygobject_fd
    assert _wakeup_fd() == before


@pytest.mark.timeout(60, method="thread")
def test_tk_restores_the_wakeup_fd_set_before(tk_root, loop_factory,
                                              host_wakeup_fd):
    """Tk does not own the fd, so the guest may take it (the stdlib loop
    does for add_signal_handler; uvloop's run uses a socket of its own
    between ticks); the signal reaches the guest, and the fd set before
    the run is back after it."""
    from asyncio_guest import tk as guest_tk

    _, before = host_wakeup_fd
    seen: dict[str, Any] = {}
    main = _signal_scenario(lambda ms, fn: tk_root.after(ms, fn), seen)
    guard = tk_root.after(
        20_000, lambda: asyncio_guest.current_run().cancel())
    try:
        assert guest_tk.run(tk_root, main,
                            loop_factory=loop_factory) == "SIGUSR1"
    finally:
        try:
            tk_root.after_cancel(guard)
        except Exception:
            pass  # the root is gone
    assert _wakeup_fd() == before
