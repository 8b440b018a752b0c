"""Shared fixtures: a fake queue-based host, loop factories, a display.

The fake host follows Trio's test_guest_mode.py: a ``queue.Queue`` of
callables run by the host thread; it records every thread-discipline
violation (a not-threadsafe post from another thread, a threadsafe post from
the host thread when a not-threadsafe variant was given) and the test fails
on any.
"""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import signal
import socket
import threading
import time
from typing import Any, Callable, Optional

import pytest

import asyncio_guest
from asyncio_guest import _drivers


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Run the webview tests last, whatever order they were named in: a page
    loaded in this process leaves JavaScriptCore threads that come and go on
    their own time (unnamed, so indistinguishable from ours), and the tests
    that count this process's threads run before them."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_webview")
               or "test_webview.py" in item.nodeid)


class QueueHost:
    """A host loop on the test's thread: ``run()`` pops callables and calls
    them until a predicate holds."""

    def __init__(self, *, with_not_threadsafe: bool = False) -> None:
        self.queue: "queue.Queue[Callable[[], object]]" = queue.Queue()
        self.thread = threading.get_ident()
        self.with_not_threadsafe = with_not_threadsafe
        self.violations: list[str] = []
        self.threadsafe_posts = 0
        self.not_threadsafe_posts = 0
        self.iterations = 0
        self.depth = 0
        self.max_depth = 0

    # -- what the guest gets -------------------------------------------------
    def post(self, fn: Callable[[], object]) -> None:
        self.threadsafe_posts += 1
        if self.with_not_threadsafe and threading.get_ident() == self.thread:
            self.violations.append(
                "run_sync_soon_threadsafe called from the host thread "
                "although run_sync_soon_not_threadsafe was given"
            )
        self.queue.put(fn)

    def post_not_threadsafe(self, fn: Callable[[], object]) -> None:
        self.not_threadsafe_posts += 1
        if threading.get_ident() != self.thread:
            self.violations.append(
                "run_sync_soon_not_threadsafe called from another thread"
            )
        self.queue.put(fn)

    def kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"run_sync_soon_threadsafe": self.post}
        if self.with_not_threadsafe:
            kw["run_sync_soon_not_threadsafe"] = self.post_not_threadsafe
        return kw

    # -- the host loop -------------------------------------------------------
    def call_soon(self, fn: Callable[[], object]) -> None:
        """Schedule a host callback (like Tk's after(0))."""
        self.queue.put(fn)

    def run(self, until: Callable[[], bool], timeout: float = 10.0) -> None:
        """Run host iterations until ``until()`` is true."""
        deadline = time.monotonic() + timeout
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        try:
            while not until():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("host loop: condition not reached")
                try:
                    # Re-check the predicate often: another thread may be
                    # what makes it true.
                    fn = self.queue.get(timeout=min(left, 0.01))
                except queue.Empty:
                    continue
                self.iterations += 1
                fn()
        finally:
            self.depth -= 1

    def run_for(self, seconds: float) -> int:
        """Run host iterations for a while; return how many ran."""
        before = self.iterations
        end = time.monotonic() + seconds
        self.run(lambda: time.monotonic() >= end, timeout=seconds + 1)
        return self.iterations - before

    def check(self) -> None:
        assert not self.violations, self.violations


class Outcome:
    def __init__(self) -> None:
        self.calls: list[tuple["asyncio.Task[Any]", int]] = []

    def __call__(self, task: "asyncio.Task[Any]") -> None:
        self.calls.append((task, threading.get_ident()))

    @property
    def done(self) -> bool:
        return bool(self.calls)

    @property
    def task(self) -> "asyncio.Task[Any]":
        assert len(self.calls) == 1, self.calls
        return self.calls[0][0]


class LoopErrors:
    """Loop factory recording calls to the loop's exception handler; a test
    fails on any it did not expect (as uvloop's test cases do)."""

    def __init__(self, base: Callable[[], asyncio.AbstractEventLoop]) -> None:
        self.base = base
        self.contexts: list[dict[str, Any]] = []
        self.expected = False

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = self.base()
        loop.set_exception_handler(lambda lp, ctx: self.contexts.append(ctx))
        return loop


