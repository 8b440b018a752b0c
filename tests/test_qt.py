"""The Qt host: asyncio as a guest of a real Qt event loop (offscreen).

One Qt binding per process (PySide6, PyQt6 and PyQt5 cannot share one): this
process tests ``$ASYNCIO_GUEST_QT`` or else the first installed binding, in
this process's mode (``$ASYNCIO_GUEST_MODE``, else ``qt.DEFAULT_MODE``),
with the waker ``asyncio_guest.qt`` picks for Qt's event dispatcher: the
GLib waker on GLib's (Linux's default), Qt's own objects under
``QT_NO_GLIB=1``.  Every other (binding, mode, waker), the other mode and
the other waker included, is covered by
``test_binding_in_subprocess[NAME-MODE-WAKER]``, which runs this file for
it in a child pytest (all children at once) and fails if anything there
fails or is skipped.  So a plain ``pytest tests`` exercises every installed
binding in both modes (thread: a backend thread wakes Qt; threadless: Qt's
loop watches the loop's fd and deadline) with both wakers (GLib: a
``GSource``; Qt: postEvent, or QSocketNotifiers and a QTimer); an
installed binding that does not work, or none installed, is a failure.
Threadless mode has tests of its own (section 8), run for every binding.

Real widgets, driven for real: ``QPushButton.click()``, ``QTest.mouseClick``,
signal emission, ``QTimer``, ``window.close()`` (``lastWindowClosed``) and
modal ``QDialog.exec()``.  Waiting is done by Qt timers polling a predicate
(the ``drive`` fixture), never by speed assertions; a predicate never met
records a failure and cancels the run.
"""

from __future__ import annotations

import os

# Offscreen unless AG_TEST_QT_PLATFORM says otherwise (make test-qt-xcb:
# "xcb", on the session's Xvfb).  Before any Qt import.
os.environ["QT_QPA_PLATFORM"] = os.environ.get("AG_TEST_QT_PLATFORM", "offscreen")

import asyncio  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import pytest  # noqa: E402

import asyncio_guest  # noqa: E402
from asyncio_guest import _drivers  # noqa: E402
from asyncio_guest import qt as guest_qt  # noqa: E402
from asyncio_guest import _qt_binding, _qt_objects  # noqa: E402
from drive_helpers import Driver, driving  # noqa: E402
from guest_helpers import progress_during, tids  # noqa: E402

INSTALLED = [b for b in guest_qt.BINDINGS
             if importlib.util.find_spec(b) is not None]
if not INSTALLED:  # a missing install is a failure, never a skip
    raise ImportError("no Qt binding installed (pip install "
                      "PySide6-Essentials PyQt6 PyQt5: requirements-dev.txt)")
THIS = guest_qt.resolve_binding(os.environ.get(guest_qt.ENV_VAR)
                                or INSTALLED[0])
CHILD = os.environ.get("ASYNCIO_GUEST_QT_TEST_CHILD") == "1"
MODES = ("thread", "threadless")
MODE = os.environ.get(guest_qt.MODE_ENV_VAR) or "auto"
MODE = guest_qt.DEFAULT_MODE if MODE == "auto" else MODE
assert MODE in MODES, MODE
OTHER_MODE = MODES[1 - MODES.index(MODE)]
# The waker this process's runs use: "glib" (Qt's dispatcher is GLib's, as
# on Linux by default) or "qt" (a child started with QT_NO_GLIB=1: Qt's
# own dispatcher, which asyncio_guest.qt must detect by itself).
WAKERS = ("glib", "qt")
WAKER = "qt" if os.environ.get("QT_NO_GLIB") == "1" else "glib"

QtCore: Any = importlib.import_module(f"{THIS}.QtCore")
QtWidgets: Any = importlib.import_module(f"{THIS}.QtWidgets")
try:
    QtTest: Any = importlib.import_module(f"{THIS}.QtTest")
except ImportError:  # pragma: no cover - all three wheels ship it
    QtTest = None
Signal: Any = QtCore.Signal if THIS == "PySide6" else QtCore.pyqtSignal

LONG = 3600.0  # "an hour"


def exec_(obj: Any) -> Any:
    return (getattr(obj, "exec", None) or obj.exec_)()


_app_box: list[Any] = []


@pytest.fixture(params=[THIS])
def binding(request: pytest.FixtureRequest) -> str:
    """The binding this process tests (one per process: they cannot share
    one); the others run in child processes, test_binding_in_subprocess."""
    return str(request.param)


@pytest.fixture
def app(binding: str) -> Any:
    if not _app_box:
        _app_box.append(QtWidgets.QApplication.instance()
                        or QtWidgets.QApplication([]))
    return _app_box[0]


def _start_qtimer(ms: int, fn: Callable[[], None]) -> Any:
    timer = QtCore.QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(fn)
    timer.start(ms)
    return timer


def _close_modals(app: Any) -> None:
    modal = app.activeModalWidget()
    while modal is not None:
        modal.reject()
        modal.close()
        nxt = app.activeModalWidget()
        modal = None if nxt is modal else nxt


@pytest.fixture
def drive(app: Any) -> Any:
    """Drives the test from Qt timers, which also fire inside nested Qt
    loops (see drive_helpers.Driver)."""
    d = Driver(start_timer=_start_qtimer, stop_timer=lambda t: t.stop(),
               close_dialogs=lambda: _close_modals(app),
               quit_host=lambda: app.exit(2))
    # Exceptions from Qt slots reach sys.excepthook: record them.
    hook = sys.excepthook
    sys.excepthook = lambda t, exc, tb: d.errors.append(exc)
    d.on_close(lambda: setattr(sys, "excepthook", hook))
    yield from driving(d)


@pytest.fixture
def window(app: Any) -> Any:
    w = QtWidgets.QWidget()
    w.setWindowTitle("test")
    layout = QtWidgets.QVBoxLayout(w)
    w.button = QtWidgets.QPushButton("go")
    w.label = QtWidgets.QLabel("(nothing)")
    layout.addWidget(w.button)
    layout.addWidget(w.label)
    w.resize(200, 100)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    app.processEvents()


