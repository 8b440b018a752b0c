"""The GLib/GTK host: asyncio as a guest of a real GLib main loop running
real GTK widgets, on a real display (the session's, or a private Xvfb).

GTK 3 is tested in this process; GTK 4 (which cannot share a process with
GTK 3) by the same tests in a child pytest process,
``test_gtk4_in_subprocess``.  ``ASYNCIO_GUEST_GTK_VERSION`` chooses the
version a process tests ("3.0" by default).

Waiting is done with GLib timers and deadlines, never speed assertions: a
wake-up that never comes shows as a failed test (a watchdog timer cancels
the run and records the failure), not as a hang.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any, Callable

import pytest

import gi

import asyncio_guest

VERSION = os.environ.get("ASYNCIO_GUEST_GTK_VERSION", "3.0")
CHILD = os.environ.get("ASYNCIO_GUEST_GTK_TEST_CHILD") == "1"
gi.require_version("Gtk", VERSION)  # before anything imports Gtk

from gi.repository import GLib  # noqa: E402

from asyncio_guest import gtk as guest_gtk  # noqa: E402

LONG = 3600.0  # "an hour": a deadline nobody may wait for
WATCHDOG = 20.0  # seconds; any test taking this long has failed

_gtk_box: list[Any] = []


@pytest.fixture
def Gtk(display: str) -> Any:
    """The Gtk module, imported once the display exists (GTK initialises
    itself at import)."""
    if not _gtk_box:
        os.environ.setdefault("NO_AT_BRIDGE", "1")
        os.environ.setdefault("GTK_A11Y", "none")
        from gi.repository import Gtk as gtk_module
        assert gtk_module.get_major_version() == int(VERSION[0])
        _gtk_box.append(gtk_module)
    return _gtk_box[0]


def is_gtk4(Gtk: Any) -> bool:
    return bool(Gtk.get_major_version() >= 4)


@pytest.fixture
def window(Gtk: Any) -> Any:
    win = Gtk.Window(title="asyncio_guest test")
    win.set_default_size(200, 100)
    yield win
    try:
        win.destroy()
    except Exception:
        pass


def show(Gtk: Any, win: Any) -> None:
    if is_gtk4(Gtk):
        win.present()
    else:
        win.show_all()


def add_child(Gtk: Any, win: Any, child: Any) -> None:
    if is_gtk4(Gtk):
        win.set_child(child)
    else:
        win.add(child)


def after(ms: int, fn: Callable[[], object]) -> None:
    """Run ``fn`` once, from a GLib timer (a host callback)."""
    def cb() -> bool:
        fn()
        return GLib.SOURCE_REMOVE
    GLib.timeout_add(ms, cb)


class Watchdog:
    """Cancels the guest run and records a failure if the test overruns."""

    def __init__(self) -> None:
        self.fired = False
        self.run: Any = None

    def arm(self, run: Any) -> None:
        self.run = run

        def fire() -> bool:
            if not run.done:
                self.fired = True
                run.cancel()
            return GLib.SOURCE_REMOVE
        self.source = GLib.timeout_add(int(WATCHDOG * 1000), fire)

    def disarm(self) -> None:
        GLib.source_remove(self.source)


def posts(run: Any) -> int:
    return int(run._runner._guest.posts)


# -- run ---------------------------------------------------------------------

def test_run_returns_main_result(Gtk, window, loop_factory):
    show(Gtk, window)
    seen: dict[str, Any] = {}

    async def main(x: int) -> int:
        seen["loop"] = asyncio.get_running_loop()
        await asyncio.sleep(0.01)
        return x * 2

    assert guest_gtk.run(main, 21, loop_factory=loop_factory,
                         window=window) == 42
    assert seen["loop"].is_closed()
    assert asyncio_guest.current_run() is None


def test_run_reraises_main_exception(Gtk, loop_factory):
    class Boom(Exception):
        pass

    async def main() -> None:
        await asyncio.sleep(0)
        raise Boom("x")

    with pytest.raises(Boom):
        guest_gtk.run(main, loop_factory=loop_factory)
    assert asyncio_guest.current_run() is None


def test_closing_window_cancels_main_and_returns_none_after_teardown(
        Gtk, window, loop_factory):
    show(Gtk, window)
    events: list[str] = []
    def destroyed() -> bool:
        # GTK 4 emits "destroy" only on dispose (Python holds a reference):
        # a destroyed window has left the toplevel list in both versions.
        return window not in list(Gtk.Window.list_toplevels())
    box: dict[str, Any] = {}

    async def helper() -> None:
        try:
            await asyncio.sleep(LONG)
        finally:
            events.append("helper finally")

    async def main() -> str:
        box["loop"] = asyncio.get_running_loop()
        box["helper"] = asyncio.create_task(helper())
        # The user closes the window (the WM close button: GTK 3
        # delete-event, GTK 4 close-request), from a GTK callback.
        after(50, window.close)
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            events.append("main cancelled")
            # Clean-up that itself awaits, with the window still there.
            await asyncio.sleep(0.05)
            events.append(f"window alive: {not destroyed()}")
            raise
        finally:
            events.append("main finally")
        return "not reached"

    assert guest_gtk.run(main, loop_factory=loop_factory,
                         window=window) is None
    assert events == ["main cancelled", "window alive: True",
                      "main finally", "helper finally"], events
    assert box["loop"].is_closed()
    assert box["helper"].cancelled()
    assert destroyed()  # the close completed after the teardown


def test_keyboard_interrupt_in_guest_reraised_after_teardown(
        Gtk, loop_factory):
    events: list[str] = []

    # Ctrl-C inside the guest: cancels main, teardown, then re-raised.
    async def main2() -> None:
        after(20, lambda: None)
        try:
            await asyncio.sleep(0.05)
            raise KeyboardInterrupt
        finally:
            events.append("main2 finally")

    with pytest.raises(KeyboardInterrupt):
        guest_gtk.run(main2, loop_factory=loop_factory)
    assert events == ["main2 finally"]
    assert asyncio_guest.current_run() is None


# -- signal handlers -----------------------------------------------------------

def test_signal_handler_on_clicked_runs_on_guest_loop(Gtk, window,
                                                        loop_factory):
    button = Gtk.Button(label="click me")
    add_child(Gtk, window, button)
    show(Gtk, window)
    got: list[Any] = []
    clicked = asyncio.Event()

    @guest_gtk.signal_handler
    async def on_click(widget: Any, user_data: Any) -> None:
        got.append((asyncio.get_running_loop(), widget, user_data))
        await asyncio.sleep(0.01)  # a real coroutine, suspended and resumed
        widget.set_label("clicked")
        clicked.set()

    @guest_gtk.signal_handler
    async def on_click_no_args() -> None:
        got.append("no args")

    button.connect("clicked", on_click, "data")
    button.connect("clicked", on_click_no_args)

    async def main() -> Any:
        after(30, lambda: button.emit("clicked"))  # from the GTK loop
        await clicked.wait()
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    wd = Watchdog()

    async def watched() -> Any:
        wd.arm(asyncio_guest.current_run())
        return await main()

    loop = guest_gtk.run(watched, loop_factory=loop_factory)
    wd.disarm()
    assert not wd.fired
    assert got[0] == (loop, button, "data")
    assert "no args" in got
    assert button.get_label() == "clicked"


def test_signal_handler_rejects_plain_function(Gtk):
    with pytest.raises(TypeError):
        guest_gtk.signal_handler(lambda: None)


def test_signal_handler_without_run_raises(Gtk):
    async def h() -> None:
        pass

    with pytest.raises(RuntimeError):
        guest_gtk.signal_handler(h)()


# -- host callbacks wake a parked guest -----------------------------------------

@pytest.mark.parametrize("how", ["set_result", "create_task", "cancel"])
def test_host_callback_wakes_guest_sleeping_an_hour(Gtk, loop_factory, how):
    wd = Watchdog()
    order: list[str] = []

    async def main() -> str:
        run = asyncio_guest.current_run()
        wd.arm(run)
        loop = asyncio.get_running_loop()
        if how == "set_result":
            fut = loop.create_future()
            waiter = asyncio.ensure_future(asyncio.wait_for(fut, LONG))
            after(50, lambda: fut.set_result("woken"))
            return await waiter
        if how == "create_task":
            done = loop.create_future()

            async def child() -> None:
                order.append("child")
                done.set_result("woken")

            # A host callback creates a task while the guest sleeps.
            after(50, lambda: order.append(loop.create_task(child()) and "t"))
            return await asyncio.wait_for(done, LONG)
        sleeper = asyncio.create_task(asyncio.sleep(LONG))
        after(50, sleeper.cancel)
        try:
            await sleeper
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
            return "woken"
        return "not woken"

    result = guest_gtk.run(main, loop_factory=loop_factory)
    wd.disarm()
    assert not wd.fired
    assert result == "woken"


# -- fairness and idleness -----------------------------------------------------

def test_guest_flood_does_not_starve_glib_timers(Gtk, window, loop_factory):
    show(Gtk, window)
    ticks = [0]

    def timer() -> bool:
        ticks[0] += 1
        return GLib.SOURCE_CONTINUE

    async def spin() -> None:
        while True:
            await asyncio.sleep(0)

    async def main() -> int:
        spinners = [asyncio.create_task(spin()) for _ in range(10)]
        source = GLib.timeout_add(1, timer)
        deadline = time.monotonic() + WATCHDOG
        # Own deadline: a starved GLib could not run a watchdog timer.
        while ticks[0] < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0)
        GLib.source_remove(source)
        for t in spinners:
            t.cancel()
        return ticks[0]

    assert guest_gtk.run(main, loop_factory=loop_factory) >= 50


def test_idle_guest_does_not_wake_host(Gtk, loop_factory):
    samples: list[int] = []
    wd = Watchdog()

    async def main() -> str:
        run = asyncio_guest.current_run()
        wd.arm(run)

        def first() -> None:
            samples.append(posts(run))
            after(300, second)

        def second() -> None:
            samples.append(posts(run))
            stop.cancel()

        after(100, first)  # let the start-up ticks settle
        stop = asyncio.create_task(asyncio.sleep(LONG))
        try:
            await stop
        except asyncio.CancelledError:
            pass
        return "stopped"

    assert guest_gtk.run(main, loop_factory=loop_factory) == "stopped"
    wd.disarm()
    assert not wd.fired
    assert len(samples) == 2 and samples[0] == samples[1], samples


# -- I/O ---------------------------------------------------------------------

def test_tcp_echo_inside_guest(Gtk, loop_factory):
    wd = Watchdog()

    async def handle(reader: Any, writer: Any) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main() -> list[bytes]:
        wd.arm(asyncio_guest.current_run())
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = []
        for i in range(20):
            msg = f"hello {i}\n".encode()
            writer.write(msg)
            await writer.drain()
            got.append(await reader.readline())
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return got

    got = guest_gtk.run(main, loop_factory=loop_factory)
    wd.disarm()
    assert not wd.fired
    assert got == [f"hello {i}\n".encode() for i in range(20)]


# -- start() with a host loop the application runs --------------------------------

def test_start_with_own_mainloop_and_done_callback(Gtk, loop_factory):
    mainloop = GLib.MainLoop()
    done: list[Any] = []

    async def main() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    def on_done(task: Any) -> None:
        done.append(task)
        mainloop.quit()

    run = guest_gtk.start(main, done_callback=on_done,
                          loop_factory=loop_factory)
    GLib.timeout_add(int(WATCHDOG * 1000), lambda: mainloop.quit())
    mainloop.run()
    assert run.done and run.loop.is_closed()
    assert len(done) == 1 and done[0].result() == "ok"


def test_callback_exception_never_escapes_into_glib(Gtk, loop_factory,
                                                    monkeypatch):
    # A tick raising (here: a host callback scheduled through the poster
    # raising) is reported, the GLib loop goes on.
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook",
                        lambda t, v, tb: reported.append(v))

    async def main() -> str:
        run = asyncio_guest.current_run()
        poster = run._runner.gtk_poster

        def bad() -> None:
            raise ValueError("boom")
        poster.post(bad)
        await asyncio.sleep(0.05)
        return "alive"

    assert guest_gtk.run(main, loop_factory=loop_factory) == "alive"
    assert len(reported) == 1 and isinstance(reported[0], ValueError)


# -- GTK 4, in its own process -------------------------------------------------

if not CHILD:
    @pytest.fixture(scope="module")
    def gtk4_child(display: str) -> Any:
        env = dict(os.environ, ASYNCIO_GUEST_GTK_VERSION="4.0",
                   ASYNCIO_GUEST_GTK_TEST_CHILD="1")
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-rfE", "-o", "addopts=", __file__],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=os.path.dirname(os.path.dirname(__file__)))

    def test_gtk4_in_subprocess(gtk4_child):
        out, _ = gtk4_child.communicate(timeout=300)
        tail = "\n".join(out.splitlines()[-25:])
        assert gtk4_child.returncode == 0, f"GTK 4 tests failed:\n{tail}"
        assert " passed" in tail and "skipped" not in tail, tail