def _new_uvloop() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()


LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": _new_uvloop}


@pytest.fixture(params=list(LOOPS))
def loop_factory(request: pytest.FixtureRequest) -> Any:
    """The guest loop under test: every test taking this fixture runs on the
    stdlib loop and on uvloop (as uvloop's own suite runs on both)."""
    errors = LoopErrors(LOOPS[request.param])
    yield errors
    if not errors.expected:
        assert not errors.contexts, [c.get("message") for c in errors.contexts]


@pytest.fixture
def host() -> Any:
    h = QueueHost()
    yield h
    h.check()


def guest_run(host: QueueHost, async_fn: Any, *args: Any,
              loop_factory: Optional[Callable[[], Any]] = None,
              timeout: float = 10.0, **kwargs: Any) -> "asyncio.Task[Any]":
    """Start a guest run on ``host``, run the host until done, return the
    main task (after checking done_callback ran once, on the host thread)."""
    outcome = Outcome()
    run = asyncio_guest.start_guest_run(
        async_fn, *args, done_callback=outcome, loop_factory=loop_factory,
        **host.kwargs(), **kwargs)
    host.run(lambda: outcome.done, timeout=timeout)
    assert outcome.calls[0][1] == host.thread
    assert run.done
    assert run.loop.is_closed()
    return outcome.task


@pytest.fixture(autouse=True)
def collect_garbage_on_main_thread() -> Any:
    """Collect each test's garbage here, on the main thread.  Left for later,
    a cycle holding a Tk interpreter may be collected by whichever thread
    next triggers the GC (an executor or child-watcher thread), and Tcl
    aborts the process when an interpreter is deleted off its own thread."""
    yield
    gc.collect()


# -- a display for the Tk tests ----------------------------------------------

@pytest.fixture(scope="session")
def display() -> Any:
    """A X display: the current one, or a private Xvfb started here.

    No display and no Xvfb is an error, not a skip: the Tk tests are part of
    the suite."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    from xvfb import start_xvfb

    try:
        proc, display = start_xvfb()
    except RuntimeError as exc:
        pytest.fail(f"no DISPLAY, and {exc}: the GUI tests are part of the "
                    "suite")
    os.environ["DISPLAY"] = display
    yield os.environ["DISPLAY"]
    del os.environ["DISPLAY"]
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def tk_root(display: str) -> Any:
    import tkinter

    root = tkinter.Tk()
    root.geometry("200x100+10+10")
    yield root
    try:
        root.destroy()
    except tkinter.TclError:
        pass  # the test (or tk.run) destroyed it already


@pytest.fixture
def loop_nesting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Records how deeply guest loop slices nest (1 = never): for the tests
    of modal dialogs and nested host loops (never a tick inside a tick)."""
    depth = {"now": 0, "max": 0}
    for cls in (_drivers.SelectorDriver, _drivers.UVLoopDriver):
        def run(self: Any, end: float, _original: Any = cls.run) -> None:
            depth["now"] += 1
            depth["max"] = max(depth["max"], depth["now"])
            try:
                _original(self, end)
            finally:
                depth["now"] -= 1

        monkeypatch.setattr(cls, "run", run)
    return depth


@pytest.fixture
def host_wakeup_fd() -> Any:
    """A wake-up fd the "host" set before the run (as a Qt program sets one
    for its QSocketNotifier Ctrl-C idiom): (read socket, fd).  Restored
    afterwards, with the SIGUSR1 handler and the previous wake-up fd."""
    assert threading.current_thread() is threading.main_thread()
    r, w = socket.socketpair()
    r.setblocking(False)
    w.setblocking(False)
    saved_fd = signal.set_wakeup_fd(w.fileno())
    saved_handler = signal.getsignal(signal.SIGUSR1)
    try:
        yield r, w.fileno()
    finally:
        signal.set_wakeup_fd(saved_fd)
        signal.signal(signal.SIGUSR1, saved_handler)
        r.close()
        w.close()