class Finished:
    """A done_callback that quits the Qt loop and records its calls."""

    def __init__(self, app: Any,
                 at_done: Callable[[Any], None] | None = None) -> None:
        self.app = app
        self.calls: list[tuple[asyncio.Task, int, bool]] = []
        self.run: Any = None
        self.at_done = at_done

    def __call__(self, task: asyncio.Task) -> None:
        closed = self.run is not None and self.run.loop.is_closed()
        self.calls.append((task, threading.get_ident(), closed))
        if self.at_done is not None:
            self.at_done(self.run)
        self.app.exit(0)

    @property
    def task(self) -> asyncio.Task:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][0]


def start_and_exec(app: Any, main: Any, *args: Any, loop_factory: Any,
                   box: dict[str, Any] | None = None,
                   at_done: Callable[[Any], None] | None = None,
                   **kw: Any) -> tuple[Any, Finished]:
    finished = Finished(app, at_done)
    run = guest_qt.start(main, *args, done_callback=finished,
                         loop_factory=loop_factory, **kw)
    finished.run = run
    if box is not None:
        box["run"] = run
    exec_(app)
    assert len(finished.calls) == 1, "done_callback did not run exactly once"
    assert finished.calls[0][1] == threading.get_ident()
    assert finished.calls[0][2], "loop not closed when done_callback ran"
    assert run.done and run.loop.is_closed()
    return run, finished


def qt_watcher(run: Any) -> Any:
    """Threadless mode's watcher QObject, or None (thread mode)."""
    runner = run._runner
    return runner.wake_object if runner.threadless else None


def watch_fds(run: Any) -> list[int]:
    """The fds a threadless watcher is given: the backend fd, and the
    guest's signal socket if it has one."""
    runner = run._runner
    fd = runner.signals.fd
    return [runner.driver.fd] + ([fd] if fd >= 0 else [])


def state(run: Any) -> str:
    return str(run._runner.core.state)


def posts(run: Any) -> int:
    return int(run._runner.core.posts)


def parked(run: Any) -> bool:
    """The guest waits between ticks: the backend thread polls (thread
    mode), or Qt watches its fds and deadline (threadless: "armed")."""
    guest = run._runner.core
    return bool(guest.state == ("armed" if guest.threadless else "polling"))




# Every (binding, mode, waker) but this process's own.
OTHERS = [] if CHILD else [
    f"{b}-{m}-{w}" for w in WAKERS for m in MODES for b in INSTALLED
    if (b, m, w) != (THIS, MODE, WAKER)]


@pytest.fixture(scope="module", autouse=True)
def children(request: pytest.FixtureRequest) -> Any:
    """Start one child pytest per (binding, mode, waker) in OTHERS, all at once,
    as this module starts (they run while this process tests its own), if
    test_binding_in_subprocess is selected; any not waited for is killed at
    the end."""
    procs: dict[str, Any] = {}
    wanted = {item.callspec.params["name"] for item in request.session.items
              if item.name.startswith("test_binding_in_subprocess[")}
    for name in OTHERS:
        if name not in wanted:
            continue
        b, mode, waker = name.split("-")
        env = dict(os.environ, ASYNCIO_GUEST_QT=b, ASYNCIO_GUEST_MODE=mode,
                   ASYNCIO_GUEST_QT_TEST_CHILD="1")
        env.pop(guest_qt.WAKER_ENV_VAR, None)  # "auto": detected
        env.pop("QT_NO_GLIB", None)
        if waker == "qt":
            env["QT_NO_GLIB"] = "1"
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-rfE", "-o", "addopts=", __file__],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


# -- 1. run ---------------------------------------------------------------------

def test_run_returns_main_result(app, window, drive, loop_factory):
    seen: dict[str, Any] = {}

    async def main(a, b):
        seen["loop"] = asyncio.get_running_loop()
        window.label.setText("from main")
        await asyncio.sleep(0.01)
        return a + b

    assert guest_qt.run(main, 40, 2, loop_factory=loop_factory) == 42
    assert seen["loop"].is_closed()
    assert window.label.text() == "from main"
    assert window.isVisible()  # run leaves the windows alone
    assert asyncio_guest.current_run() is None
    drive.check()


def test_run_reraises_main_exception(app, window, drive, loop_factory):
    class Boom(Exception):
        pass

    async def main():
        await asyncio.sleep(0.01)
        raise Boom("from main")

    with pytest.raises(Boom, match="from main"):
        guest_qt.run(main, loop_factory=loop_factory)
    assert asyncio_guest.current_run() is None
    drive.check()


@pytest.mark.parametrize("how", ["window.close", "app.quit"])
def test_run_returns_none_when_window_closes_after_teardown(
        app, window, drive, loop_factory, how):
    log: list[str] = []
    loops: list[Any] = []

    async def other():
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("other finally")

    async def main():
        loops.append(asyncio.get_running_loop())
        asyncio.create_task(other())
        await asyncio.sleep(0)
        log.append("main waiting")
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)  # the teardown keeps the loop going
            log.append("main finally")
        return "not cancelled?!"

    action = window.close if how == "window.close" else app.quit
    drive.when(lambda: "main waiting" in log, action, what="main to wait")
    result = guest_qt.run(main, loop_factory=loop_factory)
    drive.check()
    assert result is None
    assert log == ["main waiting", "main finally", "other finally"]
    assert loops[0].is_closed()
    if how == "window.close":
        assert not window.isVisible()
    assert asyncio_guest.current_run() is None


def test_run_reraises_keyboard_interrupt_after_teardown(app, window, drive,
                                                        loop_factory):
    log: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def main():
        asyncio.get_running_loop().call_later(0.02, interrupt)
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")

    with pytest.raises(KeyboardInterrupt):
        guest_qt.run(main, loop_factory=loop_factory)
    assert log == ["main finally"]
    assert asyncio_guest.current_run() is None
    drive.check()


