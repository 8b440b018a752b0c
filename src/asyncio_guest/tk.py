"""Tkinter as the host loop.

Two modes (``mode=``, or ``$ASYNCIO_GUEST_MODE``; default
:data:`DEFAULT_MODE`):

* ``"thread"``: a backend thread waits on the loop's backend fd and wakes
  Tk natively: ``Tcl_ThreadQueueEvent`` + ``Tcl_ThreadAlert`` to the thread
  that owns the interpreter, from C, without the GIL.
* ``"threadless"``: no thread of ours; Tcl file handlers
  (``Tcl_CreateFileHandler``, Unix only) watch the backend fd and a Tcl
  timer the loop's next deadline, set up from C.  (A threaded Tcl 8.6 runs
  the ``select()`` for file handlers in its own notifier thread.)

Either way the tick runs through a Tcl command, as any Tk callback runs.
Work that must continue after a full time slice is resumed once Tk is idle
(its events handled, its windows redrawn).

Typical use::

    import tkinter as tk
    from asyncio_guest import tk as guest_tk

    async def main(root):
        ...  # asyncio code; GUI code may run here and in Tk callbacks

    root = tk.Tk()
    guest_tk.run(root, main, root)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import tkinter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Optional, TypeVar

from . import _core, _tk_python, host
from .host import GuestRun

__all__ = ["start", "run", "async_handler", "modal", "DEFAULT_MODE",
           "NATIVE_WAKER", "TkHost"]

#: The default mode of this host (see :func:`start`): the faster one in
#: bench/results/2026-11-28.md (wake 16 vs 19 us on the stdlib loop, 32 vs
#: 34 us on uvloop, one CPU; 19-24 vs 31-32 us and 39-42 vs 46-51 us
#: unpinned).  Thread mode where Tcl has no file handlers (Windows).
DEFAULT_MODE = "threadless"

#: The Tcl the native waker was built against ("8.6"...), or None: the core
#: was built without Tcl's development files, and this host wakes Tk
#: through tkinter (file handlers and timers) instead; same behaviour, more
#: cost per wake-up.
NATIVE_WAKER: Optional[str] = (None if _core.TCL_VERSION == "none"
                               else _core.TCL_VERSION)

T = TypeVar("T")

_command_ids = itertools.count()


def _tkapp(root: Any) -> Any:
    if not isinstance(root, tkinter.Misc):
        raise TypeError(
            f"expected a tkinter widget (usually the Tk root), got "
            f"{type(root).__name__}"
        )
    tkapp = root.tk
    try:
        tkapp.call("info", "patchlevel")
    except tkinter.TclError as exc:  # destroyed interpreter
        raise RuntimeError(f"the Tk interpreter is not usable: {exc}") from exc
    return tkapp


class TkHost(host.Host):
    """Tk's event loop, woken from C (``TclWaker``): a Tcl event queued to
    the interpreter's thread (thread mode), or Tcl file handlers and a Tcl
    timer (threadless).  The tick runs as a Tcl command, as any Tk callback
    runs; what it raises goes where tkinter sends a command's errors."""

    name = "asyncio_guest.tk"
    default_mode = DEFAULT_MODE

    def __init__(self, root: tkinter.Misc) -> None:
        super().__init__()
        self.root: Any = root
        self.tkapp = _tkapp(root)
        self.command = f"asyncio_guest_tick_{next(_command_ids)}"
        self.wakers: list[Any] = []
        self.loop_ended = False
        #: The core was built without Tcl: wake Tk through tkinter.
        self.python_path = (NATIVE_WAKER is None and sys.platform != "win32")
        self.pipe: Optional[_tk_python.PipePost] = None
        self.resume: Optional[_tk_python.TclTimers] = None
        if self.python_path:
            self.pipe = _tk_python.PipePost(self.tkapp)
            self.resume = _tk_python.TclTimers(self.tkapp)

    def has_waker(self) -> bool:
        return not self.python_path

    def post(self, fn: Callable[[], object]) -> None:
        assert self.pipe is not None  # only without the native waker
        self.pipe.post(fn)

    def post_soon(self, fn: Callable[[], object]) -> None:
        # (thread mode without the native waker) as the native one does
        assert self.resume is not None
        self.resume.fn = fn
        self.resume.when_idle()

    def call_soon(self, fn: Callable[[], object]) -> None:
        self.root.after(0, fn)  # a Tk timer: outside any tick

    def report_exception(self, exc: BaseException) -> None:
        # Where tkinter sends an exception escaping a command or binding.
        self.root.report_callback_exception(type(exc), exc, exc.__traceback__)

    def threadless_unavailable(self) -> Optional[str]:
        if sys.platform == "win32":
            return "Tcl file handlers, which Windows lacks"
        return None

    def _waker(self, tick: host.Tick, fds: Optional[Sequence[int]]) -> Any:
        # createcommand, not root.register(): destroying the root must not
        # delete the tick, which still has a teardown to run.
        self.tkapp.createcommand(self.command, tick)
        try:
            waker = _core.TclWaker(self.tkapp.interpaddr(), self.command,
                                   fds=None if fds is None else list(fds))
        except BaseException:
            self.tkapp.deletecommand(self.command)
            raise
        self.wakers.append(waker)
        return waker

    def waker(self, tick: host.Tick) -> Any:
        return self._waker(tick, None)

    def watcher(self, tick: host.Tick, fds: Sequence[int]) -> Any:
        if self.python_path:
            watcher = _tk_python.Watcher(tick, fds, self.tkapp)
            self.wakers.append(watcher)
            return watcher
        return self._waker(tick, fds)

    def closed(self) -> None:
        for waker in self.wakers:
            waker.close()
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
        if self.resume is not None:
            self.resume.close()
            self.resume = None
        try:
            self.tkapp.deletecommand(self.command)
        except tkinter.TclError:
            pass  # the interpreter is gone

    # -- run() --

    def connect_close(self, close: Callable[[], None]) -> Callable[[], None]:
        self.root.protocol("WM_DELETE_WINDOW", close)
        return host._nothing

    def run_loop(self, until: Callable[[], bool]) -> None:
        try:
            self.root.mainloop()
        finally:
            # The root went away, or mainloop raised: the root is not ours
            # to destroy any more.
            self.loop_ended = True

    def quit(self) -> None:
        if not self.loop_ended:
            self.loop_ended = True
            self.root.destroy()

    def pump(self) -> None:
        self.tkapp.dooneevent(0)

    @contextlib.contextmanager
    def catch_interrupts(self) -> Iterator[None]:
        # A KeyboardInterrupt raised in a Tk callback (Ctrl-C while it was
        # busy) is caught by tkinter and reported here: hand it to the run,
        # which ends and re-raises it, instead of printing it and going on.
        root = self.root
        report = root.report_callback_exception
        own_report = "report_callback_exception" in vars(root)

        def report_or_interrupt(exc: Any, value: Any, tb: Any) -> None:
            if not host.divert_interrupt(value):
                report(exc, value, tb)

        root.report_callback_exception = report_or_interrupt
        try:
            yield
        finally:
            if own_report:
                root.report_callback_exception = report
            else:
                vars(root).pop("report_callback_exception", None)


