"""The GLib/GTK host: asyncio as a guest of a real GLib main loop running
real GTK widgets, on a real display (the session's, or a private Xvfb).

GTK 3 is tested in this process; GTK 4 (which cannot share a process with
GTK 3) by the same tests in a child pytest process,
``test_gtk4_in_subprocess``.  ``ASYNCIO_GUEST_GTK_VERSION`` chooses the
version a process tests ("3.0" by default).

Nested GLib loops are tested as GUI programs make them: modal dialogs
(GTK 3 ``Gtk.Dialog.run()``, GTK 4 a nested ``GLib.MainLoop``) run from a
plain signal handler and from a coroutine.  Real X input (a click, typing)
comes through the X server from xdotool.

Waiting is done with GLib timers and deadlines, never speed assertions: a
wake-up that never comes shows as a failed test (a watchdog timer cancels
the run and records the failure), not as a hang.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Callable

import pytest

import gi

import asyncio_guest
from asyncio_guest import _drivers

VERSION = os.environ.get("ASYNCIO_GUEST_GTK_VERSION", "3.0")
CHILD = os.environ.get("ASYNCIO_GUEST_GTK_TEST_CHILD") == "1"
gi.require_version("Gtk", VERSION)  # before anything imports Gtk

from gi.repository import GLib  # noqa: E402

from asyncio_guest import gtk as guest_gtk  # noqa: E402
from guest_helpers import progress_during  # noqa: E402

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
    return int(run._runner.core.posts)




class Modal:
    """A modal dialog run by a nested GLib main loop.

    GTK 3: a ``Gtk.Dialog`` and its ``run()``.  GTK 4 has no ``run()``: a
    modal transient window and a nested ``GLib.MainLoop().run()`` play that
    role (what ``gtk_dialog_run`` did)."""

    def __init__(self, Gtk: Any, parent: Any) -> None:
        self.gtk4 = is_gtk4(Gtk)
        self.running = False
        self.response: Any = None
        if self.gtk4:
            self.dialog = Gtk.Window(title="modal", transient_for=parent,
                                     modal=True)
            self.nested = GLib.MainLoop()
        else:
            self.dialog = Gtk.Dialog(title="modal", transient_for=parent,
                                     modal=True)
            self.dialog.add_button("OK", Gtk.ResponseType.OK)

    def run(self) -> Any:
        """Blocks in a nested GLib loop until :meth:`respond`."""
        self.running = True
        try:
            if self.gtk4:
                self.dialog.present()
                self.nested.run()
                return self.response
            return self.dialog.run()
        finally:
            self.running = False
            self.dialog.destroy()

    def respond(self, response: Any) -> None:
        """Ends :meth:`run` (from a callback of the nested loop)."""
        if self.gtk4:
            self.response = response
            self.nested.quit()
        else:
            self.dialog.response(response)


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


def test_a_busy_guest_takes_turns_with_a_default_priority_source(
        Gtk, loop_factory):
    """A source of a better priority than the busy guest's
    (G_PRIORITY_DEFAULT against G_PRIORITY_DEFAULT_IDLE) ready all the
    time for 0.3 s: the guest waits after it a slice, then continues at the
    tick's priority, taking turns; its progress meanwhile against its rate
    just before, and the source's count: both sides move."""
    result: dict[str, float] = {}

    async def main() -> bool:
        def stream(done: Callable[[int], None]) -> None:
            count = [0]
            until = time.monotonic() + 0.3

            def busy_host() -> bool:
                count[0] += 1
                if time.monotonic() < until:
                    return GLib.SOURCE_CONTINUE
                done(count[0])
                return GLib.SOURCE_REMOVE

            GLib.idle_add(busy_host, priority=GLib.PRIORITY_DEFAULT)

        result.update(await progress_during(stream, WATCHDOG))
        return True

    assert guest_gtk.run(main, loop_factory=loop_factory) is True
    # the host's side moved too (how far depends on the machine's load:
    # this file's children all run at once)
    assert result["events"] >= 10, result
    # fair turns give the guest about half its rate; a starved one ~0
    assert result["during"] >= 0.2 * result["before"], result


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

    from asyncio_guest import host
    gtk_host = guest_gtk.GtkHost()

    async def main() -> str:
        def bad() -> None:
            raise ValueError("boom")
        gtk_host.post(bad)
        await asyncio.sleep(0.05)
        return "alive"

    assert host.run(gtk_host, main, loop_factory=loop_factory) == "alive"
    assert len(reported) == 1 and isinstance(reported[0], ValueError)