# -- 2. asyncio from Qt slots: no stale deadline -----------------------------------

WAKE_ACTIONS = ["button_create_task", "timer_set_result", "timer_call_later",
                "timer_task_cancel", "signal_emit"]


class Emitter(QtCore.QObject):
    fired = Signal(str)


@pytest.mark.parametrize("how", WAKE_ACTIONS)
def test_qt_slot_wakes_guest_parked_for_an_hour(app, window, drive,
                                                loop_factory, how):
    box: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    emitter = Emitter()

    async def set_from_task():
        box["fut"].set_result("from a task created in a slot")

    def on_clicked() -> None:
        seen["loop in slot"] = asyncio.get_running_loop() is box["run"].loop
        asyncio.create_task(set_from_task())

    def on_fired(text: str) -> None:
        seen["loop in slot"] = asyncio.get_running_loop() is box["run"].loop
        box["fut"].set_result(text)

    window.button.clicked.connect(on_clicked)
    emitter.fired.connect(on_fired)

    async def main():
        box["fut"] = asyncio.get_running_loop().create_future()
        box["sleeper"] = asyncio.create_task(asyncio.sleep(LONG))
        box["parked"] = True
        if how == "timer_task_cancel":
            try:
                await box["sleeper"]
            except asyncio.CancelledError:
                return "sleeper cancelled"
        return await box["fut"]

    def act() -> None:
        run = box["run"]
        seen["deadline"] = run._runner.driver.timeout()
        seen["loop is guest"] = asyncio.get_running_loop() is run.loop
        if how == "button_create_task":
            window.button.click()
        elif how == "timer_set_result":
            box["fut"].set_result("set from a QTimer slot")
        elif how == "timer_call_later":
            asyncio.get_running_loop().call_later(
                0.01, box["fut"].set_result, "from call_later")
        elif how == "timer_task_cancel":
            box["sleeper"].cancel()
        else:
            emitter.fired.emit("from a signal")

    drive.when(lambda: box.get("parked") and parked(box["run"]),
               act, what="the guest to park on its one-hour timer")
    run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                   box=box)
    drive.check()
    assert finished.task.result() == {
        "button_create_task": "from a task created in a slot",
        "timer_set_result": "set from a QTimer slot",
        "timer_call_later": "from call_later",
        "timer_task_cancel": "sleeper cancelled",
        "signal_emit": "from a signal",
    }[how]
    assert seen["deadline"] is not None and seen["deadline"] > LONG - 60
    assert seen["loop is guest"] is True
    if how in ("button_create_task", "signal_emit"):
        assert seen["loop in slot"] is True


# -- 3. async_slot ------------------------------------------------------------------

@pytest.mark.parametrize("click", ["click()", "QTest.mouseClick"])
def test_async_slot_on_clicked(app, window, drive, loop_factory, click):
    calls: dict[str, Any] = {}
    box: dict[str, Any] = {}

    async def no_args():
        calls["no_args"] = (asyncio.get_running_loop(), asyncio.current_task())
        await asyncio.sleep(0.01)  # really suspends on the guest loop

    async def with_checked(checked):
        calls["with_checked"] = checked

    class Handler:
        @guest_qt.async_slot
        async def method(self, checked=None):
            calls["method"] = (self, checked)

    handler = Handler()
    window.button.setCheckable(True)
    window.button.clicked.connect(guest_qt.async_slot(no_args))
    window.button.clicked.connect(guest_qt.async_slot(with_checked))
    window.button.clicked.connect(handler.method)

    async def main():
        while len(calls) < 3:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        return "clicked"

    def do_click() -> None:
        if click == "click()":
            window.button.click()
        else:
            QtTest.QTest.mouseClick(window.button,
                                    QtCore.Qt.MouseButton.LeftButton)

    assert QtTest is not None, "QtTest ships with all three bindings"
    drive.after(10, do_click)
    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "clicked"
    loop, task = calls["no_args"]
    assert loop is run.loop
    assert task is not None and task is not run.task
    assert calls["with_checked"] is True  # the checkable button got checked
    assert calls["method"] == (handler, True)


def test_async_slot_receives_signal_arguments_and_drops_extra(
        app, drive, loop_factory):
    class Two(QtCore.QObject):
        sig = Signal(int, str)

    got: list[tuple] = []
    emitter = Two()

    async def both(n, s):
        got.append(("both", n, s))

    async def first(n):
        got.append(("first", n))

    async def none():
        got.append(("none",))

    for fn in (both, first, none):
        emitter.sig.connect(guest_qt.async_slot(fn))
    # The slot mirrors the function's parameters (the bindings count them
    # to decide how many signal arguments to pass); a direct call works.
    direct = guest_qt.async_slot(first)
    assert direct.__code__.co_argcount == 1

    async def main():
        emitter.sig.emit(7, "x")
        direct(8)
        while len(got) < 4:
            await asyncio.sleep(0.005)
        return sorted(got)

    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == sorted(
        [("both", 7, "x"), ("first", 7), ("none",), ("first", 8)])


def test_async_slot_errors(app, drive, loop_factory):
    def not_async():
        pass

    with pytest.raises(TypeError, match="not an async function"):
        guest_qt.async_slot(not_async)
    with pytest.raises(TypeError, match="expected an async function"):
        guest_qt.async_slot(42)  # type: ignore[arg-type]

    async def fine():
        pass

    slot = guest_qt.async_slot(fine)
    with pytest.raises(RuntimeError, match="no guest run on this thread"):
        slot()
# -- 4. fairness and idleness ----------------------------------------------------------