def start(
    root: tkinter.Misc,
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of ``root``'s Tk event loop.

    Call it on the thread that created ``root``, then run Tk as usual
    (``root.mainloop()``).  Returns at once.

    Args:
        root: the Tk root (or any widget of the interpreter).
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on the Tk thread with the finished main task,
            after the teardown (see :func:`asyncio_guest.start_guest_run`).
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``).
        debug: if not None, the loop's debug mode.
        mode: ``"thread"``, ``"threadless"`` or ``"auto"`` (see the
            module's documentation); None: ``$ASYNCIO_GUEST_MODE``, else
            ``"auto"``, i.e. :data:`DEFAULT_MODE`.
    """
    try:
        tk_host = TkHost(root)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    return host.start(tk_host, async_fn, *args, done_callback=done_callback,
                      loop_factory=loop_factory, debug=debug, mode=mode)


def run(
    root: tkinter.Tk,
    async_fn: Callable[..., Awaitable[T]] | Any = None,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> Optional[T]:
    """Run ``async_fn(*args)`` as a guest of ``root.mainloop()``.

    * When the main coroutine ends, the root is destroyed and its result is
      returned (its exception re-raised).
    * When the user closes the root window, the main task is cancelled; the
      teardown completes before ``run`` returns ``None``.
    * If ``mainloop()`` ends for another reason (the root was destroyed by
      other code, or Ctrl-C), the main task is cancelled and the teardown is
      completed before ``run`` returns or re-raises.
    """
    if not isinstance(root, tkinter.Tk):
        host.close_if_coroutine(async_fn)
        raise TypeError(f"expected a tkinter.Tk root, got {type(root).__name__}")
    try:
        tk_host = TkHost(root)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    result: Optional[T] = host.run(tk_host, async_fn, *args,
                                   loop_factory=loop_factory, debug=debug,
                                   mode=mode)
    return result


def async_handler(
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., "asyncio.Task[Any]"]:
    """Turn an ``async def`` into a Tk command / event-binding callback.

    Each call starts ``fn(*args)`` as a task on the guest loop hosted by
    this thread and returns the task at once (never ``"break"``, so a
    binding's default handling goes on).  An exception escaping the task
    goes to ``root.report_callback_exception`` (as one escaping an ordinary
    Tk callback does), once, with the coroutine's traceback; a cancelled
    task reports nothing.  Tasks still running at the end of the run are
    cancelled by its teardown.

    Example::

        button = tk.Button(root, text="Fetch", command=async_handler(fetch))
        root.bind("<Key>", async_handler(on_key))
    """
    return host.async_handler(fn, "asyncio_guest.tk.start() or .run()")


async def modal(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a blocking dialog function from a Tk callback and await its
    result::

        if await guest_tk.modal(messagebox.askyesno, "Quit", "Really?"):
            root.destroy()

    ``fn(*args, **kwargs)`` runs from a Tk timer (not inside a guest tick),
    so the dialog's nested loop keeps the guest running; its result (or
    exception) comes back here.  Cancelling this coroutine leaves the
    dialog open and drops its result."""
    result: T = await host.modal(fn, *args, **kwargs)
    return result
