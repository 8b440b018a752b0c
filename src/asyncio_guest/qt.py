"""Qt (PySide6, PyQt6 or PyQt5) as the host loop.

Two modes (``mode=``, or ``$ASYNCIO_GUEST_MODE``; default
:data:`DEFAULT_MODE`):

* ``"thread"``: a backend thread waits on the loop's backend fd and wakes
  Qt with ``QCoreApplication.postEvent()``: it posts a custom
  :class:`QEvent` to a small receiver ``QObject`` that lives on the GUI
  thread, whose ``event()`` runs the queued tick.  ``postEvent`` is
  thread-safe.  (A ``QueuedConnection`` signal emitted from the backend
  thread was measured too, and was slower.)
* ``"threadless"``: no thread of ours; Qt's own event loop watches the
  backend fd (one ``QSocketNotifier`` per fd, enabled only while the guest
  waits) and the loop's next deadline (a single-shot ``PreciseTimer``
  ``QTimer``, rounded up to the millisecond).  Host code that schedules
  guest work meanwhile restarts that timer at 0 ms.

Either way ticks are delivered by every Qt event loop on the GUI thread,
including the nested ones of modal dialogs (``QDialog.exec()``), menus and
``processEvents()``, and no exception ever escapes into Qt.  Work that must
continue after a full time slice is resumed through the posted event, from
the GUI thread: Qt handles the input, timer and paint events that arrived
meanwhile first.

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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ContextManager, Optional, TypeVar

from . import _callbacks, _qt_objects, host
from ._qt_binding import (BINDINGS, ENV_VAR, QT_API_VAR, Qt, binding_of_app,
                          canonical, qt as _qt, resolve_binding)
from .host import GuestRun

__all__ = ["start", "run", "async_slot", "modal", "exec_dialog", "wait_signal",
           "resolve_binding", "BINDINGS", "ENV_VAR", "QT_API_VAR",
           "DEFAULT_MODE", "MODE_ENV_VAR", "QtHost"]

T = TypeVar("T")

MODE_ENV_VAR = host.MODE_ENV_VAR
#: The default mode of this host (see :func:`start`).
DEFAULT_MODE = "threadless"


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


class QtHost(host.Host):
    """Qt's event loop: woken by a ``QEvent`` posted to a receiver
    ``QObject`` (thread mode), or watching the fds with
    ``QSocketNotifier`` s and the deadline with a ``QTimer``
    (threadless)."""

    name = "asyncio_guest.qt"
    default_mode = DEFAULT_MODE

    def __init__(self, binding: Optional[str] = None, app: Any = None,
                 uses_wakeup_fd: Optional[bool] = None) -> None:
        super().__init__()
        self.qt, self.app = _load(binding, app)
        # None: the application's own wake-up fd, if it set one.
        self.uses_wakeup_fd = (host.wakeup_fd_in_use() if uses_wakeup_fd
                               is None else bool(uses_wakeup_fd))
        receiver_class, self._watcher_class = _qt_objects.classes(self.qt)
        self.receiver: Any = receiver_class(self.app, self.tick_raised)
        #: Threadless mode's watcher, or None.
        self.qt_watcher: Any = None

    def post(self, fn: Callable[[], object]) -> None:
        self.receiver.post(fn)

    def watcher(self, tick: host.Tick, fds: Sequence[int]) -> Any:
        self.qt_watcher = self._watcher_class(self.receiver, fds, tick,
                                              self.tick_raised)
        return self.qt_watcher

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

    Raises:
        RuntimeError: no application object; not on its thread; this thread
            already hosts a guest run.
        TypeError: ``app`` is not a Qt application; ``async_fn`` is not an
            async function.
        ValueError: an unknown ``mode`` or ``binding``.
    """
    qt_host = _host(async_fn, app, binding, host_uses_signal_set_wakeup_fd)
    return host.start(qt_host, async_fn, *args, done_callback=done_callback,
                      loop_factory=loop_factory, debug=debug, mode=mode)


def _host(async_fn: Any, app: Any, binding: Optional[str],
          uses_wakeup_fd: Optional[bool]) -> QtHost:
    try:
        return QtHost(binding, app, uses_wakeup_fd)
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
    qt_host = _host(async_fn, app, binding, host_uses_signal_set_wakeup_fd)
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
