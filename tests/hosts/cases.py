"""The hosts of the contract suite: one class per host, the same small
interface, so that every scenario of test_contract.py runs on each.

A new host gets the whole suite by adding a class here (and its name to
CASES)."""

from __future__ import annotations

import asyncio
import heapq
import importlib
import itertools
import os
import queue
import sys
import threading
import time
from typing import Any, Callable, Optional

import asyncio_guest
from asyncio_guest import host

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")

#: What ``run`` gives back when the user closed (GUI hosts return None;
#: an async-framework host's awaiting task is cancelled instead).
RETURNS_NONE = "returns None"
RAISES_CANCELLED = "raises CancelledError"


class Case:
    name = "?"
    modes: tuple[str, ...] = ("thread",)
    on_close = RETURNS_NONE
    #: Whether host callbacks see the guest loop as the running loop (not
    #: where the host is itself an asyncio loop: it stays theirs).
    guest_runs_between_ticks = True

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        raise NotImplementedError

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        """Host thread, from the host's own loop (a host timer), outside
        any guest tick."""
        raise NotImplementedError

    def close(self) -> None:
        """What the user does to quit (close the window, QUIT, cancel)."""
        raise NotImplementedError

    #: Why the host cannot run a loop inside one of its callbacks (a modal
    #: dialog, a hand-pumped loop), or None if it can.
    no_nesting: Optional[str] = None

    def pump(self) -> None:
        """One iteration of the host loop, by hand (a plain handler's
        hand-made modal loop), blocking for a few ms at most."""
        raise NotImplementedError

    def modal(self, done: Callable[[], bool]) -> None:
        """The toolkit's own modal loop (a dialog's), open until
        ``done()`` (polled from a host timer)."""
        while not done():
            self.pump()

    #: Why a run on this host cannot be abandoned (its host loop cannot
    #: stop while the run is alive), or None if it can.
    no_abandoning: Optional[str] = None

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        """Set up what the host loop needs, call ``mark()`` (what the run
        opens is counted from there), start a run of ``main``, run the host
        loop until ``parked()``, then stop it with the run still alive."""
        raise NotImplementedError

    def shown(self) -> bool:
        """Whether the host's window (if any) is on the screen."""
        return True

    #: Why the host has no async-handler helper (None: ``handler(fn)``
    #: wraps ``fn`` as the toolkit's own helper does).
    no_handlers: Optional[str] = None

    def handler(self, fn: Any) -> Any:
        """``fn`` wrapped by the host's async-handler helper."""
        return host.async_handler(fn, "a run")

    def modal_api(self) -> Any:
        """The host's ``await modal(fn)`` (the layer's, for hosts without
        one of their own)."""
        return host.modal

    def capture_reports(self, sink: list[BaseException]) -> None:
        """Where the toolkit sends an exception escaping an ordinary
        callback: into ``sink`` until teardown (default ``sys.excepthook``)."""
        previous = sys.excepthook
        sys.excepthook = lambda tp, exc, tb: sink.append(exc)
        self._restore_hook = lambda: setattr(sys, "excepthook", previous)

    def release_reports(self) -> None:
        restore = getattr(self, "_restore_hook", None)
        if restore is not None:
            restore()

    #: Why ``run`` cannot be called without a coroutine (None: it can,
    #: and then runs until the host is closed).
    no_bare_run: Optional[str] = None

    #: How many Ctrl-Cs end a program that is busy in a tick or a host
    #: callback (1), and how many tracebacks Python prints when Ctrl-C ends
    #: an idle one (1), except on asyncio.run, as for a native asyncio
    #: program: its SIGINT handler first only cancels the main task (a
    #: busy program needs a second Ctrl-C), and it chains the
    #: KeyboardInterrupt to that task's CancelledError.
    busy_interrupts = 1
    idle_interrupt_tracebacks = 1


