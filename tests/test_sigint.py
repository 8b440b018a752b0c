"""Ctrl-C and the signal wake-up fd, on the Tk, Qt and GTK hosts.

Ctrl-C is a real SIGINT sent with ``os.kill`` to a real GUI program (a
child process, ``tests/sigint_driver.py``) that runs its guest through the
host's ``run()``: (a) while everything is idle, (b) while a coroutine spins
in a CPU loop inside a guest tick, (c) while a plain host timer callback
spins.  Every way, the program must end by itself, with exactly one
``KeyboardInterrupt`` traceback on stderr and the exit status Python gives
an uncaught ``KeyboardInterrupt`` (it dies of SIGINT: -2), after a clean
teardown (the run's other task and the main coroutine ran their
``finally``, the loop is closed, no backend thread is left).  The
scenarios run in child processes three at a time, started as this module
starts, each Tk or GTK child on an Xvfb of its own (Qt: offscreen); a
child that does not end within ``HANG`` seconds of the signal is dumped
(faulthandler, SIGABRT) and counts as hung.

The wake-up fd: a host that owns ``signal.set_wakeup_fd`` (a Qt program
that set one, PyGObject's ``MainLoop.run()``) keeps it during the run, and
whatever was set before the run is there again after it (all three hosts).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import asyncio  # noqa: E402
import concurrent.futures  # noqa: E402
import contextlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Iterator, Optional  # noqa: E402

import pytest  # noqa: E402

import asyncio_guest  # noqa: E402
from guest_helpers import qt_binding  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "sigint_driver.py")

#: Seconds a child may take to end after the SIGINT (a clean teardown
#: takes under 0.1 s here); more counts as a hang.
HANG = 5.0
#: Seconds a child may take to start and report "ready"/"busy".
STARTUP = 30.0
WORKERS = 3

HOSTS = ("tk", "qt", "gtk")
LOOPS = ("asyncio", "uvloop")
# Every host's default mode is threadless; an idle program is also tried in
# thread mode, where a different path (the backend thread) wakes the host.
SCENARIOS = [f"{h}-{lp}-{w}-threadless" for h in HOSTS for lp in LOOPS
             for w in ("idle", "tick", "callback")]
SCENARIOS += [f"{h}-{lp}-idle-thread" for h in HOSTS for lp in LOOPS]


@contextlib.contextmanager
def _private_display() -> Iterator[str]:
    """An Xvfb of the child's own: on a shared display, another client's
    windows coming and going send this one's window X events (expose),
    which wake its host and would hide a Ctrl-C that wakes nobody."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("no Xvfb: install xvfb (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(w), "-screen", "0", "640x480x24",
         "-nolisten", "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(5)


def _interrupt(scenario: str) -> dict[str, Any]:
    """Run one scenario: start the child (on a display of its own), wait
    for its cue, send SIGINT, wait for it to end."""
    host = scenario.split("-")[0]
    if host == "qt":  # offscreen: no display
        return _interrupt_on(scenario, None)
    with _private_display() as display:
        return _interrupt_on(scenario, display)


def _interrupt_on(scenario: str, display: Optional[str]) -> dict[str, Any]:
    host, loop, where, mode = scenario.split("-")
    cue = "ready" if where == "idle" else "busy"
    env = dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    env.pop("PYTEST_CURRENT_TEST", None)
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, DRIVER, host, loop, where, mode],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
            cwd=HERE)
        lines: list[str] = []
        cued = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.strip() == cue:
                    cued.set()
            cued.set()  # end of output: no cue is coming

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        out: dict[str, Any] = {"sent": False, "hung": False}
        if cued.wait(STARTUP) and cue in lines and proc.poll() is None:
            time.sleep(0.05)  # the host settles into its wait / the spin
            os.kill(proc.pid, signal.SIGINT)
            out["sent"] = True
            try:
                proc.wait(HANG)
            except subprocess.TimeoutExpired:
                out["hung"] = True
        if proc.poll() is None:  # hung, or never cued: dump and kill it
            proc.send_signal(signal.SIGABRT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(5)
        assert proc.stdout is not None
        proc.stdout.close()
        err.seek(0)
        out.update(rc=proc.returncode, stdout=lines, stderr=err.read())
    return out


@pytest.fixture(scope="module")
def interrupted(request: pytest.FixtureRequest) -> Any:
    """The selected scenarios, all submitted at once to a small pool (each
    test waits for its own)."""
    wanted = [item.callspec.params["scenario"]
              for item in request.session.items
              if item.name.startswith("test_ctrl_c_ends_the_program[")]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    jobs = {s: pool.submit(_interrupt, s) for s in wanted}
    yield jobs
    pool.shutdown(wait=True, cancel_futures=True)


def _teardown_line(stdout: list[str]) -> dict[str, Any]:
    found = [line for line in stdout if line.startswith("TEARDOWN ")]
    assert len(found) == 1, stdout
    report: dict[str, Any] = json.loads(found[0][len("TEARDOWN "):])
    return report


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ctrl_c_ends_the_program(interrupted, scenario):
    """SCENARIO is host-loop-where-mode (see sigint_driver.py): one SIGINT
    ends the program with one KeyboardInterrupt traceback, Python's exit
    status for it, and a complete teardown."""
    out = interrupted[scenario].result(timeout=110)
    stderr = out["stderr"]
    tail = f"stdout: {out['stdout']}\nstderr:\n{stderr[-4000:]}"
    assert out["sent"], f"the child never reached its cue\n{tail}"
    assert not out["hung"], (
        f"still running {HANG} s after SIGINT (stacks dumped below)\n{tail}")
    assert "RETURNED" not in out["stdout"], f"run() returned\n{tail}"
    # Python's own ending for an uncaught KeyboardInterrupt: it restores
    # SIG_DFL and kills itself with SIGINT (so a shell sees 130).
    assert out["rc"] == -signal.SIGINT, (
        f"exit status {out['rc']}, expected -SIGINT\n{tail}")
    for bad in ("Exception in Tkinter callback", "Error calling Python",
                "never retrieved", "Exception ignored", "Fatal Python"):
        assert bad not in stderr, f"{bad!r} on stderr\n{tail}"
    tracebacks = stderr.count("Traceback (most recent call last)")
    assert tracebacks == 1, f"{tracebacks} tracebacks on stderr\n{tail}"
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", tail
    report = _teardown_line(out["stdout"])
    assert sorted(report["log"]) == ["main finally", "other finally"], tail
    assert report["run_done"] is True, tail
    assert report["loop_closed"] is True, tail
    assert report["guest_threads"] == [], tail
    assert report["current_run"] is False, tail


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
