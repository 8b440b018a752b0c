"""GLib / GTK (3 or 4, through PyGObject) as the host loop.

Wake-up (``waker=``):

* ``"native"`` (the default where ``asyncio_guest._glib`` was built, i.e.
  GLib's headers were present at install time): the C core's GLib waker.
  Two persistent ``GSource`` s live on the host's ``GMainContext``; the
  backend thread makes one ready with ``g_source_set_ready_time(s, 0)`` —
  thread-safe, wakes a context blocked in ``poll()``, allocates nothing and
  needs no GIL.  The source's dispatch takes the GIL on the host thread and
  runs the tick.  It serves the thread-default context (the one
  ``context=None`` picks).
* ``"python"``: the backend thread takes the GIL and attaches a one-shot
  ``GLib.Idle`` source through PyGObject (``g_source_attach`` is thread-safe
  too).  Used for an explicitly given context that is not the
  thread-default one, and where ``_glib`` is missing.

``"auto"`` (default) picks the first that applies; the environment variable
``ASYNCIO_GUEST_GLIB_WAKER`` (``auto``, ``native``, ``python``) changes the
default.  Either way no exception ever escapes into GLib.

Priorities (smaller runs first; GLib dispatches only the ready sources of
the best priority in each iteration):

* A tick asked for by the backend thread (the guest's I/O is ready, one of
  its timers is due, host code scheduled guest work) is posted at
  ``GLib.PRIORITY_DEFAULT`` (0): the priority of GDK's input events and of
  ``GLib.timeout_add``, so the guest is served as promptly as they are, in
  the same iterations, but never before them.
* A tick that continues a guest whose time slice was used up (the guest
  has more ready work: a flood) is posted, from the host thread, at
  ``GLib.PRIORITY_DEFAULT_IDLE`` (200): GTK's input events, timeouts,
  layout and redraws (``GDK_PRIORITY_REDRAW`` = ``PRIORITY_HIGH_IDLE + 20``
  = 120) all go first, so a busy guest cannot freeze the GUI.  (A host that
  keeps sources of a better priority ready all the time starves a busy
  guest meanwhile, as it starves GLib's own idle handlers.)

Both can be changed per run (``priority=``, ``busy_priority=``).

Signals: PyGObject's ``GLib.MainLoop.run()`` (also ``Gtk.main()`` and
``Gio.Application.run()``) takes ``signal.set_wakeup_fd`` for its whole
duration (``gi._ossighelper.wakeup_on_signal``).  So by default the guest
never takes the wake-up fd (``host_uses_signal_set_wakeup_fd`` is True):
``loop.add_signal_handler`` still works, with Python-level handlers, which
PyGObject's wake-up fd lets run promptly.  During a guest run on the main
thread, SIGINT is the run's (``_run._sigint``; PyGObject then leaves it
alone): Ctrl-C -- the loop idle, a coroutine or a GLib callback busy --
cancels the main task, completes the teardown, then :func:`run` raises
``KeyboardInterrupt``.

Typical use (GTK 4; GTK 3 alike)::

    import gi
    gi.require_version("Gtk", "4.0")
    from gi.repository import Gtk
    from asyncio_guest import gtk as guest_gtk

    @guest_gtk.signal_handler
    async def on_click(button):
        await asyncio.sleep(1)
        button.set_label("clicked a second ago")

    async def main():
        ...  # asyncio code; widgets may be used here and in handlers

    window = Gtk.Window()
    button = Gtk.Button(label="click")
    button.connect("clicked", on_click)
    window.set_child(button)        # GTK 3: window.add(button)
    window.present()                # GTK 3: window.show_all()
    guest_gtk.run(main, window=window)  # until main ends or window closes
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from gi.repository import (  # type: ignore[import-untyped, unused-ignore]
    GLib, GObject)

from . import _run
from ._run import GuestRun

try:
    from . import _glib
except ImportError:  # built without GLib's headers
    _glib = None  # type: ignore[assignment, unused-ignore]

__all__ = ["start", "run", "signal_handler", "native_waker_available",
           "PRIORITY", "BUSY_PRIORITY"]

T = TypeVar("T")

#: Priority of the ticks the backend thread asks for.
PRIORITY = GLib.PRIORITY_DEFAULT
#: Priority of a tick that continues a guest whose time slice ran out.
BUSY_PRIORITY = GLib.PRIORITY_DEFAULT_IDLE


class _Poster:
    """Runs callables on the thread iterating ``context``, one idle source
    per call."""

    def __init__(self, context: Any, priority: int, busy_priority: int) -> None:
        self.context = context
        self.priority = priority
        self.busy_priority = busy_priority
        self.closed = False
        self.on_interrupt: Optional[Callable[[BaseException], None]] = None

    def _attach(self, fn: Callable[[], object], priority: int) -> None:
        source = GLib.Idle(priority)
        source.set_callback(self._call, fn)
        source.attach(self.context)

    def post(self, fn: Callable[[], object]) -> None:
        """Thread-safe (the backend thread calls it, holding the GIL)."""
        self._attach(fn, self.priority)

    def post_busy(self, fn: Callable[[], object]) -> None:
        """Host thread: the guest used up its slice and has more to do."""
        self._attach(fn, self.busy_priority)

    def _call(self, fn: Callable[[], object]) -> bool:
        # Returns False (GLib.SOURCE_REMOVE): one call per source.
        if self.closed:
            return False
        try:
            fn()
        except BaseException as exc:  # never into GLib
            self._report(exc)
        return False

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            # The guest has cancelled its main task already.
            if self.on_interrupt is not None:
                self.on_interrupt(exc)
                return
        try:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass

    def close(self) -> None:
        self.closed = True


def native_waker_available() -> bool:
    """Whether the C GLib waker (``asyncio_guest._glib``) was built."""
    return _glib is not None


ENV_VAR = "ASYNCIO_GUEST_GLIB_WAKER"
MODE_ENV_VAR = _run.MODE_ENV_VAR
#: The default mode of this host (see :func:`start`).
DEFAULT_MODE = "threadless"


def _pick_waker(waker: Optional[str], ctx: Any, explicit: bool) -> bool:
    """True for the native waker."""
    if waker is None:
        waker = os.environ.get(ENV_VAR) or "auto"
    if waker not in ("auto", "native", "python"):
        raise ValueError(
            "asyncio_guest.gtk: waker must be 'auto', 'native' or 'python', "
            f"not {waker!r}")
    if waker == "python":
        return False
    reason = None
    if _glib is None:
        reason = ("asyncio_guest._glib was not built (GLib's headers were "
                  "missing at install time: Debian libglib2.0-dev)")
    elif explicit and ctx != GLib.MainContext.ref_thread_default():
        reason = ("it serves this thread's thread-default GLib.MainContext "
                  "only, and context= is another one")
    if reason is None:
        return True
    if waker == "native":
        raise RuntimeError(f"asyncio_guest.gtk: no native waker: {reason}")
    return False


def _context_of(context: Any) -> Any:
    if context is None:
        return GLib.MainContext.ref_thread_default()
    if not isinstance(context, GLib.MainContext):
        raise TypeError(
            "asyncio_guest.gtk: context must be a GLib.MainContext, got "
            f"{type(context).__name__}")
    return context


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    context: Any = None,
    priority: int = PRIORITY,
    busy_priority: int = BUSY_PRIORITY,
    host_uses_signal_set_wakeup_fd: Optional[bool] = None,
    waker: Optional[str] = None,
    mode: Optional[str] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the GLib main loop.

    Call it on the thread that runs (or will run) the GLib loop of
    ``context``, then run GLib as usual (``GLib.MainLoop().run()``,
    ``Gtk.main()``, ``app.run()``).  Returns at once.

    Args:
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on the GLib thread with the finished main
            task, after the teardown (see
            :func:`asyncio_guest.start_guest_run`).  Default: log a failed
            main task.
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``; ``uvloop.new_event_loop`` works).
        debug: if not None, the loop's debug mode.
        context: the ``GLib.MainContext`` whose loop hosts the guest
            (default: this thread's default context, i.e. the global default
            one unless a thread-default context was pushed).
        priority: GLib priority of the ticks the backend thread posts.
        busy_priority: GLib priority of the tick that continues a guest
            whose time slice ran out.
        host_uses_signal_set_wakeup_fd: None (default) means True, because
            PyGObject's ``MainLoop.run()`` takes the wake-up fd (see the
            module's documentation).  False lets the guest take it, for a
            host loop that does not.
        waker: ``"auto"``, ``"native"`` or ``"python"``: how the backend
            thread wakes GLib (see the module's documentation).  Default:
            ``$ASYNCIO_GUEST_GLIB_WAKER``, else ``"auto"``.
            ``"native"`` raises RuntimeError where it cannot serve.
        mode: ``"threadless"``: no backend thread; GLib's own ``poll()``
            watches the loop's backend fd (``g_source_add_unix_fd``) and
            its next deadline (the source's ready time).  ``"thread"``: a
            backend thread waits on the fd and wakes GLib.  ``"auto"``
            (default, or ``$ASYNCIO_GUEST_MODE``): :data:`DEFAULT_MODE`
            with the native waker, else ``"thread"``.
    """
    try:
        ctx = _context_of(context)
        native = _pick_waker(waker, ctx, context is not None)
        threadless = _run.pick_mode(
            "asyncio_guest.gtk", mode, DEFAULT_MODE,
            None if native else "the native GLib waker (waker='native')")
        poster = _Poster(ctx, priority, busy_priority)
        if host_uses_signal_set_wakeup_fd is None:
            host_uses_signal_set_wakeup_fd = True
    except BaseException:
        _run.close_if_coroutine(async_fn)
        raise
    wakers: list[Any] = []

    def native_waker(runner: Any) -> Any:
        assert _glib is not None
        w = _glib.GLibWaker(functools.partial(poster._call, runner._tick),
                            priority, busy_priority,
                            fds=runner.watch_fds() if threadless else None)
        wakers.append(w)
        return w

    def post_busy(fn: Callable[[], object]) -> None:
        wakers[0].post_soon()

    def on_closed() -> None:
        poster.close()
        for w in wakers:
            w.close()

    runner = _run._Runner(
        async_fn,
        args,
        post=None if native else poster.post,
        post_soon=post_busy if native else poster.post_busy,
        done_callback=done_callback or _run.report_main_task,
        loop_factory=loop_factory,
        host_uses_wakeup_fd=bool(host_uses_signal_set_wakeup_fd),
        debug=debug,
        native_waker=native_waker if native else None,
        on_closed=on_closed,
    )
    runner.gtk_poster = poster  # type: ignore[attr-defined]
    return GuestRun(runner)