def test_guest_flood_does_not_starve_qtimers(app, window, drive, loop_factory):
    counts: dict[str, Any] = {"flood": 0, "timer": 0, "clicks": 0}
    seen_by_qt: list[int] = []
    box: dict[str, Any] = {}
    target = 50

    async def flood():
        deadline = time.monotonic() + 10.0
        while True:
            counts["flood"] += 1
            if time.monotonic() > deadline:
                counts["flood gave up"] = True
                return
            await asyncio.sleep(0)

    def clicked() -> None:
        counts["clicks"] += 1

    window.button.clicked.connect(clicked)
    timer = QtCore.QTimer()
    timer.setInterval(1)

    def on_timer() -> None:
        counts["timer"] += 1
        seen_by_qt.append(counts["flood"])
        window.button.click()
        if counts["timer"] >= target and not box["enough"].done():
            timer.stop()
            box["enough"].set_result(None)

    timer.timeout.connect(on_timer)

    async def main():
        box["enough"] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(flood())
        await asyncio.sleep(0)
        timer.start()
        await box["enough"]
        task.cancel()
        return counts["flood"]

    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    timer.stop()
    drive.check()
    assert "flood gave up" not in counts, "Qt was starved by the guest flood"
    assert counts["timer"] >= target and counts["clicks"] >= target
    assert seen_by_qt[-1] > seen_by_qt[0] > 0  # interleaved
    assert finished.task.result() > 0


def test_idle_guest_does_not_wake_host(app, window, drive, loop_factory):
    box: dict[str, Any] = {}
    samples: list[int] = []
    activity = {"timer": 0}
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(
        lambda: activity.__setitem__("timer", activity["timer"] + 1))

    async def main():
        box["parked"] = True
        await asyncio.sleep(LONG)

    def first_sample() -> None:
        samples.append(posts(box["run"]))
        timer.start()  # Qt keeps running its own timers meanwhile
        drive.after(300, last_sample)

    def last_sample() -> None:
        samples.append(posts(box["run"]))
        timer.stop()
        box["run"].cancel()

    drive.when(lambda: box.get("parked") and parked(box["run"]),
               first_sample, what="the guest to park")
    run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                   box=box)
    drive.check()
    assert finished.task.cancelled()
    assert samples[0] >= 1
    assert samples[1] == samples[0], (
        f"the idle guest woke the host {samples[1] - samples[0]} times")
    assert activity["timer"] >= 10


# -- 5. modal dialogs (nested Qt loops) -------------------------------------------------

def test_modal_dialog_from_plain_slot_keeps_guest_running(
        app, window, drive, loop_factory, loop_nesting):
    progress = {"n": 0}
    info: dict[str, Any] = {}

    def open_modal() -> None:  # a plain slot running a nested Qt loop
        dialog = QtWidgets.QDialog(window)
        dialog.setModal(True)
        info["dialog"] = dialog
        info["before"] = progress["n"]
        drive.when(lambda: progress["n"] >= info["before"] + 20,
                   lambda: QtCore.QTimer.singleShot(0, dialog.accept),
                   what="the guest to advance during the dialog")
        info["result"] = exec_(dialog)
        info["after"] = progress["n"]

    async def main():
        while "after" not in info:
            progress["n"] += 1
            await asyncio.sleep(0.005)
        return progress["n"]

    drive.after(30, open_modal)
    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    finished.task.result()
    assert info["after"] - info["before"] >= 20
    assert loop_nesting["max"] == 1


def test_modal_dialog_from_coroutine(app, window, drive, loop_factory,
                                     loop_nesting):
    progress = {"n": 0}
    seen: dict[str, Any] = {}

    async def ticker():
        while True:
            progress["n"] += 1
            await asyncio.sleep(0.005)

    async def main():
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0.03)
        fut = asyncio.get_running_loop().create_future()
        dialog = QtWidgets.QDialog(window)
        before = progress["n"]

        def close_dialog() -> None:  # runs inside the dialog's loop
            seen["during"] = progress["n"] - before
            fut.set_result("set during the dialog")
            dialog.accept()

        QtCore.QTimer.singleShot(200, close_dialog)
        seen["exec"] = exec_(dialog)  # a nested Qt loop inside a tick
        result = await fut
        await asyncio.sleep(0.03)
        seen["resumed"] = progress["n"] - before
        t.cancel()
        return result

    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "set during the dialog"
    assert seen["during"] == 0  # no tick inside the tick
    assert loop_nesting["max"] == 1
    assert seen["resumed"] > 0


# -- 6. real I/O from a button -----------------------------------------------------------

def test_tcp_echo_driven_by_button(app, window, drive, loop_factory):
    box: dict[str, Any] = {}

    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    @guest_qt.async_slot
    async def on_click():
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       box["port"])
        writer.write(b"hello from qt\n")
        await writer.drain()
        box["reply"] = await reader.readline()
        writer.close()
        await writer.wait_closed()
        window.label.setText(box["reply"].decode().strip())

    window.button.clicked.connect(on_click)

    async def main():
        box["shown"] = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            box["port"] = server.sockets[0].getsockname()[1]
            shown = await box["shown"]
            return box["reply"], shown

    drive.when(lambda: "port" in box, window.button.click,
               what="the server to listen")
    drive.when(lambda: window.label.text() != "(nothing)",
               lambda: box["shown"].set_result(window.label.text()),
               what="the reply in the label")
    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == (b"HELLO FROM QT\n", "HELLO FROM QT")


# -- 7. errors ----------------------------------------------------------------------------

def test_second_start_on_same_thread_raises(app, drive, loop_factory):
    outcome: dict[str, Any] = {}

    async def other():
        outcome["other ran"] = True

    async def main():
        await asyncio.sleep(0)
        try:
            guest_qt.start(other, loop_factory=loop_factory)
        except RuntimeError as exc:
            outcome["error"] = exc
        await asyncio.sleep(0.01)
        return "first run ok"

    run, finished = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "first run ok"
    assert "already hosts a guest run" in str(outcome["error"])
    assert "other ran" not in outcome
    # The thread is free again afterwards.
    run2, finished2 = start_and_exec(app, other, loop_factory=loop_factory)
    assert outcome["other ran"] is True


