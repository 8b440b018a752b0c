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
    #: True: ``loop.add_signal_handler`` installs Python-level handlers
    #: that forward to the loop (``call_soon_threadsafe``), instead of the
    #: loop's own.
    forwards_signals: bool

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
    forwards_signals = False

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
        self._end = 0.0  # the slice's end (perf_counter)
        bounded = _bounded_epoll(selector)
        # Seconds per callback run, as measured on iterations that took on
        # more than BOUND_MIN events (a moving average); see counting_select.
        self._cost = 20e-6
        # The iteration in progress: when its select ran, and how many
        # callbacks it brought (0: not worth measuring).
        last = self._last = [0.0, 0]
        now = time.perf_counter

        # Registered fds: with no more than BOUND_MIN, no bound applies, and
        # the plain select(0) saves the bound's arithmetic (0.3 us of a
        # 3 us iteration).
        registered = selector._fd_to_key if bounded is not None else {}

        def counting_select(timeout: Optional[float] = None) -> Any:
            if (bounded is None or timeout != 0
                    or len(registered) <= BOUND_MIN):
                ready = select(timeout)
            else:
                # One iteration runs every callback the events bring: take
                # on at most as many events as the slice has time for (at
                # least BOUND_MIN; epoll hands the rest out next time, in
                # turn).  Bounded only when enough fds are registered.
                t = now()
                cap = max(BOUND_MIN, int((self._end - t) / self._cost))
                ready = bounded(cap)
                if len(ready) > BOUND_MIN:  # worth measuring: see run()
                    last[0], last[1] = t, len(ready) + len(ready_queue)
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
        last = self._last
        self._end = end
        run_once()
        if last[1]:
            self._measure(last)
        while (ready or self._events) and not self._halt and now() < end:
            run_once()
            if last[1]:
                self._measure(last)

    def _measure(self, last: list[Any]) -> None:
        """An iteration that took on many events has run: its time per
        callback goes into the cost that bounds the next ones."""
        spent = (time.perf_counter() - last[0]) / last[1]
        self._cost += (spent - self._cost) * 0.25
        last[1] = 0

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


#: The fewest events an iteration of a selector loop takes on (a bound
#: below this many registered fds is not applied at all).
BOUND_MIN = 4


