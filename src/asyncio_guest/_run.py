"""The guest-mode state machine: run an asyncio loop inside a host's loop.

Who does what::

    backend thread (C, no GIL)                host thread (the GUI loop)
    --------------------------                --------------------------
    waits: loop's backend fd readable,        start_guest_run(): create the
           deadline passed, or wakeup()       loop, hooks, main task; arm(0)
    posts "tick" through the waker  ------->  _tick():
                                                begin_tick()       [IDLE]
                                                run iterations while work is
                                                ready, within a time slice
                                                then arm(next deadline),
                                                or, slice used up, post
    <-------------------------------------      the next tick itself
    (waits again)

Invariants, each relied upon below:

* Lockstep: the loop runs only inside ``_tick`` on the host thread, and
  ``_tick`` runs only after the backend posted it (or the host self-posted
  it while the backend was not armed).  The C core enforces this:
  ``begin_tick()`` refuses while the backend polls.
* No stale deadlines: host code that schedules work between ticks goes
  through ``loop.call_soon`` / ``loop.call_at`` (``create_task``,
  ``Future.set_result`` and ``Task.cancel`` all do), which are wrapped by a C
  ``WakeHook`` that wakes a poll in progress.  Threads use
  ``call_soon_threadsafe``, which writes the loop's self-pipe, which the
  backend fd reports.
* The running loop: between ticks the guest loop stays the running loop of
  the host thread, so host callbacks can use asyncio directly.  If the host
  thread already runs an asyncio loop (asyncio or Tornado as host), the guest
  loop is swapped in only for the duration of each tick.
* Teardown is asyncio.run's, done asynchronously: when the main task ends,
  a teardown task cancels and awaits the rest, finalizes async generators and
  shuts the default executor down; then ``_finish`` joins the backend thread,
  closes the loop and calls ``done_callback`` on the host thread.
* ``_live`` holds every unfinished run, so a run is never garbage collected
  while its backend thread may post, and ``atexit`` can stop abandoned runs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Optional

from asyncio.constants import DEBUG_STACK_DEPTH
from asyncio.log import logger

from . import _core
from ._drivers import Driver, UVLoopDriver, driver_class, name_of

__all__ = ["GuestRun", "start_guest_run", "current_run"]

#: How long one tick may keep running ready work before yielding to the
#: host (seconds).  Short enough that host events stay under ~2 ms of extra
#: latency while the guest is flooded, long enough that a busy guest pays
#: the thread hand-off rarely.
TIME_SLICE = 0.001

# Every run that has not finished: keeps it alive (its backend thread holds
# only the tick) and lets atexit stop runs whose host stopped pumping.
_live: set["_Runner"] = set()
# host thread ident -> the run it hosts (one guest run per thread).
_by_thread: dict[int, "_Runner"] = {}


class GuestRun:
    """A handle on a running guest loop, returned by :func:`start_guest_run`.

    Attributes:
        loop: the guest event loop.
        task: the main task (wrapping the coroutine given to the run).
    """

    __slots__ = ("_runner",)

    def __init__(self, runner: "_Runner") -> None:
        self._runner = runner

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The guest event loop (closed once the run is done)."""
        loop: asyncio.AbstractEventLoop = self._runner.loop
        return loop

    @property
    def task(self) -> "asyncio.Task[Any]":
        """The main task."""
        return self._runner.task

    @property
    def done(self) -> bool:
        """True once the teardown finished and ``done_callback`` was called."""
        return self._runner.finished

    def cancel(self, msg: Any = None) -> None:
        """Cancel the main task; the usual teardown follows.

        **Thread-safe**: may be called from any thread, and from host
        callbacks.  Does nothing once the main task is done.
        """
        self._runner.cancel(msg)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<GuestRun {state} loop={self.loop!r}>"


def current_run() -> Optional[GuestRun]:
    """The guest run hosted by the calling thread, or None."""
    runner = _by_thread.get(threading.get_ident())
    return None if runner is None else GuestRun(runner)