class QueueCase(Case):
    """The public seam at its barest: ``start_guest_run`` on a host loop
    that pops callables from a queue (with timers of its own)."""

    name = "queue"
    on_close = RAISES_CANCELLED  # GuestRun.cancel(): the main task's outcome
    no_handlers = ("a bare start_guest_run has no Host to report a handler's "
                   "exception to (the loop's exception handler gets it)")
    no_bare_run = "a bare start_guest_run has no run(): the program loops"

    def setup(self) -> None:
        self.calls: "queue.SimpleQueue[Callable[[], object]]" = (
            queue.SimpleQueue())
        self.timers: list[tuple[float, int, Callable[[], object]]] = []
        self.ids = itertools.count()

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.timers,
                       (time.monotonic() + seconds, next(self.ids), fn))

    def pump(self) -> None:
        timeout = 0.005
        if self.timers:
            timeout = min(timeout, max(0.0, self.timers[0][0]
                                       - time.monotonic()))
        try:
            self.calls.get(timeout=timeout)()
        except queue.Empty:
            pass
        while self.timers and self.timers[0][0] <= time.monotonic():
            heapq.heappop(self.timers)[2]()
        for _ in range(self.calls.qsize()):  # not those queued meanwhile
            self.calls.get()()

    def _start(self, main: Any, loop_factory: Any,
               done: Callable[[Any], object]) -> Any:
        self.closed = False
        self.guest = asyncio_guest.start_guest_run(
            main, run_sync_soon_threadsafe=self.calls.put,
            done_callback=done, loop_factory=loop_factory)
        return self.guest

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        box: dict[str, Any] = {}
        self._start(main, loop_factory, lambda task: box.update(task=task))
        try:
            while "task" not in box:
                self.pump()
        except KeyboardInterrupt:
            # Ctrl-C in the program's own loop: what host.run() does for
            # the hosts built on it (cancel, let the teardown finish, raise)
            self.close()
            while "task" not in box:
                self.pump()
            raise
        return box["task"].result()

    def close(self) -> None:
        # This host has no close path of its own: the program is its
        # adapter, and cancels once (GuestRun.cancel() again would cancel
        # the main task's clean-up, as Task.cancel() does).
        if not getattr(self, "closed", False):
            self.closed = True
            self.guest.cancel()

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        mark()
        guest = self._start(main, loop_factory, print)
        while not parked():
            self.pump()
        return guest


class MiniCase(Case):
    """examples/custom_host.py: the documented example host."""

    name = "example"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        sys.path.insert(0, EXAMPLES)
        try:
            self.mod = importlib.import_module("custom_host")
        finally:
            sys.path.remove(EXAMPLES)
        self.loop = self.mod.MiniLoop()

    def teardown(self) -> None:
        self.loop.close()

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        mini = self.mod.MiniHost(self.loop)
        self._close = lambda: None

        def connect(close: Callable[[], None]) -> Callable[[], None]:
            self._close = close
            return lambda: None

        mini.connect_close = connect  # the example has no window
        return host.run(mini, main, mode=mode, loop_factory=loop_factory)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.loop.call_later(seconds, fn)

    def close(self) -> None:
        self._close()

    def pump(self) -> None:
        self.loop.call_later(0.005, lambda: None)  # run_once blocks no longer
        self.loop.run_once()

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        mini = self.mod.MiniHost(self.loop)
        mini.connect_close = lambda close: lambda: None
        mark()
        guest = host.start(mini, main, mode=mode, loop_factory=loop_factory)
        while not parked():
            self.pump()
        return guest