def test_bad_arguments(app, drive, loop_factory):
    async def main():
        pass

    with pytest.raises(TypeError, match="app must be a QApplication"):
        guest_qt.start(main, app=object(), loop_factory=loop_factory)
    with pytest.raises(ValueError, match="unknown Qt binding"):
        guest_qt.start(main, binding="Qt4", loop_factory=loop_factory)
    other = next((b for b in guest_qt.BINDINGS if b != THIS))
    with pytest.raises(ValueError, match="but app is a"):
        guest_qt.start(main, app=app, binding=other,
                       loop_factory=loop_factory)
    coro = main()
    with pytest.raises(TypeError):
        guest_qt.start(coro, app=object())
    assert coro.cr_frame is None  # closed: no "never awaited"
    assert guest_qt.resolve_binding() == THIS
    assert asyncio_guest.current_run() is None
    drive.check()


def test_no_application_raises_runtime_error(binding):
    """A fresh process with the binding imported but no QApplication."""
    code = textwrap.dedent(f"""
        import asyncio, os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import {binding}.QtWidgets
        from asyncio_guest import qt
        async def main():
            pass
        coro = main()
        for call in (lambda: qt.start(coro), lambda: qt.run(main)):
            try:
                call()
            except RuntimeError as exc:
                assert "no {binding} QApplication" in str(exc), exc
            else:
                raise SystemExit("no error")
        assert coro.cr_frame is None
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


# -- 8. modes: threadless ----------------------------------------------------------------

def test_this_process_runs_its_binding_and_mode(app, drive, loop_factory):
    """What a child pytest was asked for (the parent sets the variables) is
    what it runs."""
    async def main():
        await asyncio.sleep(0)

    run, _ = start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    assert type(app).__module__.split(".")[0] == THIS
    assert run._runner.threadless is (MODE == "threadless")
    assert (qt_watcher(run) is None) is (MODE == "thread")
    # The waker: found by asyncio_guest.qt from Qt's event dispatcher.
    dispatcher = QtCore.QAbstractEventDispatcher.instance(app.thread())
    assert dispatcher.inherits("QEventDispatcherGlib") is (WAKER == "glib")
    from asyncio_guest import _glib
    assert isinstance(run._runner.wake_object, _glib.GLibWaker) is (
        WAKER == "glib")
    # The platform asked for (offscreen, or xcb on Xvfb: make test-qt-xcb)
    # is the one Qt loaded.
    assert app.platformName() == os.environ["QT_QPA_PLATFORM"]


def test_mode_argument_and_environment(app, drive, monkeypatch):
    async def main():
        await asyncio.sleep(0)

    default = guest_qt.DEFAULT_MODE == "threadless"
    for env in MODES:
        monkeypatch.setenv(guest_qt.MODE_ENV_VAR, env)
        for mode, threadless in [(None, env == "threadless"),
                                 ("auto", default), ("thread", False),
                                 ("threadless", True)]:
            run, _ = start_and_exec(app, main, loop_factory=None, mode=mode)
            assert run._runner.threadless is threadless, (env, mode)
    drive.check()


def test_waker_argument_and_environment(app, drive, monkeypatch):
    """waker= (or $ASYNCIO_GUEST_QT_WAKER) picks GLib's or Qt's own; "glib"
    where Qt does not run on GLib is refused, naming the dispatcher; an
    unknown name is refused; either way the run is not started."""
    from asyncio_guest import _glib

    async def main():
        await asyncio.sleep(0.01)
        return asyncio_guest.current_run()._runner.wake_object

    def is_glib(obj: Any) -> bool:
        return isinstance(obj, _glib.GLibWaker)

    for mode in MODES:
        run, fin = start_and_exec(app, main, loop_factory=None, mode=mode,
                                  waker="qt")
        assert not is_glib(fin.task.result() or run._runner.wake_object)
        monkeypatch.setenv(guest_qt.WAKER_ENV_VAR, "qt")
        run, fin = start_and_exec(app, main, loop_factory=None, mode=mode)
        assert not is_glib(fin.task.result() or run._runner.wake_object)
        monkeypatch.delenv(guest_qt.WAKER_ENV_VAR)
        if WAKER == "glib":
            run, fin = start_and_exec(app, main, loop_factory=None,
                                      mode=mode, waker="glib")
            assert is_glib(fin.task.result())
    for bad, error, match in [("gtk", ValueError, "waker must be"),
                              ("glib", RuntimeError, "not GLib's")]:
        if bad == "glib" and WAKER == "glib":
            continue
        coro = main()
        with pytest.raises(error, match=match):
            guest_qt.start(coro, waker=bad)
        assert coro.cr_frame is None  # closed: no "never awaited"
        assert asyncio_guest.current_run() is None
    drive.check()


@pytest.mark.parametrize("waker", ["auto", "qt"])
def test_a_due_qtimer_fires_before_a_busy_guest_continues(app, drive,
                                                          loop_factory, waker):
    """A guest that keeps work ready all the time runs in 1 ms slices; a
    host QTimer that falls due during a slice fires before the next slice
    starts (the busy guest continues after Qt's due timers: GLib's idle
    priority, or Qt's own zero-time timer), not one slice later.  Twenty
    trials: slices that started between the timer's due time and its
    firing are counted; Qt rounds a due time to the millisecond, so a
    slice may start just after the due time and before Qt sees it due, but
    not most of the time.  (Qt's own waker on GLib's dispatcher once
    continued through a posted event, which Qt's GLib sources dispatch
    before its timers: a due timer waited one whole slice more.)"""
    late_slices: list[int] = []

    async def main():
        runner = asyncio_guest.current_run()._runner
        starts: list[float] = []
        plain = runner._run_slice

        def counting() -> None:
            starts.append(time.monotonic())
            plain()

        runner._run_slice = counting
        for _ in range(20):
            fired: list[float] = []
            timer = QtCore.QTimer()
            timer.setSingleShot(True)
            timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
            timer.timeout.connect(lambda: fired.append(time.monotonic()))
            due = time.monotonic() + 0.010
            timer.start(10)
            while not fired:
                await asyncio.sleep(0)
            late_slices.append(sum(due < t < fired[0] for t in starts))
        del runner._run_slice
        return late_slices

    run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                   waker=waker)
    drive.check()
    assert finished.task.result() == late_slices
    late_slices.sort()
    assert late_slices[len(late_slices) // 2] == 0, late_slices
    assert late_slices[-1] <= 1, late_slices


class _Reposter(QtCore.QObject):  # type: ignore[misc]
    """Re-posts a custom event to itself from each one, for ``seconds``:
    Qt's posted-event source is ready all the time meanwhile."""

    TYPE = QtCore.QEvent.Type(QtCore.QEvent.registerEventType())

    def __init__(self, seconds: float, done: Callable[[int], None]) -> None:
        super().__init__()
        self.count = 0
        self.until = time.monotonic() + seconds
        self.done = done

    def post(self) -> None:
        QtWidgets.QApplication.postEvent(self, QtCore.QEvent(self.TYPE))

    def event(self, ev: Any) -> bool:
        if ev.type() != self.TYPE:
            return bool(super().event(ev))
        self.count += 1
        if time.monotonic() < self.until:
            self.post()
        else:
            self.done(self.count)
        return True


def test_a_busy_guest_takes_turns_with_a_stream_of_posted_events(
        app, drive, loop_factory):
    """While the application keeps a posted event pending all the time
    (each posts the next), a busy guest still runs: it continues after
    Qt's sources of a better priority, but not for ever (the GLib waker
    asks again at the tick's priority a slice later; Qt's own waker
    continues through a timer, which Qt's dispatchers run between posted
    events).  Its progress during 0.3 s of posted events, against its rate
    just before, and the events' count: both sides move.  (With the
    continuation only at G_PRIORITY_DEFAULT_IDLE the guest made 0.2-24 %
    of its progress in bench/suite.py's flood.)"""
    result: dict[str, Any] = {}

    async def main():
        def stream(done: Callable[[int], None]) -> None:
            result["reposter"] = _Reposter(0.3, done)
            result["reposter"].post()

        result.update(await progress_during(stream))
        return True

    start_and_exec(app, main, loop_factory=loop_factory)
    drive.check()
    # the host's side moved too (how far depends on the machine's load:
    # this file's children all run at once)
    assert result["events"] >= 10, result
    # fair turns give the guest about half its rate; a starved one ~0
    assert result["during"] >= 0.2 * result["before"], result


def test_bad_mode_is_refused(app, drive, monkeypatch):
    async def main():
        pass

    coro = main()
    with pytest.raises(ValueError, match="mode must be"):
        guest_qt.start(coro, mode="fast")
    assert coro.cr_frame is None  # closed: no "never awaited"
    with pytest.raises(ValueError, match="mode must be"):
        guest_qt.run(main, mode="threads")
    monkeypatch.setenv(guest_qt.MODE_ENV_VAR, "nothread")
    with pytest.raises(ValueError, match="'nothread'"):
        guest_qt.start(main)
    assert asyncio_guest.current_run() is None
    drive.check()


@pytest.mark.parametrize("mode", MODES)
def test_backend_thread_only_in_thread_mode(app, drive, loop_factory, mode):
    """Real socket I/O (the other end written by a QTimer slot) and a
    timer; threadless mode starts no thread at all, thread mode one."""
    app.processEvents()
    before = tids()
    a, b = socket.socketpair()
    seen: dict[str, Any] = {}

    async def main():
        seen["during"] = tids()
        reader, writer = await asyncio.open_connection(sock=a)
        QtCore.QTimer.singleShot(30, lambda: b.send(b"from a QTimer\n"))
        line = await reader.readline()
        t0 = time.monotonic()
        await asyncio.sleep(0.05)  # the deadline: the watcher's QTimer
        seen["slept"] = time.monotonic() - t0
        writer.close()
        await writer.wait_closed()
        return line

    def at_done(run: Any) -> None:
        w = qt_watcher(run)
        if w is None:
            return
        # closed with the run (the loop's fds are closed)
        if WAKER == "qt":
            seen["closed"] = (w.tick, w.watching, w.timer.isActive(),
                              [n.isEnabled() for n in w.notifiers])
        else:
            try:
                w.post_soon()
            except RuntimeError as exc:
                seen["closed"] = str(exc)

    try:
        run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                       mode=mode, at_done=at_done)
    finally:
        b.close()
    drive.check()
    assert finished.task.result() == b"from a QTimer\n"
    # libuv's clock counts whole ms: uvloop may end a sleep ~1 ms early
    assert seen["slept"] >= 0.048
    new = seen["during"] - before
    if mode == "threadless":
        assert run._runner.threadless and run._runner.core.threadless
        assert new == set(), f"threads started by a threadless run: {new}"
        if WAKER == "qt":
            tick, watching, timing, enabled = seen["closed"]
            assert (tick, watching, timing) == (None, False, False)
            assert enabled and not any(enabled)
        else:
            assert "closed" in seen["closed"]
    else:
        assert not run._runner.threadless
        assert len(new) == 1, new  # the backend thread


def test_threadless_stale_deadline_fixed_by_qtimer_slot(app, drive,
                                                        loop_factory):
    """The guest waits on an hour (the watcher's QTimer says so); a QTimer
    slot resolves a future: the wake hook has the watcher fire now."""
    box: dict[str, Any] = {}

    async def main():
        box["fut"] = asyncio.get_running_loop().create_future()
        sleeper = asyncio.ensure_future(asyncio.sleep(LONG))
        box["parked"] = True
        value = await box["fut"]
        box["waited"] = time.monotonic() - box["t0"]
        sleeper.cancel()
        return value

    def act() -> None:
        w = qt_watcher(box["run"])
        if WAKER == "qt":
            box["remaining ms"] = w.timer.remainingTime()
            box["enabled"] = [n.isEnabled() for n in w.notifiers]
        box["t0"] = time.monotonic()
        box["fut"].set_result("from a QTimer slot")
        box["then"] = state(box["run"])
        if WAKER == "qt":
            box["timer"] = (w.timer.isActive(), w.timer.remainingTime())

    drive.when(lambda: box.get("parked") and parked(box["run"]), act,
               what="the guest to park on its one-hour timer")
    run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                   box=box, mode="threadless")
    drive.check()
    assert finished.task.result() == "from a QTimer slot"
    assert box["then"] == "posted"  # fire_soon
    if WAKER == "qt":
        assert box["remaining ms"] > (LONG - 60) * 1000
        assert box["enabled"] and all(box["enabled"])
        assert box["timer"] == (True, 0)  # fire_soon: the timer at 0
    assert box["waited"] < 5.0


