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
  = 120) all go first, so a busy guest cannot freeze the GUI.  A host that
  keeps sources of a better priority ready all the time does not starve
  it: a slice later (:data:`BUSY_PROMOTE_MS`) the same tick is asked for
  again at ``PRIORITY_DEFAULT``, and the guest and those sources take
  turns.

Both can be changed per run (``priority=``, ``busy_priority=``).

Signals: PyGObject's ``GLib.MainLoop.run()`` (also ``Gtk.main()`` and
``Gio.Application.run()``) takes ``signal.set_wakeup_fd`` for its whole
duration (``gi._ossighelper.wakeup_on_signal``).  So by default the guest
never takes the wake-up fd (``host_uses_signal_set_wakeup_fd`` is True):
``loop.add_signal_handler`` still works, with Python-level handlers, which
PyGObject's wake-up fd lets run promptly.  During a guest run on the main
thread, SIGINT is the run's (``asyncio_guest._signals``; PyGObject then
leaves it alone): Ctrl-C -- the loop idle, a coroutine or a GLib callback busy --
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
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ContextManager, Optional, TypeVar

from gi.repository import GLib  # type: ignore[import-untyped, unused-ignore]

from . import _callbacks, host
from ._glib_await import _has_signal, gio, wait_signal
from .host import GuestRun

try:
    from . import _glib
except ImportError:  # built without GLib's headers
    _glib = None  # type: ignore[assignment, unused-ignore]


__all__ = ["start", "run", "signal_handler", "SignalTask", "modal",
           "wait_signal", "gio", "native_waker_available",
           "PRIORITY", "BUSY_PRIORITY", "BUSY_PROMOTE_MS", "DEFAULT_MODE",
           "GtkHost"]

T = TypeVar("T")

#: Priority of the ticks the backend thread asks for.
PRIORITY = GLib.PRIORITY_DEFAULT
#: Priority of a tick that continues a guest whose time slice ran out.
BUSY_PRIORITY = GLib.PRIORITY_DEFAULT_IDLE
#: How long a busy guest's continuation waits at :data:`BUSY_PRIORITY`
#: before it asks again at :data:`PRIORITY`: one slice, in milliseconds.
BUSY_PROMOTE_MS = 1


def native_waker_available() -> bool:
    """Whether the C GLib waker (``asyncio_guest._glib``) was built."""
    return _glib is not None


ENV_VAR = "ASYNCIO_GUEST_GLIB_WAKER"
MODE_ENV_VAR = host.MODE_ENV_VAR
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


class GtkHost(host.Host):
    """A GLib main context: woken by the C GLib waker (two ``GSource`` s;
    threadless: the same waker watching the fds with
    ``g_source_add_unix_fd``), or by ``GLib.Idle`` sources attached from
    the backend thread (the Python waker).  No exception escapes into
    GLib."""

    name = "asyncio_guest.gtk"
    default_mode = DEFAULT_MODE
    uses_wakeup_fd = True

    def __init__(self, context: Any = None, priority: int = PRIORITY,
                 busy_priority: int = BUSY_PRIORITY,
                 uses_wakeup_fd: Optional[bool] = None,
                 waker: Optional[str] = None, window: Any = None) -> None:
        super().__init__()
        self.context = _context_of(context)
        self.native = _pick_waker(waker, self.context, context is not None)
        self.priority = priority
        self.busy_priority = busy_priority
        if uses_wakeup_fd is not None:
            self.uses_wakeup_fd = bool(uses_wakeup_fd)
        self.window = window
        self.is_closed = False
        self.wakers: list[Any] = []
        self.mainloop: Any = None
        self._close_window = False
        self._destroyed = False

    def threadless_unavailable(self) -> Optional[str]:
        return None if self.native else (
            "the native GLib waker (waker='native')")

    def has_waker(self) -> bool:
        return self.native

    def _call(self, fn: Callable[[], object]) -> bool:
        # Returns False (GLib.SOURCE_REMOVE): one call per source.
        if not self.is_closed:
            try:
                fn()
            except BaseException as exc:  # never into GLib
                self.tick_raised(exc)
        return False

    def _attach(self, fn: Callable[[], object], priority: int) -> None:
        source = GLib.Idle(priority)
        source.set_callback(self._call, fn)
        source.attach(self.context)

    def post(self, fn: Callable[[], object]) -> None:
        """Thread-safe (the backend thread calls it, holding the GIL)."""
        self._attach(fn, self.priority)

    def post_soon(self, fn: Callable[[], object]) -> None:
        # At the busy priority, and again at the tick's a slice later
        # (BUSY_PROMOTE_MS): whichever runs first removes the other.
        busy = GLib.Idle(self.busy_priority)
        late = GLib.Timeout(BUSY_PROMOTE_MS)
        late.set_priority(self.priority)

        def once(*_: object) -> bool:
            busy.destroy()
            late.destroy()
            return self._call(fn)

        for source in (busy, late):
            source.set_callback(once)
            source.attach(self.context)

    def _waker(self, tick: host.Tick, fds: Optional[Sequence[int]]) -> Any:
        assert _glib is not None
        w = _glib.GLibWaker(lambda: self._call(tick), self.priority,
                            self.busy_priority,
                            fds=None if fds is None else list(fds))
        self.wakers.append(w)
        return w

    def waker(self, tick: host.Tick) -> Any:
        return self._waker(tick, None)

    def watcher(self, tick: host.Tick, fds: Sequence[int]) -> Any:
        return self._waker(tick, fds)

    def closed(self) -> None:
        self.is_closed = True
        for w in self.wakers:
            w.close()

    # -- run() --

    def connect_close(self, close: Callable[[], None]) -> Callable[[], None]:
        window = self.window
        if window is None:
            return host._nothing

        def on_close_request(*_: Any) -> bool:
            outcome = self._outcome
            if outcome is None or outcome.guest is None or outcome.guest.done:
                return False  # the run is over: let the window close
            self._close_window = True
            close()
            return True  # held back until the teardown completed

        def on_destroy(*_: Any) -> None:
            self._destroyed = True
            close()

        close_signal = ("close-request" if _has_signal(window, "close-request")
                        else "delete-event")
        ids = [window.connect(close_signal, on_close_request),
               window.connect("destroy", on_destroy)]

        def undo() -> None:
            for hid in ids:
                # A destroyed window has dropped its handlers already
                # (disconnecting again would make GLib warn).
                try:
                    if window.handler_is_connected(hid):
                        window.disconnect(hid)
                except Exception:
                    pass
        return undo

    def run_loop(self, until: Callable[[], bool]) -> None:
        self.mainloop = GLib.MainLoop(self.context)
        self.mainloop.run()

    def quit(self) -> None:
        if self.mainloop is not None:
            self.mainloop.quit()

    def pump(self) -> None:
        self.context.iteration(True)

    def catch_interrupts(self) -> ContextManager[object]:
        return host.interrupts_to_run()

    def after_run(self, closed: bool) -> None:
        if self._close_window and not self._destroyed:
            self.window.destroy()


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
    gtk_host = _host(async_fn, context=context, priority=priority,
                     busy_priority=busy_priority,
                     uses_wakeup_fd=host_uses_signal_set_wakeup_fd,
                     waker=waker)
    return host.start(gtk_host, async_fn, *args, done_callback=done_callback,
                      loop_factory=loop_factory, debug=debug, mode=mode)


