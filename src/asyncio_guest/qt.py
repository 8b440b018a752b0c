"""Qt (PySide6, PyQt6 or PyQt5) as the host loop.

Two modes (``mode=``, or ``$ASYNCIO_GUEST_MODE``; default
:data:`DEFAULT_MODE`):

* ``"thread"``: a backend thread waits on the loop's backend fd and wakes
  Qt with ``QCoreApplication.postEvent()``: it posts a custom
  :class:`QEvent` to a small receiver ``QObject`` that lives on the GUI
  thread, whose ``event()`` runs the queued tick.  ``postEvent`` is
  thread-safe.  (A ``QueuedConnection`` signal emitted from the backend
  thread was measured too and was slower: see ``_WAKERS``.)
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
(one with a live application first), else the first importable of PySide6,
PyQt6, PyQt5.

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
import collections
import functools
import importlib
import inspect
import math
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from . import _run
from ._run import GuestRun

__all__ = ["start", "run", "async_slot", "resolve_binding", "BINDINGS",
           "ENV_VAR", "DEFAULT_MODE"]

T = TypeVar("T")

#: The supported bindings, in the order they are tried.
BINDINGS = ("PySide6", "PyQt6", "PyQt5")
#: The environment variable that chooses a binding.
ENV_VAR = "ASYNCIO_GUEST_QT"

# How the backend thread wakes Qt.  "postEvent" is the default; "signal" (a
# signal emitted from the backend thread, connected with QueuedConnection)
# is kept for measurement (examples/qt_demo.py has none; see the report).
_WAKERS = ("postEvent", "signal")
_waker_kind = "postEvent"

MODE_ENV_VAR = _run.MODE_ENV_VAR
#: The default mode of this host (see :func:`start`).
DEFAULT_MODE = "threadless"

# QTimer.start() takes a C int of milliseconds (about 24.8 days): a later
# deadline fires early, and the tick then finds nothing due and re-arms.
_MAX_TIMER_MS = 2**31 - 1


# -- the binding ---------------------------------------------------------------

def _canonical(name: str, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what}: expected a binding name (one of "
                        f"{', '.join(BINDINGS)}), got {type(name).__name__}")
    for b in BINDINGS:
        if b.lower() == name.strip().lower():
            return b
    raise ValueError(f"{what}: unknown Qt binding {name!r}; expected one of "
                     f"{', '.join(BINDINGS)}")


def _binding_of_app(app: Any) -> Optional[str]:
    top = type(app).__module__.split(".", 1)[0]
    return top if top in BINDINGS else None


def resolve_binding(binding: Optional[str] = None) -> str:
    """The name of the Qt binding this module uses for ``binding``.

    ``binding`` if given; else ``$ASYNCIO_GUEST_QT``; else a binding already
    imported (preferring one whose ``QCoreApplication`` exists); else the
    first of PySide6, PyQt6, PyQt5 that imports.

    Raises:
        ValueError: an unknown binding name.
        ImportError: no binding can be imported (or the one asked for).
    """
    if binding is not None:
        name = _canonical(binding, "binding")
    elif os.environ.get(ENV_VAR):
        name = _canonical(os.environ[ENV_VAR], f"${ENV_VAR}")
    else:
        imported = [b for b in BINDINGS if f"{b}.QtCore" in sys.modules]
        for b in imported:
            core = sys.modules[f"{b}.QtCore"]
            if core.QCoreApplication.instance() is not None:
                return b
        if imported:
            return imported[0]
        errors = []
        for b in BINDINGS:
            try:
                importlib.import_module(f"{b}.QtCore")
            except ImportError as exc:
                errors.append(f"{b}: {exc}")
            else:
                return b
        raise ImportError(
            "asyncio_guest.qt: no Qt binding could be imported (pip install "
            "PySide6-Essentials, PyQt6 or PyQt5): " + "; ".join(errors))
    importlib.import_module(f"{name}.QtCore")  # ImportError if missing
    return name


class _Qt:
    """The parts of one binding this module uses."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.QtCore: Any = importlib.import_module(f"{name}.QtCore")
        core = self.QtCore
        self.Signal: Any = (core.Signal if name == "PySide6"
                            else core.pyqtSignal)
        self.queued: Any = core.Qt.ConnectionType.QueuedConnection
        flags = core.QEventLoop.ProcessEventsFlag
        self.wait_flags: Any = flags.AllEvents | flags.WaitForMoreEvents
        self.event_type: Any = core.QEvent.Type(core.QEvent.registerEventType())
        self.receivers: dict[str, type] = {}
        self.watcher: Optional[type] = None


_qts: dict[str, _Qt] = {}


def _qt(name: str) -> _Qt:
    qt = _qts.get(name)
    if qt is None:
        qt = _qts[name] = _Qt(name)
        _warn_known_bugs(name)
    return qt


