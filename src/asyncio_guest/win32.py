"""A Win32 message loop as the host (Windows only).

**Untested**: written against the Win32 API and type-checked with
``mypy --strict --platform win32``, but never run, since there is no Windows
Python here.  Its C parts are tested under Wine (``make test-wine``): the
IOCP poller (``backend-iocp.c``), the Win32 threads (``thread-win.c``) and
the waker (``waker-win32.c``).  The guest loop must be asyncio's
``ProactorEventLoop`` (the default on Windows; ``_drivers.ProactorDriver``,
untested too); Windows' ``SelectorEventLoop`` has no pollable selector and
is refused.

How it works: the guest's backend thread waits on the proactor's I/O
completion port, giving back what it dequeues, and wakes the host thread by
posting a message to a hidden message-only window that this thread owns
(from C, without the GIL).  The window procedure runs the tick.  So *any*
loop that dispatches this thread's messages drives the guest: the one
:func:`run` runs, pywin32's ``PumpMessages``, a GUI toolkit's own Win32
loop, and modal loops (dialogs, menus, a window being moved or resized).
Only thread mode exists: a message loop cannot wait on a completion port.
When the guest's time slice runs out with work left, it continues after
the input and paint messages already queued (``Win32Waker.post_soon``).

Typical use::

    from asyncio_guest import win32 as guest_win32

    async def main():
        ...  # asyncio code; the thread's windows stay responsive

    guest_win32.run(main)   # pumps messages until main() is done
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from . import host
from .host import GuestRun

__all__ = ["start", "run", "async_handler", "DEFAULT_MODE", "Win32Host"]

#: The only mode of this host: a backend thread (see the module's notes).
DEFAULT_MODE = "thread"

T = TypeVar("T")


def _refuse_elsewhere(async_fn: Any) -> None:
    if sys.platform != "win32":
        host.close_if_coroutine(async_fn)
        raise RuntimeError(
            f"asyncio_guest.win32 needs Windows (this is {sys.platform!r})")


class Win32Host(host.Host):
    """This thread's message loop, woken by a message posted to a hidden
    window from C (``Win32Waker``).  Thread mode only: a message loop
    cannot wait on the loop's I/O completion port."""

    name = "asyncio_guest.win32"
    default_mode = DEFAULT_MODE

    def threadless_unavailable(self) -> Optional[str]:
        return ("the host to wait on the loop's I/O completion port, "
                "which a message loop cannot")

    def __init__(self) -> None:
        super().__init__()
        self.wakers: list[Any] = []

    def waker(self, tick: host.Tick) -> Any:
        # The window procedure is C: nothing may propagate into it.
        waker = _new_waker(self.guard(tick))
        self.wakers.append(waker)
        return waker

    def closed(self) -> None:
        for waker in self.wakers:
            waker.close()

    def interrupted(self, exc: BaseException) -> None:
        pass  # start() only: reported with sys.excepthook, the loop goes on

    def run_loop(self, until: Callable[[], bool]) -> None:
        _pump(until)  # a WM_QUIT ends it (consumed): run() then cancels

    def quit(self) -> None:
        pass  # run_loop checks until()

    def finish(self, until: Callable[[], bool]) -> None:
        # A further WM_QUIT cannot cut the teardown short (the main task
        # is cancelled already).
        while not until():
            _pump(until)


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of this thread's message loop.

    Call it on the thread that will dispatch messages (usually the main
    thread), then run that thread's message loop as usual.  Returns at once.

    Args:
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on this thread with the finished main task,
            after the teardown (see :func:`asyncio_guest.start_guest_run`);
            default: log a failed main task.
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``).
        debug: if not None, the loop's debug mode.
        mode: ``"thread"`` or ``"auto"`` (the same here); ``"threadless"``
            raises RuntimeError.  None: ``$ASYNCIO_GUEST_MODE``, else auto.

    An exception escaping a tick (KeyboardInterrupt or SystemExit raised in
    a guest callback, after the guest cancelled its main task) cannot leave
    the window procedure: it is reported with ``sys.excepthook``.
    :func:`run` re-raises it instead.
    """
    _refuse_elsewhere(async_fn)
    return host.start(Win32Host(), async_fn, *args,
                      done_callback=done_callback, loop_factory=loop_factory,
                      debug=debug, mode=mode)


def run(
    async_fn: Callable[..., Awaitable[T]] | Any = None,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    mode: Optional[str] = None,
) -> Optional[T]:
    """Run ``async_fn(*args)`` as a guest of a message loop run here
    (``GetMessageW`` / ``TranslateMessage`` / ``DispatchMessageW``) and
    return its result (or raise its exception) after the teardown.

    * A ``WM_QUIT`` (``PostQuitMessage``, e.g. from the main window's
      ``WM_DESTROY``) cancels the main task; the teardown completes and
      ``run`` returns None.  The quit message is consumed.
    * KeyboardInterrupt or SystemExit raised in a guest callback: the main
      task is cancelled, the teardown completes, and it is re-raised.

    Ctrl-C in a console is seen only when the thread next gets a message
    (Python runs signal handlers between bytecodes, and the thread waits in
    ``GetMessageW``).
    """
    _refuse_elsewhere(async_fn)
    result: Optional[T] = host.run(Win32Host(), async_fn, *args,
                                   loop_factory=loop_factory, debug=debug,
                                   mode=mode)
    return result


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    from . import _win32

    def _new_waker(callback: Callable[[], object]) -> Any:
        return _win32.Win32Waker(callback)

    def _pump(until: Callable[[], bool]) -> bool:
        """Dispatches this thread's messages until ``until()``; True if it
        met (and consumed) a WM_QUIT, which also ends it."""
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        get_message = user32.GetMessageW
        get_message.argtypes = [ctypes.POINTER(wintypes.MSG), wintypes.HWND,
                                wintypes.UINT, wintypes.UINT]
        get_message.restype = wintypes.BOOL
        translate = user32.TranslateMessage
        translate.argtypes = [ctypes.POINTER(wintypes.MSG)]
        translate.restype = wintypes.BOOL
        dispatch = user32.DispatchMessageW
        dispatch.argtypes = [ctypes.POINTER(wintypes.MSG)]
        dispatch.restype = ctypes.c_ssize_t  # LRESULT
        msg = wintypes.MSG()
        while not until():
            r = get_message(ctypes.byref(msg), None, 0, 0)
            if r == -1:
                raise ctypes.WinError(ctypes.get_last_error())
            if r == 0:
                return True
            translate(ctypes.byref(msg))
            dispatch(ctypes.byref(msg))
        return False

else:

    def _new_waker(callback: Callable[[], object]) -> Any:
        raise RuntimeError("asyncio_guest.win32 needs Windows")

    def _pump(until: Callable[[], bool]) -> bool:
        raise RuntimeError("asyncio_guest.win32 needs Windows")


def async_handler(
    fn: Callable[..., Awaitable[Any]],
) -> Callable[..., "asyncio.Task[Any]"]:
    """Turn an ``async def`` into a plain callback (a window procedure's
    handler, a toolkit's command): each call starts ``fn(*args)`` as a task
    on the guest loop hosted by this thread and returns the task at once;
    an exception escaping it goes to ``sys.excepthook``, once.
    """
    return host.async_handler(fn, "asyncio_guest.win32.start() or .run()")