def _host(async_fn: Any, **kwargs: Any) -> GtkHost:
    try:
        return GtkHost(**kwargs)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise


def run(
    async_fn: Callable[..., Awaitable[T]] | Any = None,
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

    * With no ``async_fn``, an event-driven program: it runs until
      ``window`` closes (or the GLib loop is quit), and returns None.

    Other arguments as for :func:`start`.
    """
    if async_fn is None and window is None:
        raise TypeError(
            "asyncio_guest.gtk.run() with no async function runs until its "
            "window closes: give window=")
    gtk_host = _host(async_fn, context=context,
                     uses_wakeup_fd=host_uses_signal_set_wakeup_fd,
                     waker=waker, window=window)
    result: Optional[T] = host.run(gtk_host, async_fn, *args,
                                   loop_factory=loop_factory, debug=debug,
                                   mode=mode)
    return result


class SignalTask(asyncio.Task):  # type: ignore[type-arg]
    """The task :func:`signal_handler` starts: an ``asyncio.Task`` that is
    false as a truth value, so that for a signal whose handler returns a
    boolean (``delete-event``, ``key-press-event``...) GTK goes on with its
    default handling, as for a handler returning None."""

    def __bool__(self) -> bool:
        return False


def signal_handler(
        fn: Callable[..., Awaitable[Any]]) -> Callable[..., "asyncio.Task[Any]"]:
    """Turn an ``async def`` into a GObject signal handler::

        button.connect("clicked", signal_handler(on_click))

    Each emission (or call) starts ``fn(*args)`` (the emitting widget, the
    signal's arguments, then any user data given to ``connect``) as a task
    on the guest loop hosted by this thread and returns the task at once (a
    :class:`SignalTask`: false as a truth value, so for signals with a
    boolean result such as ``delete-event`` the default handling goes on).
    Trailing arguments the function cannot take are dropped (``async def
    on_click()`` works too).  An exception escaping the task goes to
    ``sys.excepthook`` (where PyGObject sends one escaping an ordinary
    handler), once, with the coroutine's traceback; a cancelled task
    reports nothing.  Tasks still running when the run ends are cancelled
    by its teardown.

    Raises:
        TypeError: ``fn`` is not an async function (at decoration).
        RuntimeError: (when the signal fires) no guest run on this thread.
    """
    _callbacks.require_async(fn, "signal_handler")
    handler = host.async_handler(fn, "asyncio_guest.gtk.start() or .run()",
                                 task_type=SignalTask)
    drop = _callbacks.dropping_extra(handler, _callbacks.positional(fn))

    def call(*args: Any) -> "asyncio.Task[Any]":
        task: asyncio.Task[Any] = drop(*args)
        return task

    _callbacks.copy_names(call, fn)
    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


async def modal(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a blocking dialog function from a GLib callback and await its
    result: ``await guest_gtk.modal(dialog.run)`` (GTK 3).  It runs from a
    GLib idle source (not inside a guest tick), so the dialog's nested
    loop keeps the guest running; its result (or exception) comes back
    here.  Cancelling this coroutine leaves the dialog open."""
    result: T = await host.modal(fn, *args, **kwargs)
    return result

