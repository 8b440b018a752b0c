"""The wake seam: how the C core reaches the host, in one of three ways.

* a Python ``post(fn)`` (Trio's ``run_sync_soon_threadsafe``): the backend
  thread takes the GIL and calls ``post(tick)``;
* a *waker* (thread mode): ``waker(tick)`` makes an object on the host
  thread that hands the core a C waker (``_ag_waker``, a capsule): Tk's
  ``TclWaker``, GLib's ``GLibWaker``, Win32's ``Win32Waker``;
* a *watcher* (threadless mode): ``watcher(tick, fds)`` makes an object
  whose host loop watches ``fds`` and the deadline itself and runs the tick
  (``_ag_watcher``, a capsule; or Python methods, wrapped by
  ``_core.CallbackWatcher``).

Whichever it is, the state machine gets back the C ``Guest`` and a
:class:`WakeHandle` with ``post_soon()`` (host thread: tick again after the
host's pending events, when a slice ran out with work left) and
``close()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Optional, Protocol

from . import _core

Tick = Callable[[], None]
Post = Callable[[Callable[[], object]], object]


class Waker(Protocol):
    """A native waker (thread mode), made by ``waker(tick)`` on the host
    thread.  Besides these methods it has ``_ag_waker``: a capsule holding
    its C ``ag_waker_t`` (see ``_core/guest.h``)."""

    def post_soon(self) -> None:
        """Host thread: run the tick again soon, after the host's pending
        events (a slice ran out with work left)."""

    def close(self) -> None:
        """Host thread: no further ticks (the core is closed).  Idempotent."""


class Watcher(Protocol):
    """A threadless watcher, made by ``watcher(tick, fds)`` on the host
    thread: the host's loop watches ``fds`` and the deadline and runs the
    tick.  Besides these methods it has ``_ag_watcher``: a capsule holding
    its C ``ag_watcher_t`` (``_core.CallbackWatcher`` makes one from three
    Python methods)."""

    def post_soon(self) -> None:
        """As :meth:`Waker.post_soon`."""

    def close(self) -> None:
        """As :meth:`Waker.close`."""


WakerFactory = Callable[[Tick], Waker]
WatcherFactory = Callable[[Tick, Sequence[int]], Watcher]


class WakeHandle:
    """What the state machine keeps of the way it wakes the host."""

    __slots__ = ("post_soon", "close", "post_soon_name", "obj", "python_post")

    def __init__(self, post_soon: Callable[[], object],
                 close: Callable[[], object], post_soon_name: str,
                 obj: Any, python_post: bool = False) -> None:
        self.post_soon = post_soon
        self.close = close
        #: For the message when post_soon raises.
        self.post_soon_name = post_soon_name
        #: The waker or watcher (a ``CallbackWaker`` for a Python post).
        self.obj = obj
        #: The tick reaches the host through a Python ``post``: host code in
        #: Python runs between taking it and calling it (see
        #: ``_Runner.repost_lost_tick``).
        self.python_post = python_post


def _nothing() -> None:
    pass


class Wake:
    """One of the three ways, checked at once (before any loop exists)."""

    def __init__(self, *, post: Optional[Post] = None,
                 post_soon: Optional[Post] = None,
                 waker: Optional[WakerFactory] = None,
                 watcher: Optional[WatcherFactory] = None) -> None:
        given = [name for name, value in (
            ("run_sync_soon_threadsafe", post), ("waker", waker),
            ("watcher", watcher)) if value is not None]
        if len(given) != 1:
            raise TypeError(
                "start_guest_run: give exactly one of "
                "run_sync_soon_threadsafe, waker and watcher, not "
                + (" and ".join(given) if given else "none"))
        for name, value in (("run_sync_soon_threadsafe", post),
                            ("run_sync_soon_not_threadsafe", post_soon),
                            ("waker", waker), ("watcher", watcher)):
            if value is not None and not callable(value):
                raise TypeError(
                    f"start_guest_run: {name} must be callable, "
                    f"got {type(value).__name__}")
        if post_soon is not None and post is None:
            raise TypeError(
                "start_guest_run: run_sync_soon_not_threadsafe goes with "
                "run_sync_soon_threadsafe (a waker or watcher has its own "
                "post_soon)")
        self._post = post
        self._post_soon = post_soon
        self._waker = waker
        self._watcher = watcher

    def make(self, backend_fd: int, signal_fd: int,
             tick: Tick) -> tuple[Any, WakeHandle]:
        """The C Guest on ``backend_fd`` (and ``signal_fd`` if >= 0), and
        its handle.  Host thread."""
        if self._watcher is not None:
            fds = [backend_fd] + ([signal_fd] if signal_fd >= 0 else [])
            watcher = self._watcher(tick, fds)
            try:
                core = _core.Guest.threadless(backend_fd, watcher)
            except BaseException:
                watcher.close()
                raise
            return core, _handle_of(watcher)
        if self._waker is not None:
            waker: Any = self._waker(tick)
            handle = _handle_of(waker)
        else:
            assert self._post is not None
            waker = _core.CallbackWaker(self._post, tick)
            busy = self._post_soon or self._post
            handle = WakeHandle(
                functools.partial(busy, tick), _nothing,
                "run_sync_soon_not_threadsafe" if self._post_soon else
                "run_sync_soon_threadsafe (on the host thread)", waker,
                python_post=True)
        try:
            core = _core.Guest.threaded(backend_fd, waker, signal_fd=signal_fd)
        except BaseException:
            handle.close()
            raise
        return core, handle


def _handle_of(obj: Any) -> WakeHandle:
    for name in ("post_soon", "close"):
        if not callable(getattr(obj, name, None)):
            raise TypeError(
                f"asyncio_guest: a waker or watcher needs a {name}() method; "
                f"{type(obj).__name__} has none")
    return WakeHandle(obj.post_soon, obj.close,
                      f"{type(obj).__name__}.post_soon", obj)