def _warn_known_bugs(name: str) -> None:
    """Bindings known to break a program whatever the guest does."""
    if name != "PySide6" or sys.version_info >= (3, 12):
        return  # from 3.12 on None is immortal
    import PySide6

    if PySide6.__version__ == "6.12.0":
        warnings.warn(
            "PySide6 6.12.0 drops a reference to None on every call of a "
            "void method (QAbstractButton.click(), QWidget.setEnabled(), "
            "...); on Python < 3.12 the interpreter then aborts at exit "
            "(\"none_dealloc\").  Use PySide6 6.11.", RuntimeWarning,
            stacklevel=4)


def _receiver_class(qt: _Qt, kind: str) -> type:
    """The receiver QObject class of ``qt`` for waker ``kind``."""
    cls = qt.receivers.get(kind)
    if cls is not None:
        return cls
    QObject: Any = qt.QtCore.QObject
    QEvent: Any = qt.QtCore.QEvent
    post_event: Any = qt.QtCore.QCoreApplication.postEvent
    event_type = qt.event_type

    class _Receiver(QObject):  # type: ignore[misc]
        """Lives on the GUI thread; runs the callables posted to it, one per
        wake-up, in order, from Qt's event loop."""

        def __init__(self, parent: Any) -> None:
            super().__init__(parent)
            self.calls: collections.deque[Callable[[], object]] = (
                collections.deque())
            self.on_interrupt: Optional[Callable[[BaseException], None]] = None

        def post(self, fn: Callable[[], object]) -> None:
            # Thread-safe: deque.append is atomic, postEvent is thread-safe.
            self.calls.append(fn)
            post_event(self, QEvent(event_type))

        def run_one(self) -> None:
            try:
                fn = self.calls.popleft()
            except IndexError:
                return  # closed meanwhile
            try:
                fn()
            except BaseException as exc:  # never into Qt (PyQt5 aborts)
                self.report(exc)

        def report(self, exc: BaseException) -> None:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                if self.on_interrupt is not None:
                    self.on_interrupt(exc)
                    return
                # start() without run(): the guest's main task is already
                # cancelled; stop the Qt loop, as Ctrl-C stops a program.
                app = qt.QtCore.QCoreApplication.instance()
                if app is not None:
                    app.exit(1)
            sys.excepthook(type(exc), exc, exc.__traceback__)

        def close(self) -> None:
            self.calls.clear()
            self.deleteLater()

        def event(self, ev: Any) -> bool:
            if ev.type() == event_type:
                self.run_one()
                return True
            result: bool = super().event(ev)
            return result

    if kind == "signal":
        Signal = qt.Signal
        queued = qt.queued

        class _SignalReceiver(_Receiver):
            wake = Signal()

            def __init__(self, parent: Any) -> None:
                super().__init__(parent)
                self.wake.connect(self.run_one, queued)

            def post(self, fn: Callable[[], object]) -> None:
                self.calls.append(fn)
                self.wake.emit()

        cls = _SignalReceiver
    else:
        cls = _Receiver
    qt.receivers[kind] = cls
    return cls