class TkCase(Case):
    name = "tk"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        import tkinter
        self.tkinter = tkinter
        self.root = tkinter.Tk()
        self.root.geometry("120x80")
        self.root.update()  # Tcl opens its notifier's pipe lazily

    def teardown(self) -> None:
        try:
            self.root.destroy()
        except Exception:
            pass

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        from asyncio_guest import tk as guest_tk
        return guest_tk.run(self.root, main, mode=mode,
                            loop_factory=loop_factory)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.root.after(int(seconds * 1000), fn)

    def close(self) -> None:
        # What the window manager's close button runs.
        self.root.tk.call(self.root.protocol("WM_DELETE_WINDOW"))

    def pump(self) -> None:
        self.root.update()

    def handler(self, fn: Any) -> Any:
        from asyncio_guest import tk as guest_tk
        return guest_tk.async_handler(fn)

    def modal_api(self) -> Any:
        from asyncio_guest import tk as guest_tk
        return guest_tk.modal

    def capture_reports(self, sink: list[BaseException]) -> None:
        self.root.report_callback_exception = (
            lambda tp, exc, tb: sink.append(exc))

    def modal(self, done: Callable[[], bool]) -> None:
        dialog = self.tkinter.Toplevel(self.root)

        def poll() -> None:
            if done():
                dialog.destroy()
            else:
                dialog.after(5, poll)
        dialog.after(5, poll)
        dialog.transient(self.root)
        self.root.wait_window(dialog)  # Tk's modal loop

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        from asyncio_guest import tk as guest_tk
        mark()
        guest = guest_tk.start(self.root, main, mode=mode,
                               loop_factory=loop_factory)

        def poll() -> None:
            if parked():
                self.root.quit()
            else:
                self.root.after(5, poll)
        self.root.after(0, poll)
        self.root.mainloop()
        return guest

    def shown(self) -> bool:
        return bool(self.root.winfo_viewable())


class QtCase(Case):
    name = "qt"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        os.environ["QT_QPA_PLATFORM"] = os.environ.get("AG_TEST_QT_PLATFORM",
                                                        "offscreen")
        from asyncio_guest import qt as guest_qt
        self.guest_qt = guest_qt
        binding = guest_qt.resolve_binding()
        self.QtCore = importlib.import_module(f"{binding}.QtCore")
        self.QtWidgets = QtWidgets = importlib.import_module(
            f"{binding}.QtWidgets")
        self.app = (QtWidgets.QApplication.instance()
                    or QtWidgets.QApplication([]))
        self.window = QtWidgets.QWidget()
        self.window.show()

    def teardown(self) -> None:
        self.window.close()
        self.window.deleteLater()

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        return self.guest_qt.run(main, mode=mode, loop_factory=loop_factory)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.QtCore.QTimer.singleShot(int(seconds * 1000), fn)

    def close(self) -> None:
        self.window.close()  # the last window: lastWindowClosed

    def pump(self) -> None:
        self.app.processEvents()

    def handler(self, fn: Any) -> Any:
        return self.guest_qt.async_slot(fn)

    def modal_api(self) -> Any:
        return self.guest_qt.modal

    def _until(self, done: Callable[[], bool],
               then: Callable[[], None]) -> Any:
        timer = self.QtCore.QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: then() if done() else None)
        timer.start()
        return timer

    def modal(self, done: Callable[[], bool]) -> None:
        dialog = self.QtWidgets.QDialog(self.window)
        timer = self._until(done, dialog.accept)
        (getattr(dialog, "exec", None) or dialog.exec_)()  # Qt's modal loop
        timer.stop()
        dialog.deleteLater()

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        mark()
        guest = self.guest_qt.start(main, mode=mode,
                                    loop_factory=loop_factory)
        loop = self.QtCore.QEventLoop()
        timer = self._until(parked, loop.quit)
        (getattr(loop, "exec", None) or loop.exec_)()
        timer.stop()
        return guest

    def shown(self) -> bool:
        return bool(self.window.isVisible())


