"""Qt (PySide6, PyQt6 or PyQt5) as the host loop.

Two modes (``mode=``, or ``$ASYNCIO_GUEST_MODE``; default
:data:`DEFAULT_MODE`): ``"thread"``, a backend thread waits on the loop's
backend fd and wakes Qt; ``"threadless"``, no thread of ours: Qt's own
event loop watches the backend fd and the loop's next deadline.

Two wakers (``waker=``, or ``$ASYNCIO_GUEST_QT_WAKER``; default
``"auto"``: GLib's where it can serve):

* ``"glib"``.  On Linux Qt's event dispatcher is GLib's
  (``QEventDispatcherGlib``: every Qt event loop is a
  ``g_main_context_iteration()`` of the default ``GMainContext``), so the C
  core's GLib waker serves Qt as it serves GTK (:mod:`asyncio_guest.gtk`):
  a ``GSource`` made ready from the backend thread with
  ``g_source_set_ready_time`` (thread-safe, no GIL), or, threadless,
  holding the fds (``g_source_add_unix_fd``) and the deadline as its ready
  time.  Ticks run at ``G_PRIORITY_DEFAULT``, the priority of Qt's posted
  events, timers, socket notifiers and window system events; a tick that
  continues a busy guest at ``G_PRIORITY_DEFAULT_IDLE``, after all of them
  (a due ``QTimer`` fires before the guest continues), and, if it has not
  run a slice later, at ``G_PRIORITY_DEFAULT`` (an application that posts
  events from its events takes turns with the guest instead of starving
  it).  Checked at start:
  the dispatcher must inherit ``QEventDispatcherGlib``.
* ``"qt"`` (where Qt does not run on GLib: ``QT_NO_GLIB=1``, Windows,
  macOS): thread mode posts a custom :class:`QEvent` to a small receiver
  ``QObject`` on the GUI thread (``QCoreApplication.postEvent()`` is
  thread-safe; a ``QueuedConnection`` signal was measured too, and was
  slower); threadless mode uses one ``QSocketNotifier`` per fd, enabled only
  while the guest waits, and a single-shot ``PreciseTimer`` ``QTimer`` for
  the deadline, rounded up to the millisecond.  A busy guest continues
  through a zero-time ``QTimer`` (not a posted event, which Qt delivers
  before timers): the host's timers that fell due first fire first.

Either way ticks are delivered by every Qt event loop on the GUI thread,
including the nested ones of modal dialogs (``QDialog.exec()``), menus and
``processEvents()``, and no exception ever escapes into Qt.

Which binding: the one given (``binding=`` or, for ``start``/``run``, the
binding of ``app=``), else the environment variable ``ASYNCIO_GUEST_QT``
(``PySide6``, ``PyQt6`` or ``PyQt5``), else the binding already imported
(one with a live application first), else QtPy's ``QT_API`` (``pyside6``,
``pyqt6``, ``pyqt5``), else the first importable of PySide6, PyQt6, PyQt5
(:func:`resolve_binding`).

Signals: Qt does not take ``signal.set_wakeup_fd``; so by default the guest
loop may (``loop.add_signal_handler`` works as in ``asyncio.run``).  If the
application set a wake-up fd itself before the run (the usual
``QSocketNotifier`` idiom for Ctrl-C in Qt), the run leaves it alone
(``host_uses_signal_set_wakeup_fd`` is then True: see
:func:`asyncio_guest.start_guest_run`).

Typical use::

    from PySide6.QtWidgets import QApplication, QPushButton
    from asyncio_guest import qt as guest_qt

    @guest_qt.async_slot
    async def on_click():
        await asyncio.sleep(1)
        button.setText("clicked a second ago")

    async def main():
        ...  # asyncio code; widgets may be used here and in slots

    app = QApplication([])
    button = QPushButton("click")
    button.clicked.connect(on_click)
    button.show()
    guest_qt.run(main)   # returns when main ends or the last window closes
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ContextManager, Optional, TypeVar

from . import _callbacks, _qt_objects, host
from ._qt_binding import (BINDINGS, ENV_VAR, QT_API_VAR, Qt, binding_of_app,
                          canonical, qt as _qt, resolve_binding)
from .host import GuestRun

try:
    from . import _glib
except ImportError:  # built without GLib's headers
    _glib = None  # type: ignore[assignment, unused-ignore]

__all__ = ["start", "run", "async_slot", "modal", "exec_dialog", "wait_signal",
           "resolve_binding", "BINDINGS", "ENV_VAR", "QT_API_VAR",
           "DEFAULT_MODE", "MODE_ENV_VAR", "WAKER_ENV_VAR", "QtHost"]

T = TypeVar("T")

MODE_ENV_VAR = host.MODE_ENV_VAR
#: The default mode of this host (see :func:`start`).
DEFAULT_MODE = "threadless"
#: The environment variable that picks the waker (``auto``, ``glib``,
#: ``qt``) when ``waker=`` is not given.
WAKER_ENV_VAR = "ASYNCIO_GUEST_QT_WAKER"
#: GLib priorities of the GLib waker's ticks (G_PRIORITY_DEFAULT) and of
#: a tick that continues a busy guest (G_PRIORITY_DEFAULT_IDLE).
GLIB_PRIORITY = 0
GLIB_BUSY_PRIORITY = 200


def _application(qt: Qt, app: Any) -> Any:
    core = qt.QtCore
    if app is None:
        app = core.QCoreApplication.instance()
        if app is None:
            raise RuntimeError(
                f"asyncio_guest.qt: no {qt.name} QApplication exists; create "
                "one first (app = QApplication(sys.argv)), then start the "
                "guest run")
    elif not isinstance(app, core.QCoreApplication):
        raise TypeError(
            f"asyncio_guest.qt: app must be a {qt.name} QCoreApplication / "
            f"QApplication, got {type(app).__module__}.{type(app).__name__}")
    if core.QThread.currentThread() != app.thread():
        raise RuntimeError(
            "asyncio_guest.qt: call start()/run() on the thread of the Qt "
            "application (the GUI thread)")
    return app


def _load(binding: Optional[str], app: Any) -> tuple[Qt, Any]:
    if app is not None:
        of_app = binding_of_app(app)
        if of_app is None:
            raise TypeError(
                "asyncio_guest.qt: app must be a QApplication of PySide6, "
                f"PyQt6 or PyQt5, got {type(app).__module__}."
                f"{type(app).__name__}")
        if binding is not None and canonical(binding, "binding") != of_app:
            raise ValueError(
                f"asyncio_guest.qt: binding={binding!r} but app is a "
                f"{of_app} application")
        binding = of_app
    qt = _qt(resolve_binding(binding))
    return qt, _application(qt, app)


def _glib_unavailable(qt: Qt, app: Any) -> Optional[str]:
    """Why the GLib waker cannot serve ``app``'s event loop (None: it
    can): it needs ``asyncio_guest._glib`` and Qt's event dispatcher on the
    application's thread to be GLib's (``QEventDispatcherGlib``, Qt's
    default on Linux and the BSDs)."""
    if _glib is None:
        return ("asyncio_guest._glib was not built (GLib's headers were "
                "missing at install time: Debian libglib2.0-dev)")
    dispatcher = qt.QtCore.QAbstractEventDispatcher.instance(app.thread())
    if dispatcher is None or not dispatcher.inherits("QEventDispatcherGlib"):
        name = ("none" if dispatcher is None
                else dispatcher.metaObject().className())
        return (f"Qt's event dispatcher is {name}, not GLib's (Qt built "
                "without GLib, QT_NO_GLIB set, or not Linux)")
    return None


def _pick_waker(waker: Optional[str], qt: Qt, app: Any) -> bool:
    """True for the GLib waker."""
    if waker is None:
        waker = os.environ.get(WAKER_ENV_VAR) or "auto"
    if waker not in ("auto", "glib", "qt"):
        raise ValueError("asyncio_guest.qt: waker must be 'auto', 'glib' or "
                         f"'qt', not {waker!r}")
    if waker == "qt":
        return False
    reason = _glib_unavailable(qt, app)
    if reason is not None and waker == "glib":
        raise RuntimeError(f"asyncio_guest.qt: no GLib waker: {reason}")
    return reason is None


class QtHost(host.Host):
    """Qt's event loop.  Where Qt runs on GLib (Linux), the C core's GLib
    waker wakes it, as it wakes GTK: a ``GSource`` on the default
    ``GMainContext``, made ready from the backend thread without the GIL
    (thread mode), or watching the fds and the deadline itself
    (threadless).  Elsewhere, a ``QEvent`` posted to a receiver ``QObject``
    (thread mode), or ``QSocketNotifier`` s and a ``QTimer`` (threadless).
    """

    name = "asyncio_guest.qt"
    default_mode = DEFAULT_MODE

    def __init__(self, binding: Optional[str] = None, app: Any = None,
                 uses_wakeup_fd: Optional[bool] = None,
                 waker: Optional[str] = None) -> None:
        super().__init__()
        self.qt, self.app = _load(binding, app)
        # None: the application's own wake-up fd, if it set one.
        self.uses_wakeup_fd = (host.wakeup_fd_in_use() if uses_wakeup_fd
                               is None else bool(uses_wakeup_fd))
        #: True: the GLib waker; False: Qt's own objects.
        self.glib = _pick_waker(waker, self.qt, self.app)
        receiver_class, self._watcher_class = _qt_objects.classes(self.qt)
        self.receiver: Any = receiver_class(self.app, self.tick_raised)
        #: Threadless mode's watcher (a Qt one or a GLib one), or None.
        self.qt_watcher: Any = None

    def post(self, fn: Callable[[], object]) -> None:
        self.receiver.post(fn)

    def post_soon(self, fn: Callable[[], object]) -> None:
        self.receiver.post_soon(fn)

    def has_waker(self) -> bool:
        return self.glib

    def waker(self, tick: host.Tick) -> Any:
        return self._glib_waker(tick, None)

    def watcher(self, tick: host.Tick, fds: Sequence[int]) -> Any:
        if self.glib:
            self.qt_watcher = self._glib_waker(tick, fds)
        else:
            self.qt_watcher = self._watcher_class(self.receiver, fds, tick,
                                                  self.tick_raised)
        return self.qt_watcher

    def _glib_waker(self, tick: host.Tick,
                    fds: Optional[Sequence[int]]) -> Any:
        """Qt's GLib sources are at G_PRIORITY_DEFAULT (posted events,
        timers, socket notifiers, window system events): the ticks the
        backend asks for go at that priority, in the same iterations; a
        tick that continues a busy guest at G_PRIORITY_DEFAULT_IDLE, after
        all of them, and at G_PRIORITY_DEFAULT a slice later if it has not
        run by then (the C waker's AG_GLIB_BUSY_PROMOTE_US)."""
        assert _glib is not None
        return _glib.GLibWaker(self.guard(tick), GLIB_PRIORITY,
                               GLIB_BUSY_PRIORITY,
                               fds=None if fds is None else list(fds))

    def call_soon(self, fn: Callable[[], object]) -> None:
        self.qt.QtCore.QTimer.singleShot(0, fn)  # outside any tick

    def closed(self) -> None:
        if self.qt_watcher is not None:
            self.qt_watcher.close()
        self.receiver.close()

    def interrupted(self, exc: BaseException) -> None:
        # start() without run(): the guest's main task is cancelled
        # already; stop the Qt loop, as Ctrl-C stops a program.
        app = self.qt.QtCore.QCoreApplication.instance()
        if app is not None:
            app.exit(1)

    # -- run() --

    def connect_close(self, close: Callable[[], None]) -> Callable[[], None]:
        def on_signal(*_: Any) -> None:
            close()

        connected = []
        for name in ("lastWindowClosed", "aboutToQuit"):
            sig = getattr(self.app, name, None)
            if sig is not None:
                sig.connect(on_signal)
                connected.append(sig)

        def undo() -> None:
            for sig in connected:
                try:
                    sig.disconnect(on_signal)
                except (RuntimeError, TypeError):
                    pass  # the application is gone
        return undo

    def run_loop(self, until: Callable[[], bool]) -> None:
        exec_ = getattr(self.app, "exec", None) or self.app.exec_
        exec_()

    def quit(self) -> None:
        self.app.exit(0)

    def pump(self) -> None:
        self.app.processEvents(self.qt.wait_flags)

    def catch_interrupts(self) -> ContextManager[object]:
        return host.interrupts_to_run()


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    app: Any = None,
    binding: Optional[str] = None,
    host_uses_signal_set_wakeup_fd: Optional[bool] = None,
    mode: Optional[str] = None,
    waker: Optional[str] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the Qt event loop.

    Call it on the GUI thread, once the application object exists, then
    run Qt as usual (``app.exec()``).  Returns at once.

    Args:
        async_fn: an ``async def`` function, or one coroutine (no args).
        done_callback: called on the GUI thread with the finished main task,
            after the teardown (see :func:`asyncio_guest.start_guest_run`).
            Default: log a failed main task.
        loop_factory: makes the guest loop (default
            ``asyncio.new_event_loop``; ``uvloop.new_event_loop`` works).
        debug: if not None, the loop's debug mode.
        app: the ``QApplication``/``QCoreApplication`` (default: the
            instance of the binding in use).
        binding: ``"PySide6"``, ``"PyQt6"`` or ``"PyQt5"`` (default: see
            :func:`resolve_binding`).
        host_uses_signal_set_wakeup_fd: None (default) means True if a
            wake-up fd is set when the run starts (the application's own),
            else False.
        mode: ``"threadless"``: no backend thread; Qt's event loop watches
            the loop's backend fd with ``QSocketNotifier`` s and its next
            deadline with a single-shot ``QTimer``.  ``"thread"``: a backend
            thread waits on the fd and wakes Qt with ``postEvent``.
            ``"auto"`` (default, or ``$ASYNCIO_GUEST_MODE``):
            :data:`DEFAULT_MODE`.  See the module's documentation.
        waker: ``"glib"``: the C core's GLib waker, where Qt's event
            dispatcher is GLib's (Linux): a ``GSource`` on the default
            ``GMainContext``, woken without the GIL; threadless, the same
            source watches the fds and the deadline.  ``"qt"``: Qt's own
            objects (``postEvent``; ``QSocketNotifier`` s and a
            ``QTimer``).  ``"auto"`` (default, or ``$ASYNCIO_GUEST_QT_WAKER``):
            GLib's where it can serve, else Qt's.

    Raises:
        RuntimeError: no application object; not on its thread; this thread
            already hosts a guest run; ``waker="glib"`` where Qt does not
            run on GLib.
        TypeError: ``app`` is not a Qt application; ``async_fn`` is not an
            async function.
        ValueError: an unknown ``mode``, ``binding`` or ``waker``.
    """
    qt_host = _host(async_fn, app, binding, host_uses_signal_set_wakeup_fd,
                    waker)
    return host.start(qt_host, async_fn, *args, done_callback=done_callback,
                      loop_factory=loop_factory, debug=debug, mode=mode)


def _host(async_fn: Any, app: Any, binding: Optional[str],
          uses_wakeup_fd: Optional[bool], waker: Optional[str]) -> QtHost:
    try:
        return QtHost(binding, app, uses_wakeup_fd, waker)
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise


def run(
    async_fn: Callable[..., Awaitable[T]] | Any = None,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    app: Any = None,
    binding: Optional[str] = None,
    host_uses_signal_set_wakeup_fd: Optional[bool] = None,
    mode: Optional[str] = None,
    waker: Optional[str] = None,
) -> Optional[T]:
    """Run ``async_fn(*args)`` as a guest of ``app.exec()``; the
    ``asyncio.run`` of a Qt program.

    * When the main coroutine ends, the Qt event loop is quit and its result
      returned (its exception re-raised).
    * When the last window is closed (``lastWindowClosed``) or the Qt loop
      quits for another reason (``app.quit()``), the main task is cancelled;
      the teardown completes (Qt events are processed meanwhile) before
      ``run`` returns ``None``.
    * A ``KeyboardInterrupt``/``SystemExit`` raised in the guest cancels the
      main task, quits Qt and is re-raised after the teardown.

    Arguments as for :func:`start`.  Windows are left as they are.
    """
    qt_host = _host(async_fn, app, binding, host_uses_signal_set_wakeup_fd,
                    waker)
    result: Optional[T] = host.run(qt_host, async_fn, *args,
                                   loop_factory=loop_factory, debug=debug,
                                   mode=mode)
    return result


def async_slot(
        fn: Callable[..., Awaitable[Any]]) -> Callable[..., "asyncio.Task[Any]"]:
    """Turn an ``async def`` into a Qt slot: connect the result to a signal.

    Each emission (or call) starts ``fn(*args)`` as a task on the guest loop
    hosted by this thread and returns the task at once.  Signal arguments
    the function cannot take are dropped from the end, as Qt does for C++
    slots (so ``clicked`` works with ``async def on_click(self)`` and with
    ``async def on_click(self, checked)``).  An exception escaping the task
    goes to ``sys.excepthook`` (where Qt bindings send one escaping an
    ordinary slot), once, with the coroutine's traceback; a cancelled task
    reports nothing.  Tasks still running when the run ends are cancelled
    by its teardown.  Works on functions and methods.

    Raises:
        TypeError: ``fn`` is not an async function (at decoration).
        RuntimeError: (when the signal fires) no guest run on this thread.
    """
    _callbacks.require_async(fn, "async_slot")
    handler = host.async_handler(fn, "asyncio_guest.qt.start() or .run()")
    arity = _callbacks.positional(fn)
    # Extra signal arguments the function cannot take are dropped (a
    # binding may pass more than the slot's parameters, e.g. through *args
    # or functools.partial).
    slot = _callbacks.with_arity(_callbacks.dropping_extra(handler, arity),
                                 arity)
    _callbacks.copy_names(slot, handler)
    slot.__wrapped__ = fn  # type: ignore[attr-defined]
    return slot


async def modal(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a blocking dialog function from a Qt callback and await its
    result: ``await guest_qt.modal(QMessageBox.question, w, "Quit",
    "Really?")`` or ``await guest_qt.modal(dialog.exec)``.  It runs from a
    zero-time ``QTimer`` (not inside a guest tick), so the dialog's nested
    loop keeps the guest running; its result (or exception) comes back
    here.  Cancelling this coroutine leaves the dialog open.  Without a
    nested loop: :func:`exec_dialog`."""
    result: T = await host.modal(fn, *args, **kwargs)
    return result


async def exec_dialog(dialog: Any) -> int:
    """Show ``dialog`` (a ``QDialog``) window-modal with ``open()`` -- no
    nested loop -- and return its result code when ``finished`` is
    emitted (``QDialog.DialogCode``: 1 accepted, 0 rejected).  Cancelling
    the coroutine rejects the dialog."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not fut.done():
            fut.set_result(int(code))

    dialog.finished.connect(finished)
    try:
        dialog.open()
        return await fut
    except asyncio.CancelledError:
        dialog.reject()
        raise
    finally:
        dialog.finished.disconnect(finished)


async def wait_signal(signal: Any, *, timeout: Optional[float] = None) -> Any:
    """Wait for the next emission of the bound Qt ``signal``
    (``button.clicked``) and return its arguments: one value, a tuple for
    several, None for none (as the binding passes them).  ``TimeoutError``
    after ``timeout`` seconds.  The connection is removed however it ends
    (emitted, timed out, cancelled)."""
    if not hasattr(signal, "connect") or not hasattr(signal, "disconnect"):
        raise TypeError(f"wait_signal() needs a bound Qt signal, not "
                        f"{type(signal).__name__}")
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def emitted(*args: Any) -> None:
        if not fut.done():
            fut.set_result(None if not args else
                           args[0] if len(args) == 1 else args)

    signal.connect(emitted)
    try:
        async with asyncio.timeout(timeout):
            return await fut
    finally:
        signal.disconnect(emitted)
