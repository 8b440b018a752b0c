"""The host layer: what every host adapter is built from.

A *host* is an event loop that keeps its thread (Tk's ``mainloop()``, Qt's
``exec()``, a GLib ``MainLoop``, pygame's event loop, ...).  An adapter
for it subclasses :class:`Host` and says, in a few methods, how to reach
that loop:

* **waking it** (thread mode): :meth:`Host.post` (a thread-safe "call this
  soon on your thread", as Trio's ``run_sync_soon_threadsafe``), or a
  native C waker (:meth:`Host.waker`: Tk's ``TclWaker``, GLib's
  ``GLibWaker``);
* **watching for it** (threadless mode, optional): :meth:`Host.watcher`
  makes an object whose loop watches the guest's fds and deadline itself
  (:class:`PyWatcher` from three methods, or a native one);
* **running it** (for :func:`run`): :meth:`Host.run_loop`,
  :meth:`Host.quit`, :meth:`Host.pump`, and optionally
  :meth:`Host.connect_close` (a window whose closing cancels the run).

Then :func:`start` starts a guest run on it (through the public
:func:`asyncio_guest.start_guest_run`) and :func:`run` is the ``asyncio.run``
of that host: one outcome path for every host -- cancel once when the user
closes, finish the teardown by pumping the host, return the result or
re-raise.  The adapters of this package (``tk``, ``qt``, ``gtk``,
``pygame``, ``win32``, ``aio``, ``tornado``, ``trio``) are written this way
and nothing else; docs/design.md ("Writing a host adapter") walks through
a complete 40-line one (examples/custom_host.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ContextManager, Optional

from . import _core
from . import _callbacks
from ._callbacks import async_handler, current_host, modal
from ._loopscope import close_if_coroutine
from ._run import GuestRun, _by_thread, current_run, start_guest_run
from ._signals import wakeup_fd_in_use
from ._wake import Tick, Waker, Watcher

__all__ = [
    "Host", "PyWatcher", "start", "run", "GuestRun", "current_run",
    "start_guest_run", "pick_mode", "MODE_ENV_VAR",
    "report_main_task", "divert_interrupt", "interrupts_to_run",
    "until_closed", "current_host", "modal",
    "async_handler", "wakeup_fd_in_use", "close_if_coroutine",
    "Tick", "Waker", "Watcher", "CallbackWatcher",
]

logger = logging.getLogger("asyncio")

#: The environment variable that picks the mode of every host.
MODE_ENV_VAR = "ASYNCIO_GUEST_MODE"

#: Wraps three Python callables as a C watcher (see :class:`PyWatcher`).
CallbackWatcher = _core.CallbackWatcher

LoopFactory = Callable[[], Any]


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


def report_main_task(task: "Any") -> None:
    """The default ``done_callback`` of :func:`start`: a main task that
    failed is logged (on the ``asyncio`` logger), never dropped silently."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("guest run: main task %r failed", task,
                     exc_info=task.exception())


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
    """While a host's run() runs its loop: a KeyboardInterrupt that a
    binding reports through ``sys.excepthook`` (raised in a slot or
    callback, where it cannot propagate) goes to the run instead of being
    printed and forgotten (PySide6, PyGObject) or aborting the process
    (PyQt calls qFatal() only while the hook is Python's own)."""
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


class PyWatcher:
    """Base of a threadless watcher written in Python: the host's loop
    watches ``fds`` (readable) and the deadline, and calls ``tick`` when
    one fires.  Subclasses implement the three methods the C core calls on
    the host thread:

    * :meth:`watch` ``(timeout)``: the guest is idle; watch the fds, and
      fire after ``timeout`` seconds (None: no deadline).  Replaces any
      earlier deadline.
    * :meth:`fire_soon`: host code scheduled guest work: fire once, soon.
    * :meth:`unwatch`: a tick begins (or the run closes): stop watching
      and drop a pending fire.

    and :meth:`post_soon` (tick again after the host's pending events) and
    :meth:`close`.
    """

    def __init__(self, tick: Tick, fds: Sequence[int]) -> None:
        self.tick: Optional[Tick] = tick
        self.fds = list(fds)
        self._ag_callbacks = _core.CallbackWatcher(
            self.watch, self.fire_soon, self.unwatch)

    @property
    def _ag_watcher(self) -> Any:
        return self._ag_callbacks._ag_watcher

    def watch(self, timeout: Optional[float]) -> None:
        raise NotImplementedError

    def fire_soon(self) -> None:
        raise NotImplementedError

    def unwatch(self) -> None:
        raise NotImplementedError

    def post_soon(self) -> None:
        self.fire_soon()

    def close(self) -> None:
        """No more ticks (the run is over).  Idempotent."""
        self.tick = None
        self.unwatch()