def test_threadless_signal_handler_wakes_parked_guest(app, drive,
                                                      loop_factory):
    """loop.add_signal_handler, signal sent by another thread while the
    guest is parked: the asyncio loop's self-pipe makes its backend fd
    readable; uvloop (on the main thread) needs the guest's own signal
    socket, watched by a second notifier (there for both loops: it also
    wakes the host for a SIGINT, which has no loop handler)."""
    box: dict[str, Any] = {}
    got: list[int] = []

    async def main():
        loop = asyncio.get_running_loop()
        box["fut"] = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, lambda: (
            got.append(threading.get_ident()),
            box["fut"].done() or box["fut"].set_result("signalled")))
        box["fds"] = watch_fds(box["run"])
        box["parked"] = True
        try:
            return await asyncio.wait_for(box["fut"], 10)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    def act() -> None:
        w = qt_watcher(box["run"])
        if WAKER == "qt":
            box["notified"] = [int(n.socket()) for n in w.notifiers]
        box["sender"] = threading.Timer(
            0.02, os.kill, (os.getpid(), signal.SIGUSR1))
        box["sender"].start()

    drive.when(lambda: box.get("parked") and parked(box["run"]), act,
               what="the guest to park")
    run, finished = start_and_exec(app, main, loop_factory=loop_factory,
                                   box=box, mode="threadless")
    box["sender"].join()
    drive.check()
    assert finished.task.result() == "signalled"
    assert got == [threading.get_ident()]
    if WAKER == "qt":
        assert box["notified"] == box["fds"]
    # the loop's fd and the run's signal socket (both loops: on the main
    # thread, the socket is the wake-up fd between ticks)
    assert len(box["fds"]) == 2


