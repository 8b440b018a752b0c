"""Loop drivers: how to run a given kind of asyncio loop without blocking.

A driver knows one kind of loop; the state machine in ``_run.py`` talks to
every driver through the :class:`Driver` protocol only (it never asks which
kind it has).  Drivers: :class:`SelectorDriver` (asyncio's selector loops),
:class:`ProactorDriver` (asyncio's proactor loop, Windows; untested) and
:class:`UVLoopDriver` (uvloop).  :func:`new_loop` makes a loop with a
factory and picks its driver.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional, Protocol, Union

from . import _core


class Driver(Protocol):
    """What the state machine needs from a driver.  All on the host thread.

    * ``fd``: what the backend thread (or the host's watcher) waits on: the
      loop's own epoll/kqueue fd (Windows: its completion port).
    * ``hooks``: the loop methods that host code may call between ticks to
      schedule work the backend cannot see; the state machine wraps them
      with a wake-up.
    """

    fd: int
    hooks: tuple[str, ...]

    def bind(self, readable: Callable[[], bool]) -> None:
        """Gives the driver the state machine's zero-timeout peek at
        ``fd`` (a driver that knows better may ignore it)."""

    def run(self, end: float) -> None:
        """Run the loop without blocking: at least one iteration, more while
        work is ready and ``time.perf_counter() < end``."""

    def io_ready(self) -> bool:
        """After :meth:`run`: whether to look for work once more rather than
        go idle (I/O may be ready)."""

    def timeout(self) -> Optional[float]:
        """Seconds until the loop has work again: 0.0 now, None when nothing
        is scheduled (I/O aside)."""

    def end_slice(self) -> None:
        """The run's teardown is done: the slice in progress ends now."""

    def signals_arrived(self) -> None:
        """Signals arrived between slices (on the guest's signal socket):
        the next slice lets the loop handle what Python recorded."""

    def enter(self) -> None:
        """The run starts: make the loop 'running' on this thread."""

    def leave(self) -> None:
        """The run is over: undo :meth:`enter` and drop references to it."""


def name_of(obj: Any) -> str:
    """``module.QualName`` of an object's type, for error messages."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class SelectorDriver:
    """Runs asyncio's selector event loops (``asyncio.SelectorEventLoop``).

    One iteration is ``loop._run_once()`` with ``_stopping`` set for the
    whole run, so that its select() has a zero timeout: what
    ``run_forever()`` does for its last iteration, without the set-up
    ``run_forever()`` repeats per call.  (``loop.stop()``, the only other
    writer of ``_stopping``, is refused during a guest run.)
    """

    #: call_later goes through call_at; Task, Future and friends through
    #: call_soon.  add_reader and friends change the epoll set at once,
    #: which the backend's poll sees by itself.
    hooks: tuple[str, ...] = ("call_soon", "call_at")

    @staticmethod
    def accepts(loop: asyncio.AbstractEventLoop) -> bool:
        from asyncio.selector_events import BaseSelectorEventLoop

        return isinstance(loop, BaseSelectorEventLoop)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` is open and not running."""
        selector = loop._selector  # type: ignore[attr-defined]
        self.loop = loop
        self.fd: int = self._backend(loop, selector)
        self._run_once: Callable[[], None] = loop._run_once  # type: ignore
        # Whether the iteration just run did anything: see io_ready.
        self._events = 1
        self._selector = selector
        select = selector.select
        ready_queue = self._ready_queue = loop._ready  # type: ignore
        self._halt = False  # end_slice()

        def counting_select(timeout: Optional[float] = None) -> Any:
            ready = select(timeout)
            # Events found, or callbacks about to run (which may do I/O).
            self._events = len(ready) + len(ready_queue)
            return ready

        selector.select = counting_select

    @staticmethod
    def _backend(loop: asyncio.AbstractEventLoop, selector: Any) -> int:
        """What the backend thread waits on: the selector's own fd."""
        fileno = getattr(selector, "fileno", None)
        if fileno is None:
            raise RuntimeError(
                f"asyncio_guest cannot drive {name_of(loop)} with "
                f"{type(selector).__name__}: the selector has no pollable "
                "file descriptor (use selectors.EpollSelector, the default "
                "on Linux, or selectors.KqueueSelector on macOS/BSD)"
            )
        return int(fileno())

    def run(self, end: float) -> None:
        """At least one iteration; more, without returning to the state
        machine, while each one surely has work (callbacks queued, or the
        previous iteration did something: see io_ready) and the slice has
        time left.  The state machine decides what follows the first
        iteration that did nothing."""
        run_once = self._run_once
        ready = self._ready_queue
        now = time.perf_counter
        run_once()
        while (ready or self._events) and not self._halt and now() < end:
            run_once()

    def io_ready(self) -> bool:
        """Whether to look for I/O once more before going idle: yes when
        the iteration just run did something (its select found events, or
        callbacks ran, which may have written to a socket whose answer is
        already there), no when it did nothing at all.  The iteration's
        own select answers, so a busy loop makes one syscall per iteration,
        as natively, and not a poll() of the backend fd besides.  (I/O
        that arrives after the empty select is seen by whoever waits next:
        the backend thread or the host's watcher.)"""
        return self._events > 0

    def bind(self, readable: Callable[[], bool]) -> None:
        pass  # io_ready() knows from the iteration itself

    def end_slice(self) -> None:
        self._halt = True

    def signals_arrived(self) -> None:
        pass  # the stdlib loop's own handlers ran when Python ran them

    def timeout(self) -> Optional[float]:
        loop: Any = self.loop
        if loop._ready:
            return 0.0
        scheduled = loop._scheduled
        # Drop cancelled timers from the head, as _run_once does, so that a
        # cancelled timeout never costs a wake-up.
        while scheduled and scheduled[0]._cancelled:
            loop._timer_cancelled_count -= 1
            heapq.heappop(scheduled)._scheduled = False
        if not scheduled:
            return None
        left: float = scheduled[0]._when - loop.time()
        return max(0.0, left)

    def enter(self) -> None:
        """Make the loop 'running' on this thread, as run_forever does."""
        loop: Any = self.loop
        loop._thread_id = threading.get_ident()
        loop._stopping = True

    def leave(self) -> None:
        loop: Any = self.loop
        loop._thread_id = None
        loop._stopping = False
        self._selector.__dict__.pop("select", None)


class ProactorDriver(SelectorDriver):
    """Runs asyncio's proactor event loop (``asyncio.ProactorEventLoop``,
    the default on Windows).  UNTESTED: no Windows Python exists where this
    project is tested (docs/design.md, "Platforms").

    The proactor loop shares ``BaseEventLoop._run_once`` with the selector
    loops, and its "selector" is the ``IocpProactor`` (``select(timeout)``
    polls the completion port), so everything but the backend is
    :class:`SelectorDriver`'s.  The backend thread waits on the proactor's
    completion port (``_iocp``, a HANDLE) and gives back what it dequeues
    (backend-iocp.c).
    """

    @staticmethod
    def accepts(loop: asyncio.AbstractEventLoop) -> bool:
        try:
            from asyncio.proactor_events import BaseProactorEventLoop
        except ImportError:  # pragma: no cover
            return False
        return isinstance(loop, BaseProactorEventLoop)

    @staticmethod
    def _backend(loop: asyncio.AbstractEventLoop, selector: Any) -> int:
        iocp = getattr(getattr(loop, "_proactor", None), "_iocp", None)
        if not isinstance(iocp, int):
            raise RuntimeError(
                f"asyncio_guest cannot drive {name_of(loop)}: its proactor "
                "has no I/O completion port (_proactor._iocp)")
        return iocp


class UVLoopDriver:
    """Runs uvloop loops.

    One slice is one ``run_forever()`` call (which keeps uvloop's own
    bookkeeping: running loop, signals, async generator hooks), ended by a
    callback that reschedules itself while work is ready and the slice has
    time left, and calls ``stop()`` otherwise.  One call costs ~13 us on the
    main thread (uvloop sets up its signal wake-up per call), so a slice
    spans many iterations.  Between slices the loop's state is read from C
    (:class:`asyncio_guest._core.UVLoopView`): uvloop's ready queue, libuv's
    pending and watcher queues and its timer heap.  uvloop's own
    ``uv_backend_timeout()`` is useless here: it is 0 whenever a handle is
    closing, which after a main-thread run_forever() is always.
    """

    #: call_at goes through call_later; add_reader/add_writer register
    #: with epoll only during the next uv_run pass.
    hooks: tuple[str, ...] = ("call_soon", "call_later", "call_at", "add_reader", "add_writer")

    @staticmethod
    def accepts(loop: asyncio.AbstractEventLoop) -> bool:
        return any(
            f"{c.__module__}.{c.__qualname__}" == "uvloop.loop.Loop"
            for c in type(loop).__mro__
        )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` is open and not running."""
        from importlib.metadata import version

        self.loop: Any = loop
        self.fd = loop._get_backend_id()  # type: ignore[attr-defined]
        try:
            self.view = _core.UVLoopView(loop, self.fd)
            self._check_timer_heap()
        except (RuntimeError, TypeError) as exc:
            raise RuntimeError(
                f"asyncio_guest cannot drive uvloop {version('uvloop')} "
                f"({name_of(loop)}): {exc}. Supported: uvloop 0.17 to 0.23 "
                "(libuv 1.43 to 1.52)."
            ) from exc
        cls = type(loop)
        self._call_soon = cls.call_soon
        self._stop = cls.stop
        self._run_forever = cls.run_forever
        self._generation = 0
        self._end = 0.0
        self._halt = False  # end_slice()
        self._signals_arrived = False
        self.readable: Callable[[], bool] = _never

    def _check_timer_heap(self) -> None:
        """Verify, on the live loop, that we read libuv's timer heap right:
        a throwaway timer must show up as the earliest deadline."""
        before = self.view.next_timer()
        expected = _core.monotonic_ns() + 1000 * 10**9
        handle = self.loop.call_later(1000.0, lambda: None)
        try:
            seen = self.view.next_timer()
        finally:
            handle.cancel()
        if before is not None and before <= expected:
            return  # an earlier timer exists: ours cannot be the minimum
        if seen is None or abs(seen - expected) > 100 * 10**6:
            raise RuntimeError(
                "the libuv timer heap does not hold the timer just set "
                f"(read {seen}, expected about {expected})"
            )

    def bind(self, readable: Callable[[], bool]) -> None:
        """libuv's epoll fd is peeked from C: uvloop's iterations tell
        nothing about I/O that is ready."""
        self.readable = readable

    def io_ready(self) -> bool:
        return self.readable()

    def end_slice(self) -> None:
        self._halt = True

    def signals_arrived(self) -> None:
        """Signals came in between slices: the next slice has uvloop handle
        them (see _poke_signal_pipe)."""
        self._signals_arrived = True

    def run(self, end: float) -> None:
        loop = self.loop
        self._generation += 1
        self._end = end
        if self._signals_arrived:
            self._signals_arrived = False
            self._call_soon(loop, _poke_signal_pipe)
        self._call_soon(loop, self._step, self._generation)
        # run_forever() refuses while another loop is current: step out of
        # the guest's running-loop scope (or the host loop's) for the call.
        running = asyncio._get_running_loop()
        depth = sys.get_coroutine_origin_tracking_depth()
        asyncio._set_running_loop(None)
        try:
            self._run_forever(loop)
        finally:
            asyncio._set_running_loop(running)
            sys.set_coroutine_origin_tracking_depth(depth)

    def _step(self, generation: int) -> None:
        if generation != self._generation:
            return  # left over from a slice an exception cut short
        if (time.perf_counter() < self._end and not self._halt
                and (self.view.timeout() == 0.0 or self.readable())):
            self._call_soon(self.loop, self._step, generation)
        else:
            self._stop(self.loop)

    def timeout(self) -> Optional[float]:
        return self.view.timeout()

    def enter(self) -> None:
        pass  # is_running() is hooked by the state machine

    def leave(self) -> None:
        # bind() made a cycle through the state machine: break it.
        self.readable = _never


def _never() -> bool:
    return False


def _poke_signal_pipe() -> None:
    """Inside uvloop's run_forever() on the main thread, the signal wake-up
    fd is uvloop's own self-pipe.  uvloop's Python-level handlers only
    record a signal; it is handled when the self-pipe has data.  A signal
    that came in between slices went to the guest's socket instead, so write
    a null byte (which uvloop skips, like set_wakeup_fd's own) to the pipe:
    uvloop then handles the recorded signals."""
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    if fd >= 0:
        try:
            os.write(fd, b"\0")
        except OSError:
            pass  # full: uvloop has data to read anyway


def driver_class(loop: asyncio.AbstractEventLoop) -> type[
        Union[SelectorDriver, UVLoopDriver]]:
    """The driver for this kind of loop; NotImplementedError, naming the
    loop, if there is none."""
    for cls in (SelectorDriver, ProactorDriver, UVLoopDriver):
        if cls.accepts(loop):
            return cls
    raise NotImplementedError(
        f"asyncio_guest cannot drive {name_of(loop)}: supported loops are "
        "asyncio's selector event loops (asyncio.SelectorEventLoop and "
        "subclasses), its proactor loop on Windows (untested), and uvloop"
    )


def new_loop(factory: Optional[Callable[[], asyncio.AbstractEventLoop]]
             ) -> tuple[Any, Driver]:
    """Calls the factory (default ``asyncio.new_event_loop``), checks the
    loop, makes its driver.  A loop refused here is closed: the run owns
    what its factory made."""
    loop = (factory or asyncio.new_event_loop)()
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            "start_guest_run: loop_factory must return an event loop, "
            f"got {type(loop).__name__}"
        )
    try:
        # The kind first: is_closed() of a loop we cannot drive may not
        # even be implemented.
        cls = driver_class(loop)
        if loop.is_closed():
            raise RuntimeError(
                f"start_guest_run: the loop is closed ({name_of(loop)})")
        if loop.is_running():
            raise RuntimeError(
                "start_guest_run: the loop is already running "
                f"({name_of(loop)})")
        driver: Driver = cls(loop)
    except BaseException:
        try:
            if not loop.is_running():
                loop.close()
        except Exception:
            pass  # a loop we cannot drive may not implement close()
        raise
    return loop, driver
