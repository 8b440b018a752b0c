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

In threadless mode the host's own loop watches the fds and the deadline
(the *watcher*) and there is no backend thread; the states are the same.

Invariants, each relied upon below:

* Lockstep: the loop runs only inside ``_tick`` on the host thread, and
  ``_tick`` runs only after the backend posted it (or the host self-posted
  it while the backend was not armed).  The C core enforces this:
  ``begin_tick()`` refuses while the backend polls.
* No stale deadlines: host code that schedules work between ticks goes
  through ``loop.call_soon`` / ``loop.call_at`` (``create_task``,
  ``Future.set_result`` and ``Task.cancel`` all do), which are wrapped by a C
  ``WakeHook`` that wakes a poll in progress (``_loopscope``).  Threads use
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

The driver (``_drivers``) knows the kind of loop, the loop scope and hooks
(``_loopscope``) what makes it look running, ``_signals`` the signals; the
wake seam (``_wake``) how the core reaches the host.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Optional

from . import _drivers
from ._args import check_callable, make_coroutine
from ._loopscope import LoopHooks, RunningLoopScope, close_if_coroutine
from ._signals import RunSignals
from ._wake import Post, Wake, WakerFactory, WatcherFactory

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
    """A handle on a running guest loop, returned by :func:`start_guest_run`
    (and by every host's ``start``)."""

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

    @property
    def mode(self) -> str:
        """``"thread"`` (a backend thread waits and wakes the host) or
        ``"threadless"`` (the host's own loop watches the fds)."""
        return "threadless" if self._runner.threadless else "thread"

    def cancel(self, msg: Any = None) -> None:
        """Cancel the main task; the usual teardown follows.

        **Thread-safe**: may be called from any thread, and from host
        callbacks.  Does nothing once the main task is done.
        """
        self._runner.cancel(msg)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<GuestRun {state} {self.mode} loop={self.loop!r}>"


def current_run() -> Optional[GuestRun]:
    """The guest run hosted by the calling thread, or None."""
    runner = _by_thread.get(threading.get_ident())
    return None if runner is None else GuestRun(runner)