def _bounded_epoll(selector: Any) -> Optional[Callable[[int], list[Any]]]:
    """For an ``EpollSelector``: ``select(0)`` returning at most ``cap``
    events (``epoll.poll``'s maxevents: the kernel returns the first ready
    fds and moves them to the back of its ready list, so the others come
    first next time).  None for other selectors."""
    if sys.platform != "linux":
        return None
    import select as select_module
    import selectors

    if not isinstance(selector, selectors.EpollSelector):
        return None
    impl: Any = selector  # its private parts (3.11 to 3.15): not in typeshed
    epoll = impl._selector
    fd_to_key = impl._fd_to_key
    key_of = fd_to_key.get
    read_mask = select_module.EPOLLIN
    write_mask = select_module.EPOLLOUT
    event_read, event_write = selectors.EVENT_READ, selectors.EVENT_WRITE

    def select(cap: int) -> list[Any]:
        # As EpollSelector.select(0), with maxevents = cap.
        n = len(fd_to_key)
        try:
            fd_events = epoll.poll(0, max(1, min(n, cap)))
        except InterruptedError:
            return []
        ready = []
        for fd, event in fd_events:
            events = 0
            if event & ~read_mask:
                events |= event_write
            if event & ~write_mask:
                events |= event_read
            key = key_of(fd)
            if key:
                ready.append((key, events & key.events))
        return ready

    return select


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
    """Runs uvloop loops, from C: an iteration is one pass of the loop's
    libuv, ``uv_run(UV_RUN_NOWAIT)`` (:meth:`asyncio_guest._core.UVLoopView.run`),
    called through the ``uv_run`` that the loop's own uvloop module exports.

    ``run_forever()`` is never called: on the main thread each call made
    and closed a signal socketpair and moved ``signal.set_wakeup_fd``
    (12.8 us against 2 us elsewhere), and every guest wake-up was one call.
    What ``run_forever()`` sets up is the run's own instead: the running
    loop, async generator hooks and debug tracking (``RunningLoopScope``),
    ``is_running()`` (the state machine's hook), and signal handlers, which
    are Python-level handlers forwarding to the loop
    (:attr:`forwards_signals`); uvloop's idle handle (its ready queue) and
    queued-writes check handle start themselves when work is queued.  A
    ``KeyboardInterrupt``/``SystemExit`` a callback raises, which uvloop
    keeps in ``Loop._last_error`` for ``run_forever()`` to re-raise, is
    raised by ``UVLoopView.run()``.

    Between passes the loop's state is read from C as well: uvloop's ready
    queue, libuv's pending and watcher queues and its timer heap.  libuv's
    own ``uv_backend_timeout()`` is not used: it is 0 whenever a handle is
    closing.  Every field is checked on the live loop at start-up; a uvloop
    whose layout differs is refused.
    """

    #: call_at goes through call_later; add_reader/add_writer register
    #: with epoll only during the next uv_run pass.
    hooks: tuple[str, ...] = ("call_soon", "call_later", "call_at", "add_reader", "add_writer")
    #: uvloop's own signal handling needs its run_forever() self-pipe.
    forwards_signals = True

    @staticmethod
    def accepts(loop: asyncio.AbstractEventLoop) -> bool:
        return _uvloop_base(loop) is not None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` is open, not running, and has nothing queued."""
        from importlib.metadata import version

        self.loop: Any = loop
        self.fd = loop._get_backend_id()  # type: ignore[attr-defined]
        try:
            self.view = _core.UVLoopView(loop, self.fd)
            self._check_timer_heap()
            probe = _Probe()
            loop.call_soon(_raise, probe)
            self.view.drive(_uv_run_address(loop), probe)
        except (RuntimeError, TypeError, OSError, AttributeError) as exc:
            raise RuntimeError(
                f"asyncio_guest cannot drive uvloop {version('uvloop')} "
                f"({name_of(loop)}): {exc}. Supported: uvloop 0.17 to 0.23 "
                "(libuv 1.43 to 1.52)."
            ) from exc
        self._run: Callable[[float], bool] = self.view.run
        self._idle = False  # the last run() ended with nothing to do
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
        """libuv's epoll fd is peeked from C: a pass of uv_run tells
        nothing about I/O that is ready."""
        self.readable = readable

    def run(self, end: float) -> None:
        """Passes while work is ready (queued callbacks, pending libuv work,
        a timer due, or the backend fd readable) and the slice lasts: the
        loop is C's (UVLoopView.run)."""
        self._idle = not self._run(end - time.perf_counter())

    def io_ready(self) -> bool:
        if self._idle:
            return False  # run() just found nothing readable
        return self.readable()

    def end_slice(self) -> None:
        self.view.stop()

    def timeout(self) -> Optional[float]:
        return self.view.timeout()

    def enter(self) -> None:
        pass  # is_running() is hooked by the state machine

    def leave(self) -> None:
        # bind() made a cycle through the state machine: break it.
        self.readable = _never


class _Probe(SystemExit):
    """Raised once by a callback at start-up, to find where uvloop keeps a
    callback's BaseException (only KeyboardInterrupt and SystemExit get
    there: uvloop reports the others)."""


def _raise(exc: BaseException) -> None:
    raise exc


def _uvloop_base(loop: Any) -> Optional[type]:
    """uvloop's Cython ``Loop`` class among the loop's bases, or None."""
    for cls in type(loop).__mro__:
        if f"{cls.__module__}.{cls.__qualname__}" == "uvloop.loop.Loop":
            return cls
    return None


_uv_run_addresses: dict[str, int] = {}


def _uv_run_address(loop: Any) -> int:
    """The address of ``uv_run`` in the extension module that defines the
    loop's class (uvloop links its own libuv statically and exports it)."""
    base = _uvloop_base(loop)
    path = getattr(sys.modules.get(base.__module__ if base else ""),
                   "__file__", None)
    if not path:
        raise RuntimeError("the uvloop extension module has no file")
    if path not in _uv_run_addresses:
        import ctypes

        address = ctypes.cast(ctypes.CDLL(path).uv_run, ctypes.c_void_p).value
        if not address:
            raise RuntimeError(f"{path} exports no uv_run")
        _uv_run_addresses[path] = address
    return _uv_run_addresses[path]


def _never() -> bool:
    return False


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