class GtkCase(Case):
    name = "gtk"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        import gi
        gi.require_version(
            "Gtk", os.environ.get("ASYNCIO_GUEST_GTK_VERSION", "3.0"))
        from gi.repository import GLib, Gtk
        self.GLib, self.Gtk = GLib, Gtk
        self.window = Gtk.Window()
        if Gtk.get_major_version() >= 4:
            self.window.present()
        else:
            self.window.show_all()

    def teardown(self) -> None:
        self.window.destroy()

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        from asyncio_guest import gtk as guest_gtk
        return guest_gtk.run(main, window=self.window, mode=mode,
                             loop_factory=loop_factory)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        def once() -> bool:
            fn()
            return False
        self.GLib.timeout_add(int(seconds * 1000), once)

    def close(self) -> None:
        self.window.close()  # close-request (GTK 4) / delete-event (GTK 3)

    def pump(self) -> None:
        self.later(0.005, lambda: None)  # iteration(True) blocks no longer
        self.GLib.MainContext.default().iteration(True)

    def handler(self, fn: Any) -> Any:
        from asyncio_guest import gtk as guest_gtk
        return guest_gtk.signal_handler(fn)

    def modal_api(self) -> Any:
        from asyncio_guest import gtk as guest_gtk
        return guest_gtk.modal

    def modal(self, done: Callable[[], bool]) -> None:
        Gtk = self.Gtk
        dialog = Gtk.Dialog(transient_for=self.window, modal=True)

        def poll() -> bool:
            if not done():
                return True
            if Gtk.get_major_version() >= 4:
                nested.quit()
            else:
                dialog.response(Gtk.ResponseType.OK)
            return False
        self.GLib.timeout_add(5, poll)
        if Gtk.get_major_version() >= 4:  # GTK 4 has no Dialog.run()
            nested = self.GLib.MainLoop()
            dialog.present()
            nested.run()
        else:
            dialog.run()  # GTK 3's modal loop
        dialog.destroy()

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        from asyncio_guest import gtk as guest_gtk
        mark()
        guest = guest_gtk.start(main, mode=mode, loop_factory=loop_factory)
        mainloop = self.GLib.MainLoop()

        def poll() -> bool:
            if parked():
                mainloop.quit()
                return False
            return True
        self.GLib.timeout_add(5, poll)
        mainloop.run()
        return guest

    def shown(self) -> bool:
        return bool(self.window.get_mapped())


_PYGAME_EVENT: Optional[int] = None