def _has_signal(obj: Any, name: str) -> bool:
    return bool(GObject.signal_lookup(name, type(obj).__gtype__))


def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    window: Any = None,
    context: Any = None,
    host_uses_signal_set_wakeup_fd: Optional[bool] = None,
    waker: Optional[str] = None,
    mode: Optional[str] = None,
) -> Optional[T]:
    """Run ``async_fn(*args)`` as a guest of a ``GLib.MainLoop``; the
    ``asyncio.run`` of a GTK (3 or 4) program.

    * When the main coroutine ends, the GLib loop is quit and its result is
      returned (its exception re-raised).  Windows are left as they are.
    * ``window`` (optional, a ``Gtk.Window``): when the user closes it
      (GTK 3 ``delete-event``, GTK 4 ``close-request``) the close is held
      back, the main task is cancelled and, once the teardown completed,
      the window is destroyed and ``run`` returns ``None``.  If other code
      destroys it, the main task is cancelled likewise.
    * If the GLib loop is quit by other code, or Ctrl-C stops it, the main
      task is cancelled and the teardown completed (GLib events are
      processed meanwhile) before ``run`` returns ``None`` or re-raises the
      ``KeyboardInterrupt``.

    Other arguments as for :func:`start`.
    """
    ctx = _context_of(context)
    mainloop = GLib.MainLoop(ctx)
    outcome: dict[str, Any] = {}

    def done(task: "asyncio.Task[Any]") -> None:
        outcome["task"] = task
        mainloop.quit()

    def cancel() -> None:
        # Only the first close cancels: the clean-up it starts must not be
        # interrupted by a second one (asyncio.run treats Ctrl-C so).
        if not outcome.get("closed") and not guest.done:
            outcome["closed"] = True
            if not guest.task.done() and not guest.task.cancelling():
                guest.cancel()

    def on_close_request(*_: Any) -> bool:
        if guest.done:
            return False  # the run is over: let the window close
        outcome["close_window"] = True
        cancel()
        return True  # held back until the teardown completed

    def on_destroy(*_: Any) -> None:
        outcome["destroyed"] = True
        cancel()

    def on_interrupt(exc: BaseException) -> None:
        outcome.setdefault("interrupt", exc)
        outcome["closed"] = True
        mainloop.quit()

    guest = start(async_fn, *args, done_callback=done,
                  loop_factory=loop_factory, debug=debug, context=ctx,
                  host_uses_signal_set_wakeup_fd=host_uses_signal_set_wakeup_fd,
                  waker=waker, mode=mode)
    guest._runner.gtk_poster.on_interrupt = on_interrupt  # type: ignore
    handler_ids: list[int] = []
    if window is not None:
        close_signal = ("close-request" if _has_signal(window, "close-request")
                        else "delete-event")
        handler_ids.append(window.connect(close_signal, on_close_request))
        handler_ids.append(window.connect("destroy", on_destroy))
    try:
        if not guest.done:
            with _run.interrupts_to_run():
                mainloop.run()
    finally:
        try:
            if not guest.done:
                # The GLib loop ended first (quit by other code, Ctrl-C):
                # finish the teardown by iterating the context, where our
                # ticks arrive.
                cancel()
                while not guest.done:
                    ctx.iteration(True)
        finally:
            if window is not None:
                for hid in handler_ids:
                    # A destroyed window has dropped its handlers already
                    # (disconnecting again would make GLib warn).
                    try:
                        if window.handler_is_connected(hid):
                            window.disconnect(hid)
                    except Exception:
                        pass
                if outcome.get("close_window") and not outcome.get("destroyed"):
                    window.destroy()
    interrupt = outcome.get("interrupt")
    if interrupt is not None:
        raise interrupt
    task = outcome["task"]
    if task.cancelled() and outcome.get("closed"):
        return None
    result: Optional[T] = task.result()
    return result