# -- modal dialogs (nested GLib loops) --------------------------------------------

def test_modal_dialog_from_plain_handler_guest_keeps_running(
        Gtk, window, loop_factory, loop_nesting):
    """A plain GTK signal handler runs a modal dialog (GTK 3
    ``Gtk.Dialog.run()``, GTK 4 a nested ``GLib.MainLoop``).  The guest's
    ticks are dispatched by the nested loop: timers and socket I/O go on
    during the dialog, and the guest itself closes it."""
    button = Gtk.Button(label="open dialog")
    add_child(Gtk, window, button)
    show(Gtk, window)
    progress = {"n": 0}
    info: dict[str, Any] = {}
    ok = Gtk.ResponseType.OK

    def on_click(widget: Any) -> None:  # plain: not a guest task
        modal = Modal(Gtk, window)
        info["depth in handler"] = GLib.main_depth()
        info["before"] = progress["n"]
        info["modal"] = modal
        info["response"] = modal.run()
        info["after"] = progress["n"]

    button.connect("clicked", on_click)

    def modal_guard() -> bool:  # the guest never closed the dialog
        info["guard ran"] = True
        if "after" not in info and "modal" in info:
            info["guard fired"] = True
            info["modal"].respond(Gtk.ResponseType.CANCEL)
        return GLib.SOURCE_REMOVE

    guard = GLib.timeout_add(10_000, modal_guard)

    async def echo(reader: Any, writer: Any) -> None:
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
        writer.close()

    wd = Watchdog()

    async def main() -> int:
        wd.arm(asyncio_guest.current_run())
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        after(30, lambda: button.emit("clicked"))  # from a GLib timer
        while "modal" not in info:
            progress["n"] += 1
            await asyncio.sleep(0.005)
        # The dialog's nested loop is running now, and dispatching us.
        info["depth in guest"] = GLib.main_depth()
        start = progress["n"]
        while progress["n"] < start + 20:
            progress["n"] += 1
            await asyncio.sleep(0.005)
        echoes = []
        for i in range(5):
            writer.write(f"during dialog {i}\n".encode())
            await writer.drain()
            echoes.append(await reader.readline())
        info["echoes"] = echoes
        info["running when responding"] = info["modal"].running
        info["modal"].respond(ok)  # ends the plain handler's nested loop
        while "after" not in info:
            await asyncio.sleep(0.005)
        # After the dialog: the guest carries on in the outer loop.
        info["depth after"] = GLib.main_depth()
        writer.write(b"after dialog\n")
        info["echo after"] = await reader.readline()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return progress["n"]

    total = guest_gtk.run(main, loop_factory=loop_factory, window=window)
    wd.disarm()
    if "guard ran" not in info:
        GLib.source_remove(guard)
    assert not wd.fired
    assert "guard fired" not in info
    assert info["running when responding"]
    assert info["response"] == ok
    # The guest advanced 20 timer steps and 5 socket round trips while the
    # plain handler was blocked in the dialog's loop...
    assert info["after"] - info["before"] >= 20
    assert info["echoes"] == [f"DURING DIALOG {i}\n".encode()
                              for i in range(5)]
    # ... because the nested loop dispatched its ticks: one dispatch level
    # deeper than the handler, which itself ran from the outer loop.
    assert info["depth in handler"] == 1
    assert info["depth in guest"] == 2
    assert info["depth after"] == 1
    assert info["echo after"] == b"AFTER DIALOG\n"
    assert total >= info["after"]
    assert loop_nesting["max"] == 1  # never a tick inside a tick