def _pump(app: Any, ms: int, until: Callable[[], bool] = lambda: False) -> None:
    """Run Qt for ``ms`` ms, or until ``until()``."""
    loop = QtCore.QEventLoop()
    end = time.monotonic() + ms / 1000

    def check() -> None:
        if until() or time.monotonic() >= end:
            loop.quit()

    timer = QtCore.QTimer()
    timer.setInterval(1)
    timer.timeout.connect(check)
    timer.start()
    exec_(loop)
    timer.stop()


def test_watcher_fires_once_per_watch(app, drive):
    """The threadless watcher against Qt's real event loop, without a
    guest: a socket kept readable fires one tick (the tick unwatches, as
    begin_tick does), nothing fires while unwatched, fire_soon fires once
    and unwatch() cancels it, a deadline never fires early, a failing tick
    is reported (never raised into Qt), and close() stops it all."""
    qt = _qt_binding.qt(THIS)
    reported: list[BaseException] = []
    receiver = _qt_objects.classes(qt)[0](app, reported.append)
    a, b = socket.socketpair()
    calls: list[float] = []
    fail = [False]
    box: list[Any] = []

    def tick() -> None:
        calls.append(time.monotonic())
        box[0].unwatch()  # what begin_tick does first
        if fail[0]:
            raise ValueError("tick failed")

    w = _qt_objects.classes(qt)[1](receiver, [a.fileno()], tick,
                                    reported.append)
    box.append(w)
    try:
        assert not any(n.isEnabled() for n in w.notifiers)
        w.watch(None)  # not readable, no deadline: nothing fires
        _pump(app, 30)
        assert calls == []
        b.send(b"x")  # readable from now on: never drained
        _pump(app, 2000, lambda: bool(calls))
        _pump(app, 50)
        assert len(calls) == 1  # disabled by the tick's unwatch
        assert not any(n.isEnabled() for n in w.notifiers)
        a.recv(1)

        t0 = time.monotonic()
        w.watch(0.0309)  # rounded up to 31 ms
        _pump(app, 2000, lambda: len(calls) == 2)
        assert len(calls) == 2 and calls[1] - t0 >= 0.0309

        w.watch(LONG)
        w.fire_soon()
        _pump(app, 2000, lambda: len(calls) == 3)
        _pump(app, 30)
        assert len(calls) == 3

        w.watch(LONG)
        w.fire_soon()
        w.unwatch()  # the tick ran by other means first: no second one
        _pump(app, 50)
        assert len(calls) == 3

        fail[0] = True
        w.watch(0)
        _pump(app, 2000, lambda: len(calls) == 4)
        assert [type(e) for e in reported] == [ValueError]
        fail[0] = False

        w.watch(None)
        w.close()
        b.send(b"y")
        _pump(app, 50)
        assert len(calls) == 4
        assert not any(n.isEnabled() for n in w.notifiers)
        assert not w.timer.isActive()
        with pytest.raises(RuntimeError, match="closed"):
            w.watch(0)
    finally:
        w.close()
        receiver.close()
        a.close()
        b.close()
    drive.check()


# -- 9. the other bindings and the other mode, each in its own process ---------------------

