"""The QObjects of the Qt host's own waker (``waker="qt"``), made once per
binding: the receiver (thread mode's wake-up: a custom ``QEvent`` posted to
it runs the queued call) and the threadless watcher (``QSocketNotifier`` s
and a ``QTimer``).
Neither lets an exception into Qt: what a call raises goes to ``report``
(the host's ``tick_raised``)."""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Sequence
from typing import Any, Optional

from . import _core
from ._qt_binding import Qt

# QTimer.start() takes a C int of milliseconds (about 24.8 days): a later
# deadline fires early, and the tick then finds nothing due and re-arms.
MAX_TIMER_MS = 2**31 - 1

Report = Callable[[BaseException], None]


def classes(qt: Qt) -> tuple[type, type]:
    """(Receiver, Watcher) of binding ``qt``."""
    if qt.classes is None:
        receiver = _receiver_class(qt)
        qt.classes = (receiver, _watcher_class(qt))
    return qt.classes


def _receiver_class(qt: Qt) -> type:
    QObject: Any = qt.QtCore.QObject
    QEvent: Any = qt.QtCore.QEvent
    QTimer: Any = qt.QtCore.QTimer
    post_event: Any = qt.QtCore.QCoreApplication.postEvent
    event_type = qt.event_type

    class Receiver(QObject):  # type: ignore[misc]
        """Lives on the GUI thread; runs the callables posted to it, one per
        wake-up, in order, from Qt's event loop: those :meth:`post` ed from
        any thread through a posted event, those :meth:`post_soon` ed from
        the GUI thread through a zero-time timer (Qt delivers posted events
        before timers, so a busy guest continuing through one would run
        ahead of the host's own due timers)."""

        def __init__(self, parent: Any, report: Report) -> None:
            super().__init__(parent)
            self.calls: collections.deque[Callable[[], object]] = (
                collections.deque())
            self.soon: collections.deque[Callable[[], object]] = (
                collections.deque())
            self.report = report
            # A QTimer object, not QTimer.singleShot(0, ...): Qt 6 turns
            # the latter into a queued call, i.e. a posted event.
            self.timer: Any = QTimer(self)
            self.timer.setSingleShot(True)
            self.timer.timeout.connect(self._run_soon)

        def post(self, fn: Callable[[], object]) -> None:
            # Thread-safe: deque.append is atomic, postEvent is thread-safe.
            self.calls.append(fn)
            post_event(self, QEvent(event_type))

        def post_soon(self, fn: Callable[[], object]) -> None:
            """GUI thread: ``fn()`` after the timers already due."""
            self.soon.append(fn)
            self.timer.start(0)

        def _run_soon(self) -> None:
            self._run(self.soon)

        def run_one(self) -> None:
            self._run(self.calls)

        def _run(self, calls: "collections.deque[Callable[[], object]]"
                 ) -> None:
            try:
                fn = calls.popleft()
            except IndexError:
                return  # closed meanwhile
            if calls is self.soon and calls:
                self.timer.start(0)  # the next one after this one
            try:
                fn()
            except BaseException as exc:  # never into Qt (PyQt5 aborts)
                self.report(exc)

        def close(self) -> None:
            self.calls.clear()
            self.soon.clear()
            self.timer.stop()
            self.deleteLater()

        def event(self, ev: Any) -> bool:
            if ev.type() == event_type:
                self.run_one()
                return True
            result: bool = super().event(ev)
            return result

    return Receiver


def _watcher_class(qt: Qt) -> type:
    core = qt.QtCore
    QObject: Any = core.QObject
    QSocketNotifier: Any = core.QSocketNotifier
    QTimer: Any = core.QTimer
    read = QSocketNotifier.Type.Read
    precise = core.Qt.TimerType.PreciseTimer
    ceil = math.ceil

    class Watcher(QObject):  # type: ignore[misc]
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

        def __init__(self, parent: Any, fds: Sequence[int],
                     tick: Callable[[], object], report: Report) -> None:
            super().__init__(parent)
            self.receiver = parent
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
            self._ag_callbacks: Any = _core.CallbackWatcher(
                self.watch, self.fire_soon, self.unwatch)

        @property
        def _ag_watcher(self) -> Any:
            return self._ag_callbacks._ag_watcher

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
                self.timer.start(min(ceil(timeout * 1000.0), MAX_TIMER_MS))

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

        def post_soon(self) -> None:
            """The slice ran out: tick again after Qt's pending events
            (through the receiver's zero-time timer, as thread mode does)."""
            if self.tick is not None:
                self.receiver.post_soon(self.tick)

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

    return Watcher