def _watcher_class(qt: _Qt) -> type:
    """The threadless watcher QObject class of ``qt``."""
    if qt.watcher is not None:
        return qt.watcher
    core = qt.QtCore
    QObject: Any = core.QObject
    QSocketNotifier: Any = core.QSocketNotifier
    QTimer: Any = core.QTimer
    read = QSocketNotifier.Type.Read
    precise = core.Qt.TimerType.PreciseTimer
    ceil = math.ceil

    class _Watcher(QObject):  # type: ignore[misc]
        """Threadless mode: Qt's own event loop watches the guest's fds and
        deadline, and runs the tick when one fires.

        The C core calls ``watch(timeout)`` when the guest goes idle (arm),
        ``fire_soon()`` when host code scheduled guest work meanwhile (the
        wake hook), and ``unwatch()`` as the tick starts (begin_tick) and at
        close; all on the GUI thread.  A ``QSocketNotifier`` keeps firing
        while its fd is readable, so the notifiers are enabled only between
        ``watch()`` and ``unwatch()``; the tick's begin_tick disables them
        before any guest code runs, and a fire that was already on its way
        when they were disabled is dropped (``watching`` is False).  The
        notifiers and the timer are children of this object, itself a child
        of the receiver (a child of the application), all on the GUI
        thread."""

        def __init__(self, parent: Any, fds: list[int],
                     tick: Callable[[], object],
                     report: Callable[[BaseException], None]) -> None:
            super().__init__(parent)
            self.tick: Optional[Callable[[], object]] = tick
            self.report = report
            self.watching = False
            self.notifiers: list[Any] = []
            for fd in fds:
                notifier = QSocketNotifier(fd, read, self)
                notifier.setEnabled(False)
                notifier.activated.connect(self.fire)
                self.notifiers.append(notifier)
            self.timer: Any = QTimer(self)
            self.timer.setSingleShot(True)
            self.timer.setTimerType(precise)
            self.timer.timeout.connect(self.fire)

        def watch(self, timeout: Optional[float]) -> None:
            if self.tick is None:
                raise RuntimeError("asyncio_guest.qt: the watcher is closed")
            if not self.watching:
                self.watching = True
                for notifier in self.notifiers:
                    notifier.setEnabled(True)
            if timeout is None:
                self.timer.stop()
            else:
                # Rounded up: a timer firing early would find nothing due.
                self.timer.start(min(ceil(timeout * 1000.0), _MAX_TIMER_MS))

        def fire_soon(self) -> None:
            # The one timer: a pending deadline is replaced, and unwatch()
            # cancels it, so this makes exactly one tick at most.
            self.timer.start(0)

        def unwatch(self) -> None:
            try:
                if self.watching:
                    self.watching = False
                    for notifier in self.notifiers:
                        notifier.setEnabled(False)
                self.timer.stop()
            except RuntimeError:
                pass  # deleted with the application: nothing watches

        def fire(self) -> None:
            """A notifier's ``activated`` or the timer's ``timeout``.  No
            parameters: PySide6 then converts no signal arguments (Python
            code of its own, where a SIGINT's KeyboardInterrupt once made it
            call the slot with a NULL argument and crash)."""
            if not self.watching or self.tick is None:
                return  # unwatched since: that tick ran already
            try:
                self.tick()
            except BaseException as exc:  # never into Qt (PyQt5 aborts)
                self.report(exc)

        def close(self) -> None:
            """At the end of the run (before the loop closes its fds)."""
            self.tick = None  # no cycle through the run
            self.unwatch()

    qt.watcher = _Watcher
    return _Watcher


def _application(qt: _Qt, app: Any) -> Any:
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


def _load(binding: Optional[str], app: Any) -> tuple[_Qt, Any]:
    if app is not None:
        of_app = _binding_of_app(app)
        if of_app is None:
            raise TypeError(
                "asyncio_guest.qt: app must be a QApplication of PySide6, "
                f"PyQt6 or PyQt5, got {type(app).__module__}."
                f"{type(app).__name__}")
        if binding is not None and _canonical(binding, "binding") != of_app:
            raise ValueError(
                f"asyncio_guest.qt: binding={binding!r} but app is a "
                f"{of_app} application")
        binding = of_app
    qt = _qt(resolve_binding(binding))
    return qt, _application(qt, app)


# -- start / run ---------------------------------------------------------------

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
    try:
        threadless = _run.pick_mode("asyncio_guest.qt", mode, DEFAULT_MODE)
        qt, app = _load(binding, app)
        if host_uses_signal_set_wakeup_fd is None:
            host_uses_signal_set_wakeup_fd = _run.wakeup_fd_in_use()
        receiver = _receiver_class(qt, _waker_kind)(app)
    except BaseException:
        _run.close_if_coroutine(async_fn)
        raise
    watchers: list[Any] = []

    def watcher(runner: Any) -> Any:
        # Threadless: the C core calls its watch/fire_soon/unwatch.
        w = _watcher_class(qt)(receiver, runner.watch_fds(), runner._tick,
                               receiver.report)
        watchers.append(w)
        return w

    def on_closed() -> None:
        for w in watchers:
            w.close()
        receiver.close()

    try:
        runner = _run._Runner(
            async_fn,
            args,
            post=None if threadless else receiver.post,
            post_soon=receiver.post,
            done_callback=done_callback or _run.report_main_task,
            loop_factory=loop_factory,
            host_uses_wakeup_fd=bool(host_uses_signal_set_wakeup_fd),
            debug=debug,
            native_waker=watcher if threadless else None,
            on_closed=on_closed,
        )
    except BaseException:
        on_closed()
        raise
    guest = GuestRun(runner)
    # For run(): where interrupts go (private).
    runner.qt_receiver = receiver  # type: ignore[attr-defined]
    # Threadless mode's watcher, or None (private; the tests look at it).
    runner.qt_watcher = watchers[0] if watchers else None  # type: ignore
    return guest


def _exec(app: Any) -> Any:
    exec_ = getattr(app, "exec", None) or app.exec_
    return exec_()