class PygameCase(Case):
    name = "pygame"

    def setup(self) -> None:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
        self.pygame = pygame
        pygame.init()
        pygame.display.set_mode((64, 48))
        self.timers: list[threading.Timer] = []
        # Allocated once per process: pygame.quit() resets custom_type()'s
        # counter, so a type allocated per test would, after the first,
        # be handed out again and could be the guest's own TICK_EVENT.
        global _PYGAME_EVENT
        if _PYGAME_EVENT is None:
            _PYGAME_EVENT = pygame.event.custom_type()
        self.event = _PYGAME_EVENT

    def teardown(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.pygame.quit()

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        from asyncio_guest import pygame as guest_pygame

        return guest_pygame.run(main, loop_factory=loop_factory,
                                on_event=self.on_event)

    def on_event(self, event: Any) -> None:
        if event.type == self.event:
            event.fn()

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        pg = self.pygame
        timer = threading.Timer(seconds, lambda: pg.event.post(
            pg.event.Event(self.event, fn=fn)))
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def close(self) -> None:
        self.pygame.event.post(self.pygame.event.Event(self.pygame.QUIT))

    def pump(self) -> None:
        """A pygame program's inner loop: every event to the guest's
        ``process`` first, the rest to the program."""
        from asyncio_guest import pygame as guest_pygame
        event = self.pygame.event.wait(5)
        while event.type != self.pygame.NOEVENT:
            if not guest_pygame.process(event):
                self.on_event(event)
            event = self.pygame.event.poll()

    def handler(self, fn: Any) -> Any:
        from asyncio_guest import pygame as guest_pygame
        return guest_pygame.async_handler(fn)

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        from asyncio_guest import pygame as guest_pygame
        mark()
        guest = guest_pygame.start(main, loop_factory=loop_factory)
        while not parked():
            self.pump()
        return guest


NO_NESTED_ASYNCIO = (
    "asyncio refuses to run a loop inside its own running loop (so no "
    "dialog or hand-pumped loop can nest in one of its callbacks)")


class AsyncioCase(Case):
    name = "asyncio"
    on_close = RAISES_CANCELLED
    guest_runs_between_ticks = False
    no_nesting = NO_NESTED_ASYNCIO
    busy_interrupts = 2
    idle_interrupt_tracebacks = 2
    no_handlers = ("an asyncio host's callbacks are asyncio's own: they "
                   "create tasks on the loop they choose")
    no_bare_run = "aio.run() is awaited by a task that decides when it ends"

    def guest_run(self, main: Any, loop_factory: Any) -> Any:
        from asyncio_guest import aio
        return aio.run(main, loop_factory=loop_factory)

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        async def outer() -> Any:
            self.host_loop = asyncio.get_running_loop()
            self.host_task = asyncio.current_task()
            return await self.guest_run(main, loop_factory)
        return asyncio.run(outer())

    def abandon(self, main: Any, mode: str, loop_factory: Any,
                parked: Callable[[], bool], mark: Callable[[], None]) -> Any:
        """The host loop stops (``run_until_complete`` of something else
        returns) with the guest's task still pending, and is never closed
        (as a program that forgot it)."""
        self.abandoned_loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        mark()
        self.abandoned_task = loop.create_task(
            self.guest_run(main, loop_factory))

        async def until_parked() -> None:
            while not parked():
                await asyncio.sleep(0.005)
        loop.run_until_complete(until_parked())
        return None

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.host_loop.call_later(seconds, fn)

    def close(self) -> None:
        self.host_task.cancel()


class TornadoCase(AsyncioCase):
    name = "tornado"

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        from tornado.ioloop import IOLoop

        from asyncio_guest import tornado as guest_tornado

        async def outer() -> Any:
            self.io_loop = IOLoop.current()
            self.host_loop = asyncio.get_running_loop()
            self.host_task = asyncio.current_task()
            return await guest_tornado.run(main, loop_factory=loop_factory)
        return asyncio.run(outer())

    def guest_run(self, main: Any, loop_factory: Any) -> Any:
        from asyncio_guest import tornado as guest_tornado
        return guest_tornado.run(main, loop_factory=loop_factory)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.io_loop.call_later(seconds, fn)


class TrioCase(Case):
    name = "trio"
    on_close = RAISES_CANCELLED
    no_nesting = ("Trio refuses to run inside its own run (trio.run from a "
                  "Trio callback raises RuntimeError)")
    no_abandoning = ("trio.run returns only once every task of it has "
                     "ended, so its host loop cannot stop under a live run")
    no_handlers = ("Trio's callbacks are Trio's own (a nursery's tasks), "
                   "not a toolkit's")
    no_bare_run = "trio.run() of guest_trio.run is a Trio task's choice"

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        import trio

        from asyncio_guest import trio as guest_trio

        box: dict[str, Any] = {}

        async def outer() -> None:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                self.scope = trio.CancelScope()
                try:
                    with self.scope:
                        box["result"] = await guest_trio.run(
                            main, loop_factory=loop_factory)
                except Exception as exc:
                    box["error"] = exc
                finally:
                    nursery.cancel_scope.cancel()  # the pending later()s
        try:
            trio.run(outer)
        except BaseExceptionGroup as group:
            # Ctrl-C reaches the nursery's task: a Trio program's own
            # ending for it is a group holding the KeyboardInterrupt.
            if group.subgroup(KeyboardInterrupt) is None:
                raise
            raise KeyboardInterrupt from None
        if "error" in box:
            raise box["error"]
        if "result" not in box:
            raise asyncio.CancelledError("the trio scope was cancelled")
        return box["result"]

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        import trio

        async def fire() -> None:
            await trio.sleep(seconds)
            fn()
        self.nursery.start_soon(fire)

    def close(self) -> None:
        self.scope.cancel()


CASES: dict[str, type[Case]] = {c.name: c for c in (
    QueueCase, MiniCase, TkCase, QtCase, GtkCase, PygameCase, AsyncioCase, TornadoCase,
    TrioCase)}