# -- signal handlers ----------------------------------------------------------

def _positional_total(fn: Any) -> Optional[int]:
    """How many positional arguments ``fn`` takes; None for ``*args`` or no
    signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    total = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
    return total


def signal_handler(fn: Callable[..., Awaitable[Any]]) -> Callable[..., None]:
    """Turn an ``async def`` into a GObject signal handler::

        button.connect("clicked", signal_handler(on_click))

    Each emission schedules ``fn(*args)`` (the emitting widget, the
    signal's arguments, then any user data given to ``connect``) as a task
    on the guest loop hosted by this thread and returns None at once (so,
    for signals with a boolean result such as ``delete-event``, the default
    handling goes on).  Trailing arguments the function cannot take are
    dropped (``async def on_click()`` works too).  Exceptions are reported
    through the guest loop's exception handler; tasks still running when
    the run ends are cancelled by its teardown.

    Raises:
        TypeError: ``fn`` is not an async function (at decoration).
        RuntimeError: (when the signal fires) no guest run on this thread.
    """
    target = fn
    while hasattr(target, "func"):  # functools.partial
        target = target.func
    if not (inspect.iscoroutinefunction(target)
            or inspect.iscoroutinefunction(getattr(target, "__call__", None))):
        raise TypeError(
            f"signal_handler: {getattr(fn, '__qualname__', repr(fn))} is not "
            "an async function; decorate an 'async def'")
    handler = _run.async_handler(fn, "asyncio_guest.gtk.start() or .run()")
    total = _positional_total(fn)

    def call(*args: Any) -> None:
        if total is not None and len(args) > total:
            args = args[:total]
        handler(*args)

    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(call, attr, getattr(fn, attr))
        except AttributeError:
            pass
    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call

