"""The test driver shared by the GUI host tests: Tk, Qt and pygame (not a
test module).

A ``Driver`` waits with the host's own timers (``when(pred, action)`` polls
``pred`` every few ms and runs ``action`` once it holds), records failures
and errors instead of raising them inside host callbacks, and on a failure
aborts: it cancels the guest run hosted by this thread (or, without one,
quits the host loop), so a broken wake-up shows as a failed test, not as a
hang.  What differs between hosts comes in as small callbacks.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Optional

import asyncio_guest

GUARD_MS = 20_000  # whatever a test waits for, it ends in 20 s


class Driver:
    """``start_timer(ms, fn)`` starts a one-shot host timer and returns a
    handle for ``stop_timer``; ``close_dialogs()`` ends modal loops that
    would keep a host callback from returning; ``quit_host()`` ends the host
    loop when there is no run to cancel; ``finish_run(run)`` lets a
    cancelled run complete its teardown where no host loop goes on by itself
    (pygame's user loop).  A host without timers (pygame) leaves the timer
    callbacks out and uses only ``fail`` and ``check``."""

    def __init__(self, *,
                 start_timer: Optional[
                     Callable[[int, Callable[[], None]], Any]] = None,
                 stop_timer: Optional[Callable[[Any], None]] = None,
                 close_dialogs: Optional[Callable[[], None]] = None,
                 quit_host: Optional[Callable[[], None]] = None,
                 finish_run: Optional[Callable[[Any], None]] = None) -> None:
        self._start_timer = start_timer
        self._stop_timer = stop_timer
        self._close_dialogs = close_dialogs
        self._quit_host = quit_host
        self._finish_run = finish_run
        self.failures: list[str] = []
        self.errors: list[BaseException] = []  # from host callbacks
        self._timers: set[Any] = set()
        self._on_close: list[Callable[[], None]] = []

    def after(self, ms: int, fn: Callable[[], object]) -> Any:
        """Run ``fn`` once, from a host timer, in ``ms`` ms."""
        assert self._start_timer is not None, "this driver has no timers"
        box: list[Any] = []

        def fire() -> None:
            self._timers.discard(box[0])
            fn()

        box.append(self._start_timer(ms, fire))
        self._timers.add(box[0])  # also keeps a timer object alive
        return box[0]

    def when(self, predicate: Callable[[], bool],
             action: Callable[[], object], *, what: str = "a condition",
             timeout: float = 10.0, interval: int = 5) -> None:
        deadline = time.monotonic() + timeout

        def poll() -> None:
            if predicate():
                action()
            elif time.monotonic() > deadline:
                self.timed_out(timeout, what)
            else:
                self.after(interval, poll)

        self.after(0, poll)

    def timed_out(self, timeout: float, what: str) -> None:
        self.fail(f"timed out after {timeout} s waiting for {what}")

    def fail(self, message: str) -> None:
        self.failures.append(message)
        self.abort()

    def abort(self) -> None:
        """Cancel the run hosted by this thread (its done_callback or the
        host's run() then ends the host loop); without a run, quit the host
        loop."""
        if self._close_dialogs is not None:
            self._close_dialogs()
        run = asyncio_guest.current_run()
        if run is not None:
            run.cancel("test driver: timed out")
            if self._finish_run is not None:
                self._finish_run(run)
        elif self._quit_host is not None:
            self._quit_host()

    def on_close(self, fn: Callable[[], None]) -> None:
        """Have ``close()`` call ``fn`` (say, to restore a hook)."""
        self._on_close.append(fn)

    def close(self) -> None:
        """Stop the timers still pending; undo what ``on_close`` names."""
        if self._stop_timer is not None:
            for timer in list(self._timers):
                self._stop_timer(timer)
        self._timers.clear()
        for fn in self._on_close:
            fn()

    def check(self) -> None:
        assert not self.failures, self.failures
        assert not self.errors, self.errors


def driving(driver: Driver) -> Iterator[Driver]:
    """The body of a host's ``drive`` fixture (``yield from``): an overall
    guard timer; afterwards no timer and no guest run left on this thread
    for the next test."""
    driver.after(GUARD_MS, lambda: driver.fail("test guard: 20 s elapsed"))
    yield driver
    driver.close()
    leftover = asyncio_guest.current_run()
    assert leftover is None, f"a guest run was left running: {leftover!r}"
