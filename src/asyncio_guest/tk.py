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
import itertools
import sys
import tkinter
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from . import _core, _run
from ._run import GuestRun

__all__ = ["start", "run", "async_handler", "DEFAULT_MODE"]

#: The default mode of this host (see :func:`start`): the faster one in
#: bench/results/2026-11-28.md (wake 16 vs 19 us on the stdlib loop, 32 vs
#: 34 us on uvloop, one CPU; 19-24 vs 31-32 us and 39-42 vs 46-51 us
#: unpinned).  Thread mode where Tcl has no file handlers (Windows).
DEFAULT_MODE = "threadless"

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
        tkapp = _tkapp(root)
        threadless = _run.pick_mode(
            "asyncio_guest.tk", mode, DEFAULT_MODE,
            None if sys.platform != "win32" else
            "Tcl file handlers, which Windows lacks")
    except BaseException:
        _run.close_if_coroutine(async_fn)
        raise
    name = f"asyncio_guest_tick_{next(_command_ids)}"
    waker_box: list[Any] = []

    def native_waker(runner: Any) -> Any:
        # createcommand, not root.register(): destroying the root must not
        # delete the tick, which still has a teardown to run.
        tkapp.createcommand(name, runner._tick)
        try:
            waker = _core.TclWaker(
                tkapp.interpaddr(), name,
                fds=runner.watch_fds() if threadless else None)
        except BaseException:
            tkapp.deletecommand(name)
            raise
        waker_box.append(waker)
        return waker

    def post_soon(fn: Callable[[], object]) -> None:
        waker_box[0].post_soon()

    def on_closed() -> None:
        for waker in waker_box:
            waker.close()
        try:
            tkapp.deletecommand(name)
        except tkinter.TclError:
            pass  # the interpreter is gone

    return GuestRun(
        _run._Runner(
            async_fn,
            args,
            post=None,
            post_soon=post_soon,
            done_callback=done_callback or _run.report_main_task,
            loop_factory=loop_factory,
            host_uses_wakeup_fd=False,
            debug=debug,
            native_waker=native_waker,
            on_closed=on_closed,
        )
    )


def run(
    root: tkinter.Tk,
    async_fn: Callable[..., Awaitable[T]] | Any,
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
        raise TypeError(f"expected a tkinter.Tk root, got {type(root).__name__}")
    outcome: dict[str, Any] = {}

    def done(task: "asyncio.Task[Any]") -> None:
        outcome["task"] = task
        if not outcome.get("destroyed"):
            outcome["destroyed"] = True
            root.destroy()

    def on_close() -> None:
        # Only the first close cancels: a second click must not interrupt
        # the clean-up the first one started (as asyncio.run treats Ctrl-C).
        if not outcome.get("closed"):
            outcome["closed"] = True
            guest.cancel()

    guest = start(root, async_fn, *args, done_callback=done,
                  loop_factory=loop_factory, debug=debug, mode=mode)
    root.protocol("WM_DELETE_WINDOW", on_close)
    # A KeyboardInterrupt raised in a Tk callback (Ctrl-C while it was busy)
    # is caught by tkinter and reported here: hand it to the run, which ends
    # and re-raises it, instead of printing it and going on.
    report = root.report_callback_exception
    own_report = "report_callback_exception" in vars(root)

    def report_or_interrupt(exc: Any, value: Any, tb: Any) -> None:
        if not _run.divert_interrupt(value):
            report(exc, value, tb)

    root.report_callback_exception = report_or_interrupt
    try:
        root.mainloop()
    finally:
        if not guest.done:
            # The window went away first (or mainloop raised): finish the
            # teardown by pumping Tcl's event queue, where our ticks arrive.
            outcome.setdefault("destroyed", True)
            if not outcome.get("closed"):
                outcome["closed"] = True
                # Cancel once only: after a KeyboardInterrupt the core has
                # cancelled the main task already, and a second cancel would
                # cut its clean-up short (asyncio.run cancels once too).
                if not guest.task.cancelling():
                    guest.cancel()
            while not guest.done:
                root.tk.dooneevent(0)
        if own_report:
            root.report_callback_exception = report
        else:
            vars(root).pop("report_callback_exception", None)
    task = outcome["task"]
    if task.cancelled() and outcome.get("closed"):
        return None
    result: Optional[T] = task.result()
    return result


def async_handler(
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., None]:
    """Turn an ``async def`` into a Tk command / event-binding callback.

    Each call schedules ``fn(*args)`` as a task on the guest loop hosted by
    this thread and returns at once (returning None, so a binding never
    returns "break" by accident).  Exceptions are reported through the
    loop's exception handler; tasks still running at the end of the run are
    cancelled by its teardown.

    Example::

        button = tk.Button(root, text="Fetch", command=async_handler(fetch))
        root.bind("<Key>", async_handler(on_key))
    """
    return _run.async_handler(fn, "asyncio_guest.tk.start() or .run()")