def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
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
    qt, app = _load(binding, app)
    outcome: dict[str, Any] = {}

    def done(task: "asyncio.Task[Any]") -> None:
        outcome["task"] = task
        app.exit(0)

    def cancel(_: Any = None) -> None:
        # Only the first close cancels: the clean-up it starts must not be
        # interrupted by a second one (asyncio.run treats Ctrl-C so).
        if not outcome.get("closed") and not guest.task.done():
            outcome["closed"] = True
            guest.cancel()

    def on_interrupt(exc: BaseException) -> None:
        # The guest has cancelled the main task already: no second cancel
        # may cut its clean-up short.
        outcome.setdefault("interrupt", exc)
        outcome["closed"] = True
        app.exit(1)

    guest = start(async_fn, *args, done_callback=done,
                  loop_factory=loop_factory, debug=debug, app=app,
                  host_uses_signal_set_wakeup_fd=host_uses_signal_set_wakeup_fd,
                  mode=mode)
    guest._runner.qt_receiver.on_interrupt = on_interrupt  # type: ignore
    connected: list[Any] = []
    for name in ("lastWindowClosed", "aboutToQuit"):
        sig = getattr(app, name, None)
        if sig is not None:
            sig.connect(cancel)
            connected.append(sig)
    try:
        with _run.interrupts_to_run():
            _exec(app)
    finally:
        try:
            if not guest.done:
                # Qt's loop ended first: finish the teardown by processing
                # Qt's events, where our ticks arrive.
                cancel()
                while not guest.done:
                    app.processEvents(qt.wait_flags)
        finally:
            for sig in connected:
                try:
                    sig.disconnect(cancel)
                except (RuntimeError, TypeError):
                    pass  # the application is gone
    interrupt = outcome.get("interrupt")
    if interrupt is not None:
        raise interrupt
    task = outcome["task"]
    if task.cancelled() and outcome.get("closed"):
        return None
    result: Optional[T] = task.result()
    return result


# -- async slots -----------------------------------------------------------------

def _is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return (inspect.iscoroutinefunction(fn)
            or inspect.iscoroutinefunction(getattr(fn, "__call__", None)))


_MISSING: Any = object()


def _positional(fn: Any) -> Optional[tuple[int, int]]:
    """(required, total) positional parameters of ``fn``; None if it takes
    ``*args`` or has no signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = total = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            if p.default is p.empty:
                required += 1
    return required, total


def _slot_with_arity(call: Callable[..., None],
                     arity: Optional[tuple[int, int]]) -> Callable[..., None]:
    """A function taking the positional parameters described by ``arity``
    that calls ``call`` with the arguments given.  The bindings look at a
    slot's own parameters to decide how many signal arguments to pass
    (PySide6 even picks the overload: ``clicked`` connected to ``*args``
    is ``clicked()``), so the slot mirrors the wrapped function."""
    if arity is None:
        def slot(*args: Any) -> None:
            call(*args)
        return slot
    required, total = arity
    names = [f"a{i}" for i in range(total)]
    params = names[:required] + [f"{n}=_MISSING" for n in names[required:]]
    src = (f"def slot({', '.join(params)}):\n"
           f"    call(*[a for a in ({''.join(n + ', ' for n in names)}) "
           f"if a is not _MISSING])\n")
    namespace: dict[str, Any] = {"call": call, "_MISSING": _MISSING}
    exec(src, namespace)
    made: Callable[..., None] = namespace["slot"]
    return made


def async_slot(fn: Callable[..., Awaitable[Any]]) -> Callable[..., None]:
    """Turn an ``async def`` into a Qt slot: connect the result to a signal.

    Each emission schedules ``fn(*args)`` as a task on the guest loop hosted
    by this thread and returns at once.  Signal arguments the function
    cannot take are dropped from the end, as Qt does for C++ slots (so
    ``clicked`` works with ``async def on_click(self)`` and with
    ``async def on_click(self, checked)``).  Exceptions are reported through
    the guest loop's exception handler; tasks still running when the run
    ends are cancelled by its teardown.  Works on functions and methods.

    Raises:
        TypeError: ``fn`` is not an async function (at decoration).
        RuntimeError: (when the signal fires) no guest run on this thread.
    """
    if not callable(fn):
        raise TypeError(
            f"async_slot: expected an async function, got {type(fn).__name__}")
    if not _is_async_callable(fn):
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"async_slot: {name} is not an async function; decorate an "
            "'async def'")
    handler = _run.async_handler(fn, "asyncio_guest.qt.start() or .run()")
    arity = _positional(fn)

    def call(*args: Any) -> None:
        # Extra signal arguments the function cannot take are dropped (a
        # binding may pass more than the slot's parameters, e.g. through
        # *args or functools.partial).
        if arity is not None and len(args) > arity[1]:
            args = args[:arity[1]]
        handler(*args)

    slot = _slot_with_arity(call, arity)
    slot.__name__ = handler.__name__
    slot.__qualname__ = handler.__qualname__
    slot.__doc__ = handler.__doc__
    slot.__module__ = handler.__module__
    slot.__wrapped__ = fn  # type: ignore[attr-defined]
    return slot