def start_guest_run(
    async_fn: Any,
    *args: Any,
    done_callback: Callable[["asyncio.Task[Any]"], object],
    run_sync_soon_threadsafe: Optional[Post] = None,
    run_sync_soon_not_threadsafe: Optional[Post] = None,
    waker: Optional[WakerFactory] = None,
    watcher: Optional[WatcherFactory] = None,
    on_closed: Optional[Callable[[], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    host_uses_signal_set_wakeup_fd: bool = False,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start running ``async_fn(*args)`` on a new asyncio loop, as a guest of
    the host loop that runs on the calling thread.

    Call it on the host thread; it returns at once.  The guest then runs in
    short ticks, each scheduled on the host thread, until the main task is
    done and the loop is torn down.

    How the guest wakes the host: exactly one of

    * ``run_sync_soon_threadsafe`` (Trio's name): ``post(fn)`` schedules
      ``fn()`` to be called soon on the host thread. **It must be
      thread-safe**: the backend thread calls it (holding the GIL).  It
      must not call ``fn`` itself.  ``run_sync_soon_not_threadsafe``, if
      given, is used instead of it on the host thread.
    * ``waker``: ``waker(tick)`` makes a native waker on the host thread
      (thread mode: a backend thread waits and the waker wakes the host;
      see :mod:`asyncio_guest.host`).
    * ``watcher``: ``watcher(tick, fds)`` makes a watcher: threadless mode,
      the host's own loop watches ``fds`` and the deadline (no thread).

    Args:
        async_fn: an ``async def`` function called with ``*args``, or one
            coroutine object (then no ``args``).
        done_callback: called on the host thread, exactly once, with the
            finished main task, after an ``asyncio.run``-grade teardown:
            other tasks cancelled and awaited, async generators finalized,
            default executor shut down, loop closed, backend thread joined.
        on_closed: called on the host thread once the core is closed (the
            backend thread joined, the waker closed), before the loop is
            closed and ``done_callback`` runs: release the host's objects.
        loop_factory: makes the guest loop (default:
            ``asyncio.new_event_loop``).  The loop must be new: not running,
            not closed.
        host_uses_signal_set_wakeup_fd: True if the host owns
            ``signal.set_wakeup_fd`` (Qt, GLib): the guest then never takes
            it; ``loop.add_signal_handler`` uses Python-level handlers.
        debug: if not None, ``loop.set_debug(debug)``.

    Returns:
        A :class:`GuestRun` with ``loop``, ``task``, ``mode`` and
        ``cancel()``.

    Raises:
        TypeError: ``async_fn`` is not a coroutine function or coroutine, a
            callable argument is not callable, or not exactly one of the
            ways to wake the host is given.
        RuntimeError: this thread already hosts a guest run; the loop is
            closed or already running.
        NotImplementedError: the loop is of a kind the core cannot drive.
    """
    try:
        wake = Wake(post=run_sync_soon_threadsafe,
                    post_soon=run_sync_soon_not_threadsafe,
                    waker=waker, watcher=watcher)
        check_callable("done_callback", done_callback)
        check_callable("on_closed", on_closed, True)
        check_callable("loop_factory", loop_factory, True)
    except BaseException:
        close_if_coroutine(async_fn)
        raise
    return GuestRun(_Runner(async_fn, args, wake=wake,
                            done_callback=done_callback, on_closed=on_closed,
                            loop_factory=loop_factory,
                            host_uses_wakeup_fd=host_uses_signal_set_wakeup_fd,
                            debug=debug))


class _Runner:
    """One guest run: the state machine behind :class:`GuestRun`."""

    def __init__(
        self,
        async_fn: Any,
        args: tuple[Any, ...],
        *,
        wake: Wake,
        done_callback: Callable[["asyncio.Task[Any]"], object],
        on_closed: Optional[Callable[[], object]],
        loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]],
        host_uses_wakeup_fd: bool,
        debug: Optional[bool],
    ) -> None:
        self.host_thread = threading.get_ident()
        try:
            if self.host_thread in _by_thread:
                raise RuntimeError(
                    "this thread already hosts a guest run; one guest run "
                    "per host thread"
                )
        except BaseException:
            close_if_coroutine(async_fn)
            raise
        coro = make_coroutine(async_fn, args)
        try:
            loop, driver = _drivers.new_loop(loop_factory)
        except BaseException:
            coro.close()
            raise
        self.loop: Any = loop
        self.driver = driver
        self.finished = False
        self._closing = False
        self._in_tick = False
        self._done_callback = done_callback
        self._on_closed = on_closed
        self._hooks = LoopHooks(loop)
        self._teardown_task: Optional[asyncio.Task[Any]] = None
        # Set by a KeyboardInterrupt/SystemExit raised inside the loop: it is
        # re-raised to the host once the cancellation is under way.
        self._interrupt: Optional[BaseException] = None
        self.signals = RunSignals(host_uses_wakeup_fd)
        try:
            if debug is not None:
                loop.set_debug(debug)
            # With an asyncio loop already running on this thread (asyncio or
            # Tornado as host), the guest is current only inside its ticks.
            self._host_loop = asyncio._get_running_loop()
            self._scope = RunningLoopScope(loop)
            self.core, self._waker = wake.make(
                driver.fd, self.signals.fd, self._tick)
            driver.bind(self.core.readable)
        except BaseException:
            coro.close()
            loop.close()
            self.signals.release()
            if on_closed is not None:
                on_closed()
            raise
        try:
            self._hooks.wake(driver.hooks, self.core)
            self._hooks.run_as_guest(self._is_running)
            self.signals.hook(self._hooks, loop, driver.forwards_signals)
            self.signals.take_wakeup_fd()
            driver.enter()
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
        self.signals.own_sigint(self)
        self.core.arm(0.0)

    @property
    def threadless(self) -> bool:
        """True when the host watches the fds itself (no backend thread)."""
        return bool(self.core.threadless)

    @property
    def wake_object(self) -> Any:
        """The waker or watcher the host made (for tests and debugging)."""
        return self._waker.obj

    @property
    def in_tick(self) -> bool:
        return self._in_tick

    def _is_running(self) -> bool:
        """The guest loop runs until the run is finished, between ticks
        too (uvloop would say False between its run_forever() calls)."""
        return not self.finished

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
        if not self.core.begin_tick():
            return
        # Signals that arrived between ticks woke us through the signal
        # socket; Python runs their handlers by itself.
        self.signals.drain()
        self._in_tick = True
        try:
            self._run_slice()
        except BaseException:
            # Whatever escaped, never leave the run stuck with nobody polling.
            if not self._closing and self.core.state == "idle":
                try:
                    self.core.arm(0.0)
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
        driver = self.driver
        run = driver.run
        timeout_of = driver.timeout
        io_ready = driver.io_ready
        core = self.core
        now = time.perf_counter
        end = now() + TIME_SLICE
        try:
            while True:
                try:
                    run(end)
                    if self._closing:
                        return
                    timeout = timeout_of()
                    if timeout != 0.0 and not io_ready():
                        core.arm(timeout)
                        return
                    if now() >= end:
                        self._yield_to_host()
                        return
                except (KeyboardInterrupt, SystemExit) as exc:
                    # Ctrl-C lands wherever Python is: inside a callback or
                    # in this loop's own code.  Either way, cancel the main
                    # task and keep the lockstep going.
                    self._interrupted(exc)
                    if self._closing or core.state != "idle":
                        return  # already armed or posted
        finally:
            if swap:
                self._scope.leave()

    def _yield_to_host(self) -> None:
        """Work is ready but the slice is over: let the host run its own
        events, then continue.

        The next tick is posted from here, the host thread (the waker's
        ``post_soon``); going through the backend thread instead would cost
        two thread hand-offs per slice, a quarter of a busy guest's time on
        a small machine.  A host whose self-post fails gets the backend
        thread instead."""
        try:
            self._waker.post_soon()
            return
        except Exception as exc:
            self.loop.call_exception_handler({
                "message": f"{self._waker.post_soon_name} raised; falling "
                           "back to the backend thread",
                "exception": exc,
            })
        self.core.arm(0.0)

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
                self.core.wakeup()
            except Exception:
                pass  # closed meanwhile
            self.repost_lost_tick()

    # -- teardown ------------------------------------------------------------

    def cancel(self, msg: Any = None) -> None:
        if self.finished or self.task.done():
            return
        try:
            self.loop.call_soon_threadsafe(self._cancel_main, msg)
        except RuntimeError:
            pass  # closed meanwhile: the run is over
        self.repost_lost_tick()

    def repost_lost_tick(self) -> None:
        """A KeyboardInterrupt raised in a Python host's own code between
        taking the posted tick and calling it (3.13 checks for signals
        there) loses that tick, and the run with it: the core stays POSTED
        and posts no other.  So a cancel on the host thread (what a host
        does after an interrupt) posts the tick again; if the first is still
        on its way, whichever comes second finds no tick due and returns."""
        if (self._waker.python_post and self.core.state == "posted"
                and threading.get_ident() == self.host_thread):
            try:
                self._waker.post_soon()
            except Exception:
                pass  # the host is going away: nothing to wake

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
            if not t.cancelled() and t.exception() is not None:
                loop.call_exception_handler({
                    "message": "unhandled exception during guest run shutdown",
                    "exception": t.exception(),
                    "task": t,
                })
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()

    def _teardown_done(self, task: "asyncio.Task[Any]") -> None:
        if not task.cancelled() and task.exception() is not None:
            self.loop.call_exception_handler({
                "message": "guest run teardown failed",
                "exception": task.exception(),
            })
        self._closing = True
        self.driver.end_slice()

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
        self.core.close()  # joins the backend thread
        self._waker.close()
        on_closed, self._on_closed = self._on_closed, None
        if on_closed is not None:
            on_closed()  # drops the host's objects (Tk: the interpreter)
        self._release_loop()
        self.signals.release()
        _live.discard(self)
        if _by_thread.get(self.host_thread) is self:
            del _by_thread[self.host_thread]

    def abandon(self) -> None:
        """At interpreter exit: stop the backend thread of a run whose host
        stopped pumping, so that it cannot post into a dying interpreter."""
        warnings.warn(
            f"guest run {self.loop!r} abandoned at exit: its host stopped "
            "before the main task finished",
            ResourceWarning,
            stacklevel=1,
        )
        self.core.close()
        self.finished = True
        _live.discard(self)
        self.signals.release_at_exit()
        # The loop is an ordinary, closed loop again: its pending tasks are
        # left as they are (none can run), but nothing refuses it any more
        # (its __del__ closes it, and a closed loop is not "running").
        self._release_loop()
        if _by_thread.get(self.host_thread) is self:
            del _by_thread[self.host_thread]

    def _release_loop(self) -> None:
        self._scope.leave()
        self.driver.leave()  # and drops its references to this run
        self._hooks.remove()
        self.loop.close()


def _finished(task: "asyncio.Task[Any]") -> None:
    """The done_callback slot of a finished run."""


@atexit.register
def _abandon_all() -> None:
    for runner in list(_live):
        runner.abandon()