class Host:
    """A host loop, as :func:`start` and :func:`run` see it.

    Class attributes:

    * ``name``: for messages (``"asyncio_guest.tk"``).
    * ``default_mode``: ``"thread"`` or ``"threadless"`` (the host's
      measured fastest; threadless needs :meth:`watcher`).
    * ``uses_wakeup_fd``: True if the host owns ``signal.set_wakeup_fd``
      (GLib, a Qt application that set it): the guest then never takes it.
    """

    name = "asyncio_guest host"
    default_mode = "thread"
    uses_wakeup_fd = False
    #: The run() in progress on this host (None outside run()).
    _outcome: Optional["_Outcome"] = None

    def __init__(self) -> None:
        self._outcome = None

    # -- how the guest reaches the host (start) ---------------------------

    def threadless_unavailable(self) -> Optional[str]:
        """Why threadless mode cannot serve here (None: it can).  By
        default: available if the class implements :meth:`watcher`."""
        if type(self).watcher is Host.watcher:
            return "a host adapter with a watcher"
        return None

    def has_waker(self) -> bool:
        """Thread mode: True to wake the host through :meth:`waker`, False
        through :meth:`post`.  By default: whether :meth:`waker` is
        implemented."""
        return type(self).waker is not Host.waker

    def post(self, fn: Callable[[], object]) -> None:
        """Thread-safe: call ``fn()`` soon on the host thread (never from
        here).  The backend thread calls it, holding the GIL."""
        raise NotImplementedError(f"{type(self).__name__}.post")

    def post_soon(self, fn: Callable[[], object]) -> None:
        """Host thread: call ``fn()`` after the host's pending events (a
        time slice ran out with work left).  Default: :meth:`post`."""
        self.post(fn)

    def waker(self, tick: Tick) -> Waker:
        """Thread mode with a native waker: make it (host thread)."""
        raise NotImplementedError(f"{type(self).__name__}.waker")

    def watcher(self, tick: Tick, fds: Sequence[int]) -> Watcher:
        """Threadless mode: make the watcher of ``fds`` (host thread)."""
        raise NotImplementedError(f"{type(self).__name__}.watcher")

    def closed(self) -> None:
        """The core is closed (backend thread joined, waker closed): drop
        the host objects the run used.  Called once, on the host thread."""

    def guard(self, fn: Callable[[], object]) -> Callable[[], None]:
        """``fn`` for a host whose loop is C that nothing may propagate
        into (Qt, GLib, a window procedure): what ``fn`` raises goes to
        :meth:`tick_raised`."""
        def guarded() -> None:
            try:
                fn()
            except BaseException as exc:
                self.tick_raised(exc)
        return guarded

    def report_exception(self, exc: BaseException) -> None:
        """An exception escaped the task of an async handler
        (:func:`async_handler`): report it as the toolkit reports one
        escaping an ordinary callback.  Default: ``sys.excepthook``."""
        try:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` on the host thread from the host's own loop, soon,
        outside any tick (a host timer or idle callback): where
        :func:`modal` opens a dialog.  Default: :meth:`post_soon`."""
        self.post_soon(fn)

    def tick_raised(self, exc: BaseException) -> None:
        """An exception escaped a guarded tick.  KeyboardInterrupt and
        SystemExit (the guest has cancelled its main task already) end
        :func:`run`, which re-raises them after the teardown; without a
        :func:`run`, :meth:`interrupted`.  Then (or for anything else)
        ``sys.excepthook``, as for an exception in a host callback."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            if self._outcome is not None:
                self._outcome.interrupted(exc)
                return
            self.interrupted(exc)
        try:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass

    def interrupted(self, exc: BaseException) -> None:
        """A KeyboardInterrupt/SystemExit escaped a tick of a run started
        with :func:`start` only (the host loop is the program's own).
        Default: :meth:`quit`, as Ctrl-C stops a program."""
        self.quit()

    # -- running the host (run) -------------------------------------------

    def run_loop(self, until: Callable[[], bool]) -> None:
        """Run the host loop until :meth:`quit` (or ``until()`` is true,
        for loops written in Python)."""
        raise NotImplementedError(f"{type(self).__name__} has no run()")

    def quit(self) -> None:
        """End :meth:`run_loop` (the run is done).  Idempotent."""
        raise NotImplementedError(f"{type(self).__name__}.quit")

    def pump(self) -> None:
        """Process the host's events once, waiting for one: used to finish
        the teardown after the host loop ended first."""
        raise NotImplementedError(f"{type(self).__name__}.pump")

    def finish(self, until: Callable[[], bool]) -> None:
        """Pump until ``until()`` (the teardown is done)."""
        while not until():
            self.pump()

    def connect_close(self, close: Callable[[], None]) -> Callable[[], None]:
        """Arrange that ``close()`` is called when the user closes the
        host's window (or the host quits on its own); returns the undo."""
        return _nothing

    def catch_interrupts(self) -> ContextManager[object]:
        """Context around :meth:`run_loop`: route a KeyboardInterrupt that
        the host reports instead of raising (see :func:`divert_interrupt`)."""
        return contextlib.nullcontext()

    def after_run(self, closed: bool) -> None:
        """After the teardown of :func:`run` (``closed``: the user or the
        host ended it): e.g. destroy a window whose close was held back."""


def _nothing() -> None:
    pass


def start(
    host: Host,
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[[Any], object]] = None,
    loop_factory: Optional[LoopFactory] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of ``host`` (call it on the host
    thread; returns at once).

    Args:
        host: the :class:`Host`.
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on the host thread with the finished main
            task after the teardown (default :func:`report_main_task`).
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``; ``uvloop.new_event_loop`` works).
        debug: if not None, the loop's debug mode.
        mode: ``"thread"``, ``"threadless"`` or ``"auto"``; None:
            ``$ASYNCIO_GUEST_MODE``, else ``"auto"`` (the host's
            ``default_mode``; thread mode where threadless is unavailable).
    """
    try:
        threadless = pick_mode(host.name, mode, host.default_mode,
                               host.threadless_unavailable())
    except BaseException:
        close_if_coroutine(async_fn)
        raise
    wake: dict[str, Any]
    if threadless:
        wake = {"watcher": host.watcher}
    elif host.has_waker():
        wake = {"waker": host.waker}
    else:
        wake = {"run_sync_soon_threadsafe": host.post,
                "run_sync_soon_not_threadsafe": host.post_soon}
    box: list[Any] = []

    def closed() -> None:
        # The run is over: it is no longer this host's (nor keeps it).
        if box:
            _callbacks._hosts.pop(box[0], None)
        host.closed()

    run = start_guest_run(
        async_fn, *args, done_callback=done_callback or report_main_task,
        on_closed=closed, loop_factory=loop_factory,
        host_uses_signal_set_wakeup_fd=host.uses_wakeup_fd, debug=debug,
        **wake)
    box.append(run._runner)
    _callbacks._hosts[run._runner] = host
    return run


class _Outcome:
    """What one :func:`run` learns: the main task, whether the user (or the
    host) closed, an interrupt to re-raise."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.guest: Optional[GuestRun] = None
        self.task: Any = None
        self.closed = False
        self.interrupt: Optional[BaseException] = None

    def done(self, task: Any) -> None:
        self.task = task
        self.host.quit()

    def close(self) -> None:
        """Cancel once: a second close must not cut short the clean-up the
        first one started (asyncio.run treats a second Ctrl-C so); nor a
        close after a Ctrl-C, which cancelled the main task already."""
        guest = self.guest
        if self.closed or guest is None or guest.done or guest.task.done():
            return
        self.closed = True
        if not guest.task.cancelling():
            guest.cancel()

    def interrupted(self, exc: BaseException) -> None:
        if self.interrupt is None:
            self.interrupt = exc
        self.closed = True
        self.host.quit()


async def until_closed() -> None:
    """The main coroutine of a :func:`run` given none: it waits until the
    host closes (whose close cancels it) or quits."""
    await asyncio.get_running_loop().create_future()


def run(
    host: Host,
    async_fn: Any = None,
    *args: Any,
    loop_factory: Optional[LoopFactory] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> Any:
    """Run ``async_fn(*args)`` as a guest of ``host``'s loop, which this
    runs (:meth:`Host.run_loop`); the ``asyncio.run`` of the host.  With
    no ``async_fn``, a purely event-driven program: it runs until the host
    closes or quits (:func:`until_closed`), and returns None.

    * When the main coroutine ends, the host loop is quit and its result
      returned (its exception re-raised).
    * When the user closes (:meth:`Host.connect_close`) or the host loop
      ends for another reason, the main task is cancelled -- once -- and
      the teardown completes (the host is pumped meanwhile) before ``run``
      returns None.
    * A KeyboardInterrupt/SystemExit cancels the main task likewise and is
      re-raised after the teardown.
    """
    if async_fn is None:
        if args:
            raise TypeError(f"{host.name}: run() got arguments but no "
                            "async function to give them to")
        async_fn = until_closed
    if host._outcome is not None:
        close_if_coroutine(async_fn)
        raise RuntimeError(f"{host.name}: this host is already in run()")
    outcome = _Outcome(host)
    guest = start(host, async_fn, *args, done_callback=outcome.done,
                  loop_factory=loop_factory, debug=debug, mode=mode)
    outcome.guest = guest
    host._outcome = outcome
    undo = host.connect_close(outcome.close)

    def over() -> bool:
        return guest.done or outcome.interrupt is not None

    try:
        with host.catch_interrupts():
            if not guest.done:
                host.run_loop(over)
    finally:
        try:
            if not guest.done:
                # The host loop ended first (closed, quit by other code,
                # Ctrl-C, an exception): finish the teardown.
                outcome.close()
                host.finish(lambda: guest.done)
        finally:
            host._outcome = None
            undo()
            host.after_run(outcome.closed)
    if outcome.interrupt is not None:
        raise outcome.interrupt
    task = outcome.task
    if task.cancelled() and outcome.closed:
        return None
    return task.result()