if OTHERS:  # a child run tests one configuration and starts no children
    @pytest.mark.parametrize("name", OTHERS)
    def test_binding_in_subprocess(children, name):
        proc = children[name]
        out, _ = proc.communicate(timeout=300)
        tail = "\n".join(out.splitlines()[-25:])
        assert proc.returncode == 0, f"{name} tests failed:\n{tail}"
        assert " passed" in tail and "skipped" not in tail, tail


def test_warns_about_pyside6_6_12_0(monkeypatch: pytest.MonkeyPatch) -> None:
    """PySide6 6.12.0 loses a reference to None on each void call (a demo
    aborted at exit with none_dealloc); choosing it warns on Python < 3.12
    (from 3.12 on None is immortal), others do not.  A stand-in module
    gives the version: PySide6 itself may not be installed (it has no
    wheel for 3.15)."""
    import types
    import warnings

    fake = types.ModuleType("PySide6")
    monkeypatch.setitem(sys.modules, "PySide6", fake)
    for version in ("6.11.3", "6.12.1"):
        fake.__version__ = version  # type: ignore[attr-defined]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _qt_binding._warn_known_bugs("PySide6")
    fake.__version__ = "6.12.0"  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _qt_binding._warn_known_bugs("PyQt6")  # another binding: never
    if sys.version_info < (3, 12):
        with pytest.warns(RuntimeWarning, match="6.12.0.*none_dealloc"):
            _qt_binding._warn_known_bugs("PySide6")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _qt_binding._warn_known_bugs("PySide6")


# -- awaiting Qt: modal, exec_dialog, wait_signal ------------------------------

class ThreeSignals(QtCore.QObject):
    none = Signal()
    one = Signal(int)
    two = Signal(int, str)


def _receivers(obj: Any, name: str, signature: str) -> int:
    """How many slots are connected to obj's signal (PyQt takes the bound
    signal, PySide6 the SIGNAL() string)."""
    if THIS == "PySide6":
        return int(obj.receivers(QtCore.SIGNAL(signature)))
    return int(obj.receivers(getattr(obj, name)))


@pytest.mark.parametrize("mode", ["thread", "threadless"])
def test_modal_runs_the_dialog_outside_the_tick_and_returns_its_result(
        app, window, loop_factory, loop_nesting, mode):
    """await qt.modal(dialog.exec): the nested loop keeps the guest running
    (a sibling task advances), the result code comes back; a raising
    dialog function raises in the coroutine."""
    async def main() -> Any:
        progress = {"n": 0}

        async def ticker() -> None:
            while True:
                progress["n"] += 1
                await asyncio.sleep(0.002)

        t = asyncio.create_task(ticker())
        dialog = QtWidgets.QDialog()
        start = {}

        def close_later() -> None:
            if progress["n"] >= start["n"] + 20:
                dialog.accept()
            else:
                QtCore.QTimer.singleShot(5, close_later)

        def opened() -> int:
            start["n"] = progress["n"]
            QtCore.QTimer.singleShot(5, close_later)
            return (getattr(dialog, "exec", None) or dialog.exec_)()

        code = await guest_qt.modal(opened)
        during = progress["n"] - start["n"]

        def refuses() -> None:
            raise LookupError("no such dialog")
        with pytest.raises(LookupError, match="no such dialog"):
            await guest_qt.modal(refuses)
        t.cancel()
        return code, during

    code, during = guest_qt.run(main, loop_factory=loop_factory, mode=mode)
    assert code == 1  # QDialog.Accepted
    assert during >= 20
    assert loop_nesting["max"] == 1


def test_exec_dialog_awaits_finished_without_a_nested_loop(app, window,
                                                           loop_factory):
    async def main() -> Any:
        dialog = QtWidgets.QDialog()
        QtCore.QTimer.singleShot(20, dialog.accept)
        accepted = await guest_qt.exec_dialog(dialog)
        QtCore.QTimer.singleShot(20, dialog.reject)
        rejected = await guest_qt.exec_dialog(dialog)
        task = asyncio.create_task(guest_qt.exec_dialog(dialog))
        await asyncio.sleep(0.05)
        shown = dialog.isVisible()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return (accepted, rejected, shown, dialog.isVisible(),
                _receivers(dialog, "finished", "finished(int)"))

    accepted, rejected, shown, visible, left = guest_qt.run(
        main, loop_factory=loop_factory)
    assert (accepted, rejected) == (1, 0)
    assert shown and not visible  # cancelling rejected it
    assert left == 0  # no connection left behind


def test_wait_signal_returns_the_arguments_and_leaves_no_connection(
        app, window, loop_factory):
    async def main() -> Any:
        e = ThreeSignals()
        QtCore.QTimer.singleShot(10, e.none.emit)
        none = await guest_qt.wait_signal(e.none)
        QtCore.QTimer.singleShot(10, lambda: e.one.emit(7))
        one = await guest_qt.wait_signal(e.one)
        QtCore.QTimer.singleShot(10, lambda: e.two.emit(3, "x"))
        two = await guest_qt.wait_signal(e.two, timeout=5)
        with pytest.raises(TimeoutError):
            await guest_qt.wait_signal(e.one, timeout=0.05)
        task = asyncio.create_task(guest_qt.wait_signal(e.one))
        await asyncio.sleep(0.02)
        during = _receivers(e, "one", "one(int)")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return (none, one, two, during, _receivers(e, "none", "none()"),
                _receivers(e, "one", "one(int)"),
                _receivers(e, "two", "two(int,QString)"))

    none, one, two, during, *left = guest_qt.run(main,
                                                 loop_factory=loop_factory)
    assert (none, one, two) == (None, 7, (3, "x"))
    assert during == 1
    assert left == [0, 0, 0], left


def test_wait_signal_refuses_what_is_not_a_signal(app, window, loop_factory):
    async def main() -> None:
        with pytest.raises(TypeError, match="bound Qt signal"):
            await guest_qt.wait_signal(42)

    guest_qt.run(main, loop_factory=loop_factory)