@pytest.mark.parametrize("where", ["signal_handler", "main"])
def test_modal_dialog_from_coroutine(Gtk, window, loop_factory,
                                     loop_nesting, monkeypatch, where):
    """A coroutine (an async signal handler, or the main coroutine) runs a
    modal dialog: the nested GLib loop runs inside a guest tick.  GTK keeps
    running (a GLib timer closes the dialog), the guest does not: it cannot
    tick inside its own tick, so its timers, tasks and the future a host
    callback resolves all wait for the dialog to close; then everything
    resumes, no exception reaches GLib, and the run ends cleanly."""
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook",
                        lambda t, v, tb: reported.append(v))
    button = Gtk.Button(label="open dialog")
    add_child(Gtk, window, button)
    show(Gtk, window)
    progress = {"n": 0}
    seen: dict[str, Any] = {}
    ok = Gtk.ResponseType.OK
    box: dict[str, Any] = {}

    async def ticker() -> None:
        while True:
            progress["n"] += 1
            await asyncio.sleep(0.005)

    async def open_modal() -> str:
        loop = asyncio.get_running_loop()
        run = asyncio_guest.current_run()
        fut = loop.create_future()
        modal = Modal(Gtk, window)
        before = progress["n"]
        posts_before = posts(run)
        sleeper = asyncio.ensure_future(asyncio.sleep(0.01, "slept"))

        def close_dialog() -> None:  # a GLib timer of the nested loop
            seen["depth in dialog"] = GLib.main_depth()
            seen["progress during"] = progress["n"] - before
            seen["posts during"] = posts(run) - posts_before
            seen["sleeper done during"] = sleeper.done()
            fut.set_result("set during the dialog")
            seen["fut done during"] = fut.done()
            modal.respond(ok)

        after(200, close_dialog)
        seen["response"] = modal.run()  # a nested GLib loop inside a tick
        seen["progress right after"] = progress["n"] - before
        result = await fut
        seen["sleeper"] = await sleeper
        await asyncio.sleep(0.03)
        seen["resumed"] = progress["n"] - before
        return result

    @guest_gtk.signal_handler
    async def on_click(widget: Any) -> None:
        seen["handler loop"] = asyncio.get_running_loop()
        box["from handler"].set_result(await open_modal())

    button.connect("clicked", on_click)
    wd = Watchdog()

    async def main() -> str:
        wd.arm(asyncio_guest.current_run())
        box["loop"] = asyncio.get_running_loop()
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0.03)
        if where == "main":
            result = await open_modal()
        else:
            box["from handler"] = box["loop"].create_future()
            after(0, lambda: button.emit("clicked"))
            result = await box["from handler"]
        t.cancel()
        return result

    result = guest_gtk.run(main, loop_factory=loop_factory, window=window)
    wd.disarm()
    assert not wd.fired
    assert result == "set during the dialog"
    assert seen["response"] == ok
    if where == "signal_handler":
        assert seen["handler loop"] is box["loop"]
    # GTK ran the dialog's loop (the timer fired inside it, nested in the
    # tick's dispatch), but the guest made no progress meanwhile, its
    # backend thread was not even asked for a tick, and the 10 ms sleep
    # that came due during the 200 ms dialog had not completed.
    assert seen["depth in dialog"] == 2
    assert seen["progress during"] == 0
    assert seen["posts during"] == 0
    assert not seen["sleeper done during"]
    assert seen["fut done during"]
    assert seen["progress right after"] == 0
    # Then the guest resumed: the sleep completed, the ticker went on.
    assert seen["sleeper"] == "slept"
    assert seen["resumed"] > 0
    assert loop_nesting["max"] == 1  # never a tick inside a tick
    assert reported == []  # nothing escaped into GLib
    assert box["loop"].is_closed()
    assert asyncio_guest.current_run() is None


# -- real X input ----------------------------------------------------------------

def xdotool() -> str:
    path = shutil.which("xdotool")
    if path is None:  # an error, not a skip: this test is part of the suite
        pytest.fail("xdotool is not installed (apt-get install xdotool)")
    return path


