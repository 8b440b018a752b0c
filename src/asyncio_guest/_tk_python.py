"""Waking Tk without the Tcl C API: the Tk host's path when the core was
built without Tcl's development files (``_core.TCL_VERSION == "none"``,
see setup.py).  Everything goes through tkinter, on the Tk thread:

* threadless: ``createfilehandler`` on the loop's fds and an ``after``
  timer for its deadline (:class:`Watcher`);
* thread mode: the backend thread appends to a queue and writes a byte to
  a pipe whose read end Tk watches (:class:`PipePost`).

Same contract as the native path (the Tk suite runs against such a build:
``make test-degraded``); each wake-up costs more, as it goes through
tkinter.  Unix only: tkinter has no ``createfilehandler`` on Windows.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import sys
import tkinter
from collections.abc import Callable, Sequence
from typing import Any, Optional

from . import host


#: As the native waker's: a host that never lets Tk go idle still gets the
#: guest resumed this many ms after a slice ran out.
STARVE_MS = 5

_names = itertools.count()


class TclTimers:
    """One callback on Tk timers, run as a Tcl command (``createcommand``,
    as the native waker runs the tick), so that what it raises -- a
    KeyboardInterrupt the tick re-raises -- leaves ``mainloop`` as it does
    on the native path, instead of going to ``report_callback_exception``
    as an ``after()`` callback's would.  At most one pending call."""

    def __init__(self, tkapp: Any,
                 fn: Optional[Callable[[], object]] = None) -> None:
        self.tkapp = tkapp
        #: What the timers call (settable; None: nothing)
        self.fn = fn
        self.name = f"asyncio_guest_py_{next(_names)}"
        self.ids: list[str] = []
        tkapp.createcommand(self.name, self._run)
        tkapp.createcommand(self.name + "_idle", self._idle)

    def later(self, ms: int) -> None:
        """Call it in ``ms`` milliseconds (replacing a pending call)."""
        self.cancel()
        self.ids = [self._after(str(ms), self.name)]

    def when_idle(self) -> None:
        """Call it once Tk is idle (its events handled, its windows
        redrawn): from an idle callback, queue it as a zero-delay timer (so
        that an ``update idletasks`` inside the guest cannot loop); if Tk
        never goes idle, after :data:`STARVE_MS` anyway."""
        self.cancel()
        self.ids = [self._after("idle", self.name + "_idle"),
                    self._after(str(STARVE_MS), self.name)]

    def cancel(self) -> None:
        for tk_id in self.ids:
            try:
                self.tkapp.call("after", "cancel", tk_id)
            except tkinter.TclError:
                pass  # the interpreter is gone
        self.ids = []

    def close(self) -> None:
        self.cancel()
        self.fn = None
        for name in (self.name, self.name + "_idle"):
            try:
                self.tkapp.deletecommand(name)
            except tkinter.TclError:
                pass

    def _after(self, when: str, command: str) -> str:
        try:
            return str(self.tkapp.call("after", when, command))
        except tkinter.TclError:
            return ""  # the interpreter is gone: nothing to wake

    def _idle(self) -> None:
        self.later(0)

    def _run(self) -> None:
        self.cancel()
        fn = self.fn
        if fn is not None:
            fn()


class PipePost:
    """A thread-safe "call soon" into Tk: callables queued from any
    thread run in a Tk file handler on the Tk thread."""

    def __init__(self, tkapp: Any) -> None:
        self.tkapp = tkapp
        self.calls: collections.deque[Callable[[], object]] = collections.deque()
        self.r, self.w = os.pipe()
        if sys.platform != "win32":  # (tk.py never uses this on Windows)
            os.set_blocking(self.r, False)
            os.set_blocking(self.w, False)
        tkapp.createfilehandler(self.r, tkinter.READABLE, self._drain)

    def post(self, fn: Callable[[], object]) -> None:
        self.calls.append(fn)
        try:
            os.write(self.w, b"\0")
        except (BlockingIOError, OSError):
            pass  # full (a wake-up is pending anyway) or closed

    def _drain(self, fd: int, mask: int) -> None:
        try:
            os.read(self.r, 4096)
        except (BlockingIOError, OSError):
            pass
        for _ in range(len(self.calls)):  # not those posted meanwhile
            self.calls.popleft()()

    def close(self) -> None:
        try:
            self.tkapp.deletefilehandler(self.r)
        except tkinter.TclError:
            pass
        for fd in (self.r, self.w):
            os.close(fd)


class Watcher(host.PyWatcher):
    """Threadless: Tk watches the loop's fds (file handlers) and its
    deadline (a :class:`TclTimers`)."""

    def __init__(self, tick: host.Tick, fds: Sequence[int],
                 tkapp: Any) -> None:
        super().__init__(tick, fds)
        self.tkapp = tkapp
        self.watching = False
        self.timers = TclTimers(tkapp, self._fire)

    def watch(self, timeout: Optional[float]) -> None:
        if not self.watching:
            for fd in self.fds:
                self.tkapp.createfilehandler(fd, tkinter.READABLE, self._ready)
            self.watching = True
        if timeout is None:
            self.timers.cancel()
        else:
            self.timers.later(max(0, math.ceil(timeout * 1000)))

    def fire_soon(self) -> None:
        self.timers.later(0)

    def post_soon(self) -> None:
        self.timers.when_idle()

    def unwatch(self) -> None:
        self.timers.cancel()
        if self.watching:
            self.watching = False
            for fd in self.fds:
                try:
                    self.tkapp.deletefilehandler(fd)
                except tkinter.TclError:
                    pass  # the interpreter is gone

    def close(self) -> None:
        super().close()
        self.timers.close()

    def _ready(self, fd: int, mask: int) -> None:
        self._fire()

    def _fire(self) -> None:
        tick = self.tick
        if tick is not None:
            tick()
