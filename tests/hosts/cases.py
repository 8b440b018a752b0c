"""The hosts of the contract suite: one class per host, the same small
interface, so that every scenario of test_contract.py runs on each.

A new host gets the whole suite by adding a class here (and its name to
CASES)."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
import time
from typing import Any, Callable, Optional

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


class TkCase(Case):
    name = "tk"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        import tkinter
        self.root = tkinter.Tk()
        self.root.geometry("120x80")

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


class QtCase(Case):
    name = "qt"
    modes = ("thread", "threadless")

    def setup(self) -> None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from asyncio_guest import qt as guest_qt
        self.guest_qt = guest_qt
        binding = guest_qt.resolve_binding()
        self.QtCore = importlib.import_module(f"{binding}.QtCore")
        QtWidgets = importlib.import_module(f"{binding}.QtWidgets")
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

        def on_event(event: Any) -> None:
            if event.type == self.event:
                event.fn()

        return guest_pygame.run(main, loop_factory=loop_factory,
                                on_event=on_event)

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        pg = self.pygame
        timer = threading.Timer(seconds, lambda: pg.event.post(
            pg.event.Event(self.event, fn=fn)))
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def close(self) -> None:
        self.pygame.event.post(self.pygame.event.Event(self.pygame.QUIT))


class AsyncioCase(Case):
    name = "asyncio"
    on_close = RAISES_CANCELLED
    guest_runs_between_ticks = False

    def run(self, main: Any, mode: str, loop_factory: Any) -> Any:
        from asyncio_guest import aio

        async def outer() -> Any:
            self.host_loop = asyncio.get_running_loop()
            self.host_task = asyncio.current_task()
            return await aio.run(main, loop_factory=loop_factory)
        return asyncio.run(outer())

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

    def later(self, seconds: float, fn: Callable[[], None]) -> None:
        self.io_loop.call_later(seconds, fn)


class TrioCase(Case):
    name = "trio"
    on_close = RAISES_CANCELLED

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
        trio.run(outer)
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
    MiniCase, TkCase, QtCase, GtkCase, PygameCase, AsyncioCase, TornadoCase,
    TrioCase)}