def center_in_window(Gtk: Any, window: Any, widget: Any) -> tuple[int, int]:
    """The centre of ``widget`` in the coordinates of ``window``'s X window."""
    w, h = widget.get_allocated_width(), widget.get_allocated_height()
    if is_gtk4(Gtk):
        x, y = widget.translate_coordinates(window, w / 2, h / 2)
        dx, dy = window.get_surface_transform()  # CSD shadows, if any
        return int(x + dx), int(y + dy)
    x, y = widget.translate_coordinates(window, w // 2, h // 2)
    return int(x), int(y)


def test_real_x_click_and_typing_reach_async_handlers(Gtk, window,
                                                       loop_factory):
    """Real pointer and keyboard input, through the X server (XTEST, driven
    by xdotool run as asyncio subprocesses of the guest): a click on a
    Gtk.Button and typing into a Gtk.Entry reach ``signal_handler`` async
    handlers, which run on the guest loop and do socket I/O."""
    tool = xdotool()
    title = f"asyncio_guest xdotool {os.getpid()} {id(window):x}"
    window.set_title(title)
    box_widget = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
    button = Gtk.Button(label="click me")
    entry = Gtk.Entry()
    for child in (button, entry):
        child.set_size_request(160, 40)
        if is_gtk4(Gtk):
            box_widget.append(child)
        else:
            box_widget.pack_start(child, True, True, 0)
    add_child(Gtk, window, box_widget)
    show(Gtk, window)
    box: dict[str, Any] = {}
    got: list[Any] = []
    changes: list[str] = []

    async def upper(text: str) -> str:
        """A round trip through the echo server started by main."""
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       box["port"])
        writer.write(text.encode() + b"\n")
        await writer.drain()
        reply = (await reader.readline()).decode().rstrip("\n")
        writer.close()
        await writer.wait_closed()
        return reply

    @guest_gtk.signal_handler
    async def on_click(widget: Any) -> None:
        got.append(("clicked", asyncio.get_running_loop(), widget))
        reply = await upper("clicked")
        widget.set_label(reply)
        box["clicked"].set_result(reply)

    @guest_gtk.signal_handler
    async def on_changed(widget: Any) -> None:
        changes.append(widget.get_text())

    @guest_gtk.signal_handler
    async def on_activate(widget: Any) -> None:  # Return in the entry
        got.append(("activate", asyncio.get_running_loop(), widget))
        box["typed"].set_result(await upper(widget.get_text()))

    button.connect("clicked", on_click)
    entry.connect("changed", on_changed)
    entry.connect("activate", on_activate)

    async def echo(reader: Any, writer: Any) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    async def xdo(*args: str) -> bytes:
        proc = await asyncio.create_subprocess_exec(
            tool, *args, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert proc.returncode == 0, (args, proc.returncode)
        return out

    wd = Watchdog()

    async def main() -> Any:
        wd.arm(asyncio_guest.current_run())
        loop = asyncio.get_running_loop()
        box["clicked"] = loop.create_future()
        box["typed"] = loop.create_future()
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        box["port"] = server.sockets[0].getsockname()[1]
        # The window is found by its title once the X server shows it
        # (--sync waits for it; no window manager, so it stays where GTK
        # put it).
        found = (await xdo("search", "--sync", "--onlyvisible", "--name",
                           title)).split()
        assert len(found) == 1, found
        xid = found[0].decode()
        while button.get_allocated_width() <= 1:  # laid out by GTK
            await asyncio.sleep(0.01)
        bx, by = center_in_window(Gtk, window, button)
        await xdo("mousemove", "--window", xid, str(bx), str(by),
                  "click", "1")
        # (Timeouts: hang guards, with a clearer failure than the watchdog.)
        box["label"] = await asyncio.wait_for(box["clicked"], 10)
        # Keyboard: focus the entry, give the X window the input focus,
        # type (XTEST key events) and press Return.
        entry.grab_focus()
        await xdo("windowfocus", "--sync", xid)
        await xdo("type", "--delay", "1", "hello")
        await xdo("key", "Return")
        box["typed result"] = await asyncio.wait_for(box["typed"], 10)
        server.close()
        await server.wait_closed()
        return loop

    loop = guest_gtk.run(main, loop_factory=loop_factory, window=window)
    wd.disarm()
    assert not wd.fired
    assert box["label"] == "CLICKED" == button.get_label()
    assert ("clicked", loop, button) in got
    assert ("activate", loop, entry) in got
    assert box["typed result"] == "HELLO"
    assert entry.get_text() == "hello"
    # One "changed" per typed character, each handled by an async handler
    # task (which reads the text when it runs: keys may arrive in between).
    assert len(changes) == 5, changes
    assert all("hello".startswith(c) for c in changes), changes
    assert changes[-1] == "hello"


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


# -- awaiting GTK: modal, wait_signal, gio -------------------------------------

from gi.repository import Gio, GObject  # noqa: E402


def _pending(obj: Any, name: str) -> bool:
    signal_id, detail = GObject.signal_parse_name(name, obj, True)
    return bool(GObject.signal_has_handler_pending(obj, signal_id, detail,
                                                   True))


def test_wait_signal_returns_the_arguments_and_leaves_no_handler(
        Gtk, loop_factory):
    async def main() -> Any:
        button = Gtk.Button(label="a")
        adj = Gtk.Adjustment(value=0, lower=0, upper=10)
        GLib.timeout_add(10, lambda: button.emit("clicked") and False)
        clicked = await guest_gtk.wait_signal(button, "clicked", timeout=10)
        GLib.timeout_add(10, lambda: button.set_label("b") or False)
        pspec = await guest_gtk.wait_signal(button, "notify::label",
                                            timeout=5)
        GLib.timeout_add(10, lambda: adj.set_value(3) or False)
        changed = await guest_gtk.wait_signal(adj, "value-changed",
                                              timeout=10)
        with pytest.raises(TimeoutError):
            await guest_gtk.wait_signal(button, "clicked", timeout=0.05)
        task = asyncio.create_task(guest_gtk.wait_signal(button, "clicked"))
        await asyncio.sleep(0.02)
        during = _pending(button, "clicked")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(TypeError, match="no signal 'nope'"):
            await guest_gtk.wait_signal(button, "nope")
        return (clicked, pspec.name, changed, during,
                _pending(button, "clicked"), _pending(button, "notify::label"),
                _pending(adj, "value-changed"))

    clicked, pspec_name, changed, during, *left = guest_gtk.run(
        main, loop_factory=loop_factory)
    assert clicked is None and pspec_name == "label" and changed is None
    assert during is True
    assert left == [False, False, False], left


def test_gio_awaits_real_operations_and_raises_their_errors(
        Gtk, loop_factory, tmp_path):
    """A file read, a subprocess, a socket connect (to a server of the
    guest loop), a GLib.Error, and cancellation (the operation ends
    cancelled)."""
    path = tmp_path / "data.txt"
    path.write_bytes(b"hello gio")

    async def main() -> Any:
        out: dict[str, Any] = {}
        ok, data, _etag = await guest_gtk.gio(
            Gio.File.new_for_path(str(path)).load_contents_async)
        out["file"] = (ok, bytes(data))
        # (without a sanitizer's LD_PRELOAD, which sh would not survive)
        launcher = Gio.SubprocessLauncher.new(Gio.SubprocessFlags.STDOUT_PIPE)
        launcher.unsetenv("LD_PRELOAD")
        proc = launcher.spawnv(["sh", "-c", "echo from-sh"])
        ok, stdout, _stderr = await guest_gtk.gio(
            proc.communicate_utf8_async, None)
        out["subprocess"] = (ok, stdout)

        async def serve(reader: Any, writer: Any) -> None:
            writer.write(b"hi")
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Gio.SocketClient()
        client.set_enable_proxy(False)  # a local server (and no libproxy)
        conn = await guest_gtk.gio(client.connect_to_host_async,
                                   "127.0.0.1", port)
        out["socket"] = conn.is_connected()
        conn.close()
        server.close()
        await server.wait_closed()
        with pytest.raises(GLib.Error) as info:
            await guest_gtk.gio(Gio.File.new_for_path(
                str(tmp_path / "missing")).load_contents_async)
        out["error"] = info.value.matches(Gio.io_error_quark(),
                                          Gio.IOErrorEnum.NOT_FOUND)
        quiet = Gio.SubprocessLauncher.new(Gio.SubprocessFlags.NONE)
        quiet.unsetenv("LD_PRELOAD")
        sleeper = quiet.spawnv(["sleep", "30"])
        seen: list[bool] = []

        def finish(result: Any) -> Any:
            try:
                return sleeper.wait_finish(result)
            except GLib.Error as exc:  # what cancelling did to the operation
                seen.append(exc.matches(Gio.io_error_quark(),
                                        Gio.IOErrorEnum.CANCELLED))
                raise
        task = asyncio.create_task(guest_gtk.gio(sleeper.wait_async,
                                                 finish=finish))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        out["cancelled"] = seen
        sleeper.force_exit()
        with pytest.raises(TypeError, match="_async"):
            await guest_gtk.gio(len)
        return out

    async def guarded() -> Any:
        async with asyncio.timeout(20):
            return await main()

    out = guest_gtk.run(guarded, loop_factory=loop_factory)
    assert out == {"file": (True, b"hello gio"),
                   "subprocess": (True, "from-sh\n"), "socket": True,
                   "error": True, "cancelled": [True]}