def start_guest_run(
    async_fn: Any,
    *args: Any,
    run_sync_soon_threadsafe: Callable[[Callable[[], object]], object],
    done_callback: Callable[["asyncio.Task[Any]"], object],
    run_sync_soon_not_threadsafe: Optional[
        Callable[[Callable[[], object]], object]
    ] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    host_uses_signal_set_wakeup_fd: bool = False,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start running ``async_fn(*args)`` on a new asyncio loop, as a guest of
    the host loop that runs on the calling thread.

    Call it on the host thread; it returns at once.  The guest then runs in
    short ticks, each scheduled on the host thread through the callables
    given here, until the main task is done and the loop is torn down.

    Args:
        async_fn: an ``async def`` function called with ``*args``, or one
            coroutine object (then no ``args``).
        run_sync_soon_threadsafe: ``post(fn)`` schedules ``fn()`` to be
            called soon on the host thread. **It must be thread-safe**: the
            backend thread calls it.  It must not call ``fn`` itself.
        done_callback: called on the host thread, exactly once, with the
            finished main task, after an ``asyncio.run``-grade teardown:
            other tasks cancelled and awaited, async generators finalized,
            default executor shut down, loop closed, backend thread joined.
        run_sync_soon_not_threadsafe: like ``run_sync_soon_threadsafe`` but
            only ever called from the host thread; if given, the threadsafe
            one is only used from other threads.
        loop_factory: makes the guest loop (default:
            ``asyncio.new_event_loop``).  The loop must be new: not running,
            not closed.
        host_uses_signal_set_wakeup_fd: True if the host owns
            ``signal.set_wakeup_fd`` (Qt, GLib): the guest then never takes
            it; ``loop.add_signal_handler`` uses Python-level handlers.
        debug: if not None, ``loop.set_debug(debug)``.

    Returns:
        A :class:`GuestRun` with ``loop``, ``task`` and ``cancel()``.

    Raises:
        TypeError: ``async_fn`` is not a coroutine function or coroutine, or
            a callable argument is not callable.
        RuntimeError: this thread already hosts a guest run; the loop is
            closed or already running.
        NotImplementedError: the loop is of a kind the core cannot drive.
    """
    return GuestRun(
        _Runner(
            async_fn,
            args,
            post=run_sync_soon_threadsafe,
            post_soon=run_sync_soon_not_threadsafe,
            done_callback=done_callback,
            loop_factory=loop_factory,
            host_uses_wakeup_fd=host_uses_signal_set_wakeup_fd,
            debug=debug,
        )
    )


def _make_coroutine(async_fn: Any, args: tuple[Any, ...]) -> Coroutine[Any, Any, Any]:
    if asyncio.iscoroutine(async_fn):
        if args:
            async_fn.close()
            raise TypeError(
                "start_guest_run: pass either a coroutine object and no "
                "arguments, or an async function and its arguments"
            )
        return async_fn
    if not callable(async_fn):
        raise TypeError(
            "start_guest_run: expected an async function or a coroutine, "
            f"got {type(async_fn).__name__}"
        )
    coro = async_fn(*args)
    if not asyncio.iscoroutine(coro):
        name = getattr(async_fn, "__qualname__", repr(async_fn))
        if hasattr(coro, "close"):
            coro.close()
        raise TypeError(
            f"start_guest_run: {name}() returned {type(coro).__name__}, not "
            "a coroutine; pass an 'async def' function"
        )
    return coro


def close_if_coroutine(async_fn: Any) -> None:
    """A start that fails closes the coroutine object it was given (so no
    "never awaited" warning); an async function is not called for this."""
    if asyncio.iscoroutine(async_fn):
        async_fn.close()


def _check_callable(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(
            f"start_guest_run: {name} must be callable, "
            f"got {type(value).__name__}"
        )


class _RunningLoopScope:
    """Sets the guest as this thread's running loop, with its async
    generator hooks and debug coroutine tracking, and restores what was there.
    """

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._saved: Optional[tuple[Any, Any, int]] = None

    def enter(self) -> None:
        loop = self._loop
        self._saved = (
            asyncio._get_running_loop(),
            sys.get_asyncgen_hooks(),
            sys.get_coroutine_origin_tracking_depth(),
        )
        asyncio._set_running_loop(loop)
        sys.set_asyncgen_hooks(
            firstiter=loop._asyncgen_firstiter_hook,
            finalizer=loop._asyncgen_finalizer_hook,
        )
        if loop.get_debug():
            # What run_forever() sets in debug mode.
            sys.set_coroutine_origin_tracking_depth(DEBUG_STACK_DEPTH)

    def leave(self) -> None:
        if self._saved is None:
            return
        running, hooks, depth = self._saved
        self._saved = None
        asyncio._set_running_loop(running)
        sys.set_asyncgen_hooks(*hooks)
        sys.set_coroutine_origin_tracking_depth(depth)


MODE_ENV_VAR = "ASYNCIO_GUEST_MODE"


def _new_guest(fd: int, waker: Any, signal_fd: int) -> "_core.Guest":
    """The C Guest for a waker: a native watcher (a TclWaker or GLibWaker
    made with fds) or a Python one (watch/fire_soon/unwatch, Qt's) makes a
    threadless Guest; anything else (CallbackWaker, a native waker) a
    threaded one."""
    if getattr(waker, "threadless", False):
        return _core.Guest.threadless(fd, waker)
    if not hasattr(waker, "_ag_waker") and hasattr(waker, "watch"):
        return _core.Guest.threadless(fd, _core.CallbackWatcher(
            waker.watch, waker.fire_soon, waker.unwatch))
    return _core.Guest.threaded(fd, waker, signal_fd=signal_fd)


def pick_mode(host: str, mode: Optional[str], default: str,
              unavailable: Optional[str] = None) -> bool:
    """Resolves a host's ``mode=`` argument; True for threadless.

    ``mode`` is ``"auto"``, ``"thread"`` or ``"threadless"``; None means
    ``$ASYNCIO_GUEST_MODE``, else ``"auto"``, which means ``default`` (the
    host's measured fastest).  ``unavailable``: why threadless cannot serve
    here (auto then picks thread mode; an explicit ``"threadless"`` raises
    RuntimeError)."""
    if mode is None:
        mode = os.environ.get(MODE_ENV_VAR) or "auto"
    if mode not in ("auto", "thread", "threadless"):
        raise ValueError(
            f"{host}: mode must be 'auto', 'thread' or 'threadless', "
            f"not {mode!r}")
    if mode == "auto":
        mode = "thread" if unavailable else default
    if mode == "threadless" and unavailable:
        raise RuntimeError(f"{host}: threadless mode needs {unavailable}")
    return mode == "threadless"


class _Runner:
    """One guest run: the state machine behind :class:`GuestRun`."""

    def __init__(
        self,
        async_fn: Any,
        args: tuple[Any, ...],
        *,
        post: Any,
        post_soon: Optional[Callable[[Callable[[], object]], object]],
        done_callback: Callable[["asyncio.Task[Any]"], object],
        loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]],
        host_uses_wakeup_fd: bool,
        debug: Optional[bool],
        native_waker: Optional[Callable[["_Runner"], Any]] = None,
        on_closed: Optional[Callable[[], object]] = None,
    ) -> None:
        try:
            if native_waker is None:
                _check_callable("run_sync_soon_threadsafe", post)
            _check_callable("run_sync_soon_not_threadsafe", post_soon, True)
            _check_callable("done_callback", done_callback)
            _check_callable("loop_factory", loop_factory, True)
            self.host_thread = threading.get_ident()
            if self.host_thread in _by_thread:
                raise RuntimeError(
                    "this thread already hosts a guest run; one guest run "
                    "per host thread"
                )
        except BaseException:
            close_if_coroutine(async_fn)
            raise
        coro = _make_coroutine(async_fn, args)
        try:
            loop, driver = self._new_loop(loop_factory)
        except BaseException:
            coro.close()
            raise
        self.loop: Any = loop
        self._driver = driver
        self.finished = False
        self._closing = False
        self._in_tick = False
        self._done_callback = done_callback
        self._post_soon = post_soon
        self._post = None if native_waker is not None else post
        self._on_closed = on_closed
        self._teardown_task: Optional[asyncio.Task[Any]] = None
        self._hooked: list[str] = []
        self._saved_wakeup_fd: Optional[int] = None
        self._host_uses_wakeup_fd = host_uses_wakeup_fd
        self._py_signals: dict[int, Any] = {}
        self._signal_socks: Optional[tuple[Any, Any]] = None
        # Set by a KeyboardInterrupt/SystemExit raised inside the loop: it is
        # re-raised to the host once the cancellation is under way.
        self._interrupt: Optional[BaseException] = None
        try:
            if debug is not None:
                loop.set_debug(debug)
            # With an asyncio loop already running on this thread (asyncio or
            # Tornado as host), the guest is current only inside its ticks.
            self._host_loop = asyncio._get_running_loop()
            self._scope = _RunningLoopScope(loop)
            self._signal_socks = self._signal_socket(driver)
            signal_fd = (-1 if self._signal_socks is None
                         else self._signal_socks[0].fileno())
            # A native waker runs the tick itself; a Python one is given it.
            self._guest = _new_guest(
                driver.fd,
                (_core.CallbackWaker(post, self._tick)
                 if native_waker is None else native_waker(self)),
                signal_fd)
            if isinstance(driver, UVLoopDriver):
                driver.bind(self._guest.readable, lambda: self._closing)
        except BaseException:
            coro.close()
            loop.close()
            self._close_signal_socket()
            if on_closed is not None:
                on_closed()
            raise
        try:
            self._install_hooks()
            self._save_wakeup_fd()
            self._driver.enter()
            if self._host_loop is None:
                self._scope.enter()
            self.task: asyncio.Task[Any] = loop.create_task(coro)
            self.task.add_done_callback(self._main_done)
        except BaseException:
            coro.close()
            self._close_all()
            raise
        _live.add(self)
        _by_thread[self.host_thread] = self
        self._own_sigint = False
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT)
                is signal.default_int_handler):
            signal.signal(signal.SIGINT, _sigint)
            self._own_sigint = True
        self._guest.arm(0.0)

    # -- set-up helpers --------------------------------------------------

    @staticmethod
    def _new_loop(factory: Optional[Callable[[], Any]]) -> tuple[Any, Driver]:
        """Calls the factory, checks the loop, makes its driver.  A loop
        refused here is closed: the run owns what its factory made."""
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
            driver = cls(loop)
        except BaseException:
            try:
                if not loop.is_running():
                    loop.close()
            except Exception:
                pass  # a loop we cannot drive may not implement close()
            raise
        return loop, driver

    def _install_hooks(self) -> None:
        # Instance attributes: the loop's own class is left alone (asyncio's
        # C Task and Future look call_soon up on the loop object, so they
        # find these too).
        loop = self.loop
        for name in self._driver.hooks:
            setattr(loop, name, _core.WakeHook(getattr(loop, name), self._guest))
            self._hooked.append(name)
        loop.is_running = self._is_running
        self._hooked.append("is_running")
        for name in ("stop", "run_forever", "run_until_complete", "close"):
            setattr(loop, name, functools.partial(self._refuse, name))
            self._hooked.append(name)
        if self._host_uses_wakeup_fd:
            loop.add_signal_handler = self._add_signal_handler
            loop.remove_signal_handler = self._remove_signal_handler
            self._hooked += ["add_signal_handler", "remove_signal_handler"]
        else:
            loop.add_signal_handler = functools.partial(
                self._recording_add_signal_handler, loop.add_signal_handler)
            self._hooked.append("add_signal_handler")

    def _is_running(self) -> bool:
        """The guest loop runs until the run is finished, between ticks
        too (uvloop would say False between its run_forever() calls)."""
        return not self.finished

    @staticmethod
    def _refuse(name: str, *args: Any, **kwargs: Any) -> None:
        """loop.stop/run_forever/run_until_complete/close during a guest
        run: a clear error, before the loop does anything (uvloop would
        wrap a coroutine given to run_until_complete in a task first)."""
        for arg in args:
            close_if_coroutine(arg)
        if name == "stop":
            raise RuntimeError(
                "loop.stop() cannot stop a guest run; cancel its main task "
                "instead (GuestRun.cancel())"
            )
        raise RuntimeError(
            f"loop.{name}(): this loop is running as a guest "
            "(asyncio_guest); it cannot be run or closed until its guest run "
            "ends (cancel it with GuestRun.cancel())"
        )

    def _signal_socket(self, driver: Driver) -> Optional[tuple[Any, Any]]:
        """On the main thread, a signal that arrives while the host sleeps
        in C (Tcl's or Qt's poll) would wake nobody: Python runs its handler
        (SIGINT's included) only once the host's next event comes.  uvloop
        takes the wake-up fd only inside run_forever(), that is inside a
        tick; the stdlib loop only for add_signal_handler.  So between ticks
        the guest's own socket is the wake-up fd, watched by the backend
        thread (or, threadless, by the host): the tick it triggers lets
        Python run the handler.  Not when the host owns the fd, and not on
        Windows: the IOCP poller cannot watch a socket beside the port
        (there the console delivers Ctrl-C on a thread of its own).
        """
        if (self._host_uses_wakeup_fd or sys.platform == "win32"
                or threading.current_thread() is not threading.main_thread()):
            return None
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        return r, w

    def _close_signal_socket(self) -> None:
        socks, self._signal_socks = self._signal_socks, None
        for sock in socks or ():
            sock.close()

    def _save_wakeup_fd(self) -> None:
        # Only the main thread may read it, and reading means swapping.
        if threading.current_thread() is not threading.main_thread():
            return
        if self._signal_socks is not None:
            fd = signal.set_wakeup_fd(self._signal_socks[1].fileno(),
                                      warn_on_full_buffer=False)
        else:
            fd = signal.set_wakeup_fd(-1)
            signal.set_wakeup_fd(fd)
        self._saved_wakeup_fd = fd

    def _restore_wakeup_fd(self) -> None:
        saved, self._saved_wakeup_fd = self._saved_wakeup_fd, None
        if saved is None:
            return
        # loop.close() resets the fd to -1 if the loop had taken it; any other
        # value was set by the host during the run and is the host's to keep.
        ours = (-1 if self._signal_socks is None
                else self._signal_socks[1].fileno())
        current = signal.set_wakeup_fd(saved)
        if current not in (-1, saved, ours):
            signal.set_wakeup_fd(current)

    def _recording_add_signal_handler(self, add: Any, sig: int,
                                      callback: Any, *args: Any) -> None:
        """The loop's own add_signal_handler, remembering the Python-level
        handler it replaces, so that the teardown puts that one back (asyncio
        resets to SIG_DFL; uvloop's close() outside run_forever() removes
        nothing at all)."""
        previous = signal.getsignal(sig)
        add(sig, callback, *args)
        self._py_signals.setdefault(sig, previous)

    # host_uses_signal_set_wakeup_fd=True: signal handlers without the fd.
    # The host wakes up on signals itself (that is why it owns the fd) and
    # then runs Python-level handlers on this thread; ours forwards to the
    # guest loop.
    def _add_signal_handler(self, sig: int, callback: Any, *args: Any) -> None:
        if threading.get_ident() != self.host_thread:
            raise RuntimeError("add_signal_handler: call it on the host thread")
        if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        loop = self.loop

        def handler(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(callback, *args)

        previous = signal.signal(sig, handler)
        self._py_signals.setdefault(sig, previous)

    def _remove_signal_handler(self, sig: int) -> bool:
        if sig not in self._py_signals:
            return False
        signal.signal(sig, self._py_signals.pop(sig))
        return True

    # -- the tick ----------------------------------------------------------

    def _tick(self) -> None:
        """Run the guest for one slice.  Host thread only."""
        if threading.get_ident() != self.host_thread:
            raise RuntimeError(
                "asyncio_guest tick called on the wrong thread: "
                "run_sync_soon_threadsafe must run its argument on the host "
                "thread (the one that called start_guest_run)"
            )
        if self._in_tick or self.finished:
            return  # a nested host loop inside a tick: never tick in a tick
        if not self._guest.begin_tick():
            return
        if self._signal_socks is not None:
            self._drain_signal_socket()
        self._in_tick = True
        try:
            self._run_slice()
        except BaseException:
            # Whatever escaped, never leave the run stuck with nobody polling.
            if not self._closing and self._guest.state == "idle":
                try:
                    self._guest.arm(0.0)
                except Exception:
                    pass  # closed meanwhile
            raise
        finally:
            self._in_tick = False
        if self._closing:
            self._finish()
        interrupt, self._interrupt = self._interrupt, None
        if interrupt is not None:
            raise interrupt

    def _run_slice(self) -> None:
        swap = self._host_loop is not None
        if swap:
            self._scope.enter()
        # The hot path: locals only.
        run = self._driver.run
        timeout_of = self._driver.timeout
        # Is I/O ready (so iterate again rather than go idle)?  The selector
        # driver knows from the iteration it just ran; else peek at the fd.
        readable = getattr(self._driver, "io_ready", self._guest.readable)
        now = time.perf_counter
        end = now() + TIME_SLICE
        try:
            while True:
                try:
                    run(end)
                    if self._closing:
                        return
                    timeout = timeout_of()
                    if timeout != 0.0 and not readable():
                        self._guest.arm(timeout)
                        return
                    if now() >= end:
                        self._yield_to_host()
                        return
                except (KeyboardInterrupt, SystemExit) as exc:
                    # Ctrl-C lands wherever Python is: inside a callback or
                    # in this loop's own code.  Either way, cancel the main
                    # task and keep the lockstep going.
                    self._interrupted(exc)
                    if self._closing or self._guest.state != "idle":
                        return  # already armed or posted
        finally:
            if swap:
                self._scope.leave()

    def watch_fds(self) -> list[int]:
        """The fds a threadless watcher watches: the loop's backend fd,
        and the signal wake-up socket if the guest owns one."""
        fds = [self._driver.fd]
        if self._signal_socks is not None:
            fds.append(self._signal_socks[0].fileno())
        return fds

    @property
    def threadless(self) -> bool:
        """True when the host watches the fds itself (no backend thread)."""
        return bool(self._guest.threadless)

    def _drain_signal_socket(self) -> None:
        """Signals arrived between ticks: Python runs their handlers (for
        uvloop's, that means recording them) by itself; the driver then
        has uvloop process what was recorded."""
        assert self._signal_socks is not None
        got = False
        try:
            while self._signal_socks[0].recv(4096):
                got = True
        except (BlockingIOError, InterruptedError):
            pass
        if got and isinstance(self._driver, UVLoopDriver):
            self._driver.signals_arrived()

    def _yield_to_host(self) -> None:
        """Work is ready but the slice is over: let the host run its own
        events, then continue.

        The next tick is posted from here, the host thread: through
        run_sync_soon_not_threadsafe if given, else through the threadsafe
        post (thread-safe includes this thread, as in Trio).  Going through
        the backend thread instead would cost two thread hand-offs per
        slice, a quarter of a busy guest's time on a small machine."""
        post = self._post_soon or self._post
        if post is not None:
            try:
                post(self._tick)
                return
            except Exception as exc:
                name = ("run_sync_soon_not_threadsafe"
                        if post is self._post_soon
                        else "run_sync_soon_threadsafe (on the host thread)")
                self.loop.call_exception_handler(
                    {
                        "message": f"{name} raised; falling back to the "
                        "backend thread",
                        "exception": exc,
                    }
                )
        self._guest.arm(0.0)

    def _interrupted(self, exc: BaseException) -> None:
        if self._interrupt is None:
            self._interrupt = exc
        if not self.task.done():
            self.task.cancel()
        elif not self.task.cancelled():
            # The main task raised it: it reaches the host from here, so
            # mark it retrieved (no "Task exception was never retrieved"
            # later), as run_until_complete does for a BaseException.
            self.task.exception()

    def defer_interrupt(self, exc: BaseException) -> None:
        """A KeyboardInterrupt (SIGINT, or one that escaped a host callback)
        that must not be raised where it happened: record it, cancel the
        main task; the tick that runs the cancellation re-raises it to the
        host, which completes the teardown and raises it again (the hosts'
        run() functions), as for one raised inside the guest."""
        if self.finished:
            return
        if self._interrupt is None:
            self._interrupt = exc
        if not self.task.done() and not self.task.cancelling():
            self.cancel()
        else:
            try:
                self._guest.wakeup()
            except Exception:
                pass  # closed meanwhile

    # -- teardown ------------------------------------------------------------

    def cancel(self, msg: Any = None) -> None:
        if self.finished or self.task.done():
            return
        try:
            self.loop.call_soon_threadsafe(self._cancel_main, msg)
        except RuntimeError:
            pass  # closed meanwhile: the run is over

    def _cancel_main(self, msg: Any) -> None:
        self.task.cancel(msg)

    def _main_done(self, task: "asyncio.Task[Any]") -> None:
        self._teardown_task = self.loop.create_task(self._teardown())
        self._teardown_task.add_done_callback(self._teardown_done)

    async def _teardown(self) -> None:
        """asyncio.run's clean-up, as a task of the guest loop."""
        loop = self.loop
        me = asyncio.current_task()
        to_cancel = [t for t in asyncio.all_tasks(loop) if t is not me]
        for t in to_cancel:
            t.cancel()
        if to_cancel:
            await asyncio.gather(*to_cancel, return_exceptions=True)
        for t in to_cancel:
            if t.cancelled():
                continue
            if t.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception during guest run "
                        "shutdown",
                        "exception": t.exception(),
                        "task": t,
                    }
                )
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()

    def _teardown_done(self, task: "asyncio.Task[Any]") -> None:
        if not task.cancelled() and task.exception() is not None:
            self.loop.call_exception_handler(
                {
                    "message": "guest run teardown failed",
                    "exception": task.exception(),
                }
            )
        self._closing = True
        self._driver.halt = True  # end the slice now (SelectorDriver.run)

    def _finish(self) -> None:
        """Host thread, outside any loop iteration: release everything, then
        report the main task."""
        if self.finished:
            return
        self._close_all()
        self.finished = True
        # Drop it before calling: a finished run keeps no reference to the
        # host's objects (a Tk interpreter in a garbage cycle may be
        # collected by any thread, and Tcl aborts when that is not its own).
        done_callback, self._done_callback = self._done_callback, _finished
        done_callback(self.task)

    def _close_all(self) -> None:
        self._guest.close()  # joins the backend thread
        on_closed, self._on_closed = self._on_closed, None
        if on_closed is not None:
            on_closed()  # drops the host's objects (Tk: the interpreter)
        self._scope.leave()
        self._driver.leave()  # and drops its references to this run
        for name in self._hooked:
            self.loop.__dict__.pop(name, None)
        self._hooked.clear()
        self.loop.close()
        for sig in list(self._py_signals):
            self._remove_signal_handler(sig)
        self._restore_wakeup_fd()
        self._close_signal_socket()
        self._restore_sigint()
        _live.discard(self)
        if _by_thread.get(self.host_thread) is self:
            del _by_thread[self.host_thread]

    def _restore_sigint(self) -> None:
        """Put Python's default SIGINT handler back, unless someone replaced
        ours meanwhile (theirs stays)."""
        if getattr(self, "_own_sigint", False):
            self._own_sigint = False
            if signal.getsignal(signal.SIGINT) is _sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def abandon(self) -> None:
        """At interpreter exit: stop the backend thread of a run whose host
        stopped pumping, so that it cannot post into a dying interpreter."""
        import warnings

        warnings.warn(
            f"guest run {self.loop!r} abandoned at exit: its host stopped "
            "before the main task finished",
            ResourceWarning,
            stacklevel=1,
        )
        self._guest.close()
        self.finished = True
        _live.discard(self)
        for undo in (self._restore_wakeup_fd, self._close_signal_socket,
                     self._restore_sigint):
            try:
                undo()
            except Exception:
                pass  # at exit: release what can be released
        if _by_thread.get(self.host_thread) is self:
            del _by_thread[self.host_thread]


def _sigint(signum: int, frame: Any) -> None:
    """SIGINT while a guest run is hosted on the main thread (installed in
    place of Python's default handler, which raises KeyboardInterrupt
    wherever Python happens to be).

    Inside a tick, or in the program's own code (a busy host callback), it
    raises KeyboardInterrupt as the default would: the tick's and the
    hosts' run() paths take it from there.  Anywhere else -- the host idle
    in C with our Python frame below it, or the entry of our own or a
    binding's code (a Qt slot wrapper, PyGObject, tkinter) -- raising would
    lose a tick or crash the binding (PySide6 segfaults, PyQt aborts), so
    the interrupt is handed to the run instead (defer_interrupt)."""
    runner = _by_thread.get(threading.main_thread().ident or 0)
    if runner is None or runner.finished or runner._in_tick:
        raise KeyboardInterrupt
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    if module.split(".")[0] in _NO_RAISE_IN:
        runner.defer_interrupt(KeyboardInterrupt())
        return
    raise KeyboardInterrupt


#: Packages where a SIGINT is deferred rather than raised (see _sigint).
_NO_RAISE_IN = frozenset({
    "asyncio_guest", "tkinter", "gi", "enum", "threading",
    "PySide6", "shiboken6", "PyQt5", "PyQt6", "sip"})


def divert_interrupt(exc: BaseException) -> bool:
    """For hosts' exception hooks: a KeyboardInterrupt that escaped a host
    callback (tkinter's report_callback_exception, the excepthook of Qt
    bindings and PyGObject) goes to this thread's run, which ends and
    re-raises it from the host's run().  True if taken."""
    runner = _by_thread.get(threading.get_ident())
    if (isinstance(exc, KeyboardInterrupt) and runner is not None
            and not runner.finished):
        runner.defer_interrupt(exc)
        return True
    return False


@contextlib.contextmanager
def interrupts_to_run() -> Iterator[None]:
    """While a host's run() runs its loop: a KeyboardInterrupt that a Qt
    binding or PyGObject reports through ``sys.excepthook`` (raised in a
    slot or callback, where they cannot propagate it) goes to the run
    instead of being printed and forgotten (PySide6, PyGObject) or aborting
    the process (PyQt calls qFatal() only while the hook is Python's
    own)."""
    previous = sys.excepthook

    def hook(tp: Any, value: Any, tb: Any) -> None:
        if not divert_interrupt(value):
            previous(tp, value, tb)

    sys.excepthook = hook
    try:
        yield
    finally:
        if sys.excepthook is hook:
            sys.excepthook = previous


def wakeup_fd_in_use() -> bool:
    """Whether ``signal.set_wakeup_fd`` is set on this (main) thread: a host
    that set it owns it, and the guest must not take it.  Other threads have
    none."""
    if threading.current_thread() is not threading.main_thread():
        return False
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd != -1


def _finished(task: "asyncio.Task[Any]") -> None:
    """The done_callback slot of a finished run."""


def report_main_task(task: "asyncio.Task[Any]") -> None:
    """The default ``done_callback`` of host modules: a main task that
    failed is logged (on the ``asyncio`` logger), never dropped silently."""
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        logger.error(
            "guest run: main task %r failed", task, exc_info=exc
        )


# Tasks started by async handlers: strong references until they finish.
_handler_tasks: set["asyncio.Task[Any]"] = set()


def async_handler(
    fn: Callable[..., Any], how_to_start: str
) -> Callable[..., None]:
    """Wrap an ``async def`` as a plain host callback that schedules it on
    the guest run hosted by the calling thread (host modules build their
    idiomatic helper on this)."""
    if not callable(fn):
        raise TypeError(
            f"async_handler: expected an async function, got "
            f"{type(fn).__name__}"
        )
    name = getattr(fn, "__qualname__", repr(fn))

    @functools.wraps(fn)
    def handler(*args: Any) -> None:
        runner = _by_thread.get(threading.get_ident())
        if runner is None or runner.finished:
            raise RuntimeError(
                f"{name}: no guest run on this thread; start one with "
                f"{how_to_start}"
            )
        coro = fn(*args)
        if not asyncio.iscoroutine(coro):
            raise TypeError(
                f"async_handler: {name}() returned {type(coro).__name__}, "
                "not a coroutine"
            )
        loop = runner.loop
        task = loop.create_task(coro)
        _handler_tasks.add(task)

        def finished(t: "asyncio.Task[Any]") -> None:
            _handler_tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": f"exception in async handler {name}",
                        "exception": t.exception(),
                        "task": t,
                    }
                )

        task.add_done_callback(finished)

    return handler


@atexit.register
def _abandon_all() -> None:
    for runner in list(_live):
        runner.abandon()
