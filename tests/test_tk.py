"""The Tk host: asyncio as a guest of a real Tk event loop, on a real display.

Every test drives a real ``tkinter.Tk`` (on the session's display, a private
Xvfb when DISPLAY is unset) with real Tk machinery: ``Button.invoke()``,
``event_generate``, ``after`` timers, the WM_DELETE_WINDOW protocol handler,
``root.destroy()``, nested Tk loops (``wait_window``, ``update``) and, where
it proves a point, real X input through xdotool.

Waiting is done with Tk timers polling a predicate (the ``drive`` fixture),
never with speed assertions.  A predicate that is never met records a
failure and cancels the run, so a broken wake-up shows as a failed test, not
as a hang.  The guest-side "flood" tests carry their own deadline, since a
starved Tk could not run that fixture's timers.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import threading
import time
import tkinter
import warnings
from typing import Any, Callable, Optional

import pytest

import asyncio_guest
from asyncio_guest import _drivers
from asyncio_guest import tk as guest_tk
from drive_helpers import Driver, driving
from guest_helpers import tids

pytestmark = pytest.mark.tk

LONG = 3600.0  # "an hour": a deadline nobody may wait for


# -- helpers -----------------------------------------------------------------

def _after_cancel(root: tkinter.Tk, ident: str) -> None:
    try:
        root.after_cancel(ident)
    except tkinter.TclError:
        pass


def _close_toplevels(root: tkinter.Tk) -> None:
    # A modal loop (wait_window) waiting for a dialog would keep the Tk
    # callback that runs it from ever returning: close the dialogs.
    for child in list(root.children.values()):
        if isinstance(child, tkinter.Toplevel):
            child.destroy()


@pytest.fixture
def drive(tk_root: tkinter.Tk) -> Any:
    """Drives the test from Tk timers (see drive_helpers.Driver)."""
    d = Driver(start_timer=tk_root.after,
               stop_timer=lambda ident: _after_cancel(tk_root, ident),
               close_dialogs=lambda: _close_toplevels(tk_root),
               quit_host=tk_root.quit)
    # Exceptions raised in Tk callbacks: tkinter would only print them.
    tk_root.report_callback_exception = (  # type: ignore[method-assign]
        lambda exc, val, tb: d.errors.append(val))
    yield from driving(d)


def is_destroyed(root: tkinter.Misc) -> bool:
    try:
        return not root.winfo_exists()
    except tkinter.TclError:  # "application has been destroyed"
        return True


def close_window(root: tkinter.Tk) -> None:
    """What a window manager does when the user clicks the close button:
    evaluate the WM_DELETE_WINDOW protocol handler."""
    handler = root.protocol("WM_DELETE_WINDOW")
    assert handler, "no WM_DELETE_WINDOW handler installed"
    root.tk.call(handler)


def backend_state(run: Any) -> str:
    return run._runner.core.state


def waiting_state(guest: Any) -> str:
    """The core state of a guest parked between ticks: the backend thread
    polls (thread mode), or the host watches (threadless: "armed")."""
    return "armed" if guest.threadless else "polling"


def is_waiting(run: Any) -> bool:
    guest = run._runner.core
    return bool(guest.state == waiting_state(guest))


def posts(run: Any) -> int:
    return run._runner.core.posts


def next_timer_in(run: Any) -> Optional[float]:
    """Seconds until the guest loop has work (its driver's view: the next
    live timer when nothing is ready), read-only."""
    timeout: Optional[float] = run._runner.driver.timeout()
    return timeout


def map_root(root: tkinter.Tk) -> None:
    root.update()
    assert root.winfo_ismapped()


class Finished:
    """A done_callback that quits the Tk loop and records its calls."""

    def __init__(self, root: tkinter.Tk) -> None:
        self.root = root
        self.calls: list[tuple[asyncio.Task, int, bool]] = []
        self.run: Any = None

    def __call__(self, task: asyncio.Task) -> None:
        closed = self.run is not None and self.run.loop.is_closed()
        self.calls.append((task, threading.get_ident(), closed))
        self.root.quit()

    @property
    def task(self) -> asyncio.Task:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][0]


def start_and_mainloop(root: tkinter.Tk, main: Any, *args: Any,
                       loop_factory: Any) -> tuple[Any, Finished]:
    finished = Finished(root)
    run = guest_tk.start(root, main, *args, done_callback=finished,
                         loop_factory=loop_factory)
    finished.run = run
    root.mainloop()
    assert len(finished.calls) == 1, "done_callback did not run exactly once"
    assert run.done and run.loop.is_closed()
    return run, finished




# -- 1. tk.run -----------------------------------------------------------------

def test_run_returns_result_and_destroys_root(tk_root, drive, loop_factory):
    seen = {}

    async def main(a, b):
        seen["loop"] = asyncio.get_running_loop()
        seen["root alive"] = not is_destroyed(tk_root)
        await asyncio.sleep(0.01)
        return a + b

    assert guest_tk.run(tk_root, main, 40, 2, loop_factory=loop_factory) == 42
    assert seen["root alive"]
    assert is_destroyed(tk_root)
    assert seen["loop"].is_closed()
    drive.check()


def test_run_reraises_main_exception(tk_root, drive, loop_factory):
    class Boom(Exception):
        pass

    async def main():
        await asyncio.sleep(0.01)
        raise Boom("from main")

    with pytest.raises(Boom, match="from main"):
        guest_tk.run(tk_root, main, loop_factory=loop_factory)
    assert is_destroyed(tk_root)
    drive.check()


def _long_main(log: list[str], loops: list[Any]) -> Callable[[], Any]:
    """A main that starts a second task and awaits an hour; both have a
    ``finally`` that itself awaits (the teardown must keep the loop alive)."""

    async def other():
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("other finally")

    async def main():
        loops.append(asyncio.get_running_loop())
        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        log.append("main waiting")
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")
        return "main was not cancelled"

    return main


@pytest.mark.parametrize("how", ["close button", "destroy"])
def test_run_ends_when_the_window_goes_and_completes_teardown(
        tk_root, drive, loop_factory, how):
    """Closing the window (what a window manager does: WM_DELETE_WINDOW)
    cancels main; a Tk callback destroying the root ends mainloop first.
    Either way run() returns None after the whole teardown."""
    log: list[str] = []
    loops: list[Any] = []
    main = _long_main(log, loops)
    action = ((lambda: close_window(tk_root)) if how == "close button"
              else tk_root.destroy)
    drive.when(lambda: "main waiting" in log, action, what="main to wait")

    result = guest_tk.run(tk_root, main, loop_factory=loop_factory)

    drive.check()
    assert result is None
    assert log == ["main waiting", "main finally", "other finally"]
    assert loops[0].is_closed()
    assert is_destroyed(tk_root)
    assert asyncio_guest.current_run() is None


def test_run_window_closed_twice_does_not_interrupt_cleanup(tk_root, drive,
                                                           loop_factory):
    """An impatient user clicks the close button again while main's
    cleanup (its ``finally``) is still awaiting: the window close cancels
    the main task once; the cleanup must not be cut short (asyncio.run
    likewise cancels the main task only on the first Ctrl-C)."""
    log: list[str] = []
    loops: list[Any] = []

    async def main():
        loops.append(asyncio.get_running_loop())
        log.append("main waiting")
        try:
            await asyncio.sleep(LONG)
        finally:
            log.append("cleanup started")
            # Cleanup that takes a while (say, saving a file): it waits until
            # the user clicked close a second time.
            while "closed twice" not in log:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.02)
            log.append("cleanup finished")

    def close_again() -> None:
        close_window(tk_root)
        log.append("closed twice")

    drive.when(lambda: "main waiting" in log, lambda: close_window(tk_root),
               what="main to wait")
    drive.when(lambda: "cleanup started" in log, close_again,
               what="the cleanup to start")

    result = guest_tk.run(tk_root, main, loop_factory=loop_factory)

    drive.check()
    assert result is None
    assert log == ["main waiting", "cleanup started", "closed twice",
                   "cleanup finished"]
    assert loops[0].is_closed()


# -- 2. tk.start + mainloop + done_callback -------------------------------------

def test_start_done_callback_once_on_tk_thread_and_gui_updates(
        tk_root, drive, loop_factory):
    label = tkinter.Label(tk_root, text="initial")
    label.pack()
    map_root(tk_root)
    seen_by_tk: list[str] = []

    async def main():
        label.configure(text="working")
        fut = asyncio.get_running_loop().create_future()

        def from_tk():  # a Tk callback, while the coroutine is suspended
            seen_by_tk.append(label.cget("text"))
            fut.set_result(None)

        drive.after(10, from_tk)
        await fut
        label.configure(text="done")
        return "result"

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)

    task, thread, loop_closed_at_callback = finished.calls[0]
    assert thread == threading.get_ident()
    assert task is run.task and task.done() and task.result() == "result"
    assert loop_closed_at_callback
    assert seen_by_tk == ["working"]
    assert label.cget("text") == "done"
    # Nothing calls it again later.
    for _ in range(5):
        tk_root.update()
    assert len(finished.calls) == 1
    drive.check()


# -- 3. asyncio from Tk callbacks; no stale deadline -----------------------------

WAKE_ACTIONS = ["button_create_task", "after_set_result", "after_call_later",
                "after_task_cancel"]


@pytest.mark.parametrize("how", WAKE_ACTIONS)
def test_tk_callback_wakes_guest_parked_for_an_hour(tk_root, drive,
                                                    loop_factory, how):
    """The guest waits with a one-hour deadline (backend polling); a Tk
    callback schedules work on the loop; the guest must run it now, not in an
    hour.  The run finishing within the test guard is the assertion."""
    box: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    async def set_from_task():
        box["fut"].set_result("from a task created in a Tk command")

    def button_command():
        run = box["run"]
        seen["loop in command"] = asyncio.get_running_loop() is run.loop
        asyncio.create_task(set_from_task())

    button = tkinter.Button(tk_root, text="go", command=button_command)
    button.pack()

    async def main():
        loop = asyncio.get_running_loop()
        box["fut"] = loop.create_future()
        box["sleeper"] = asyncio.create_task(asyncio.sleep(LONG))
        box["parked"] = True
        if how == "after_task_cancel":
            try:
                await box["sleeper"]
            except asyncio.CancelledError:
                return "sleeper cancelled"
            return "sleeper finished?!"
        return await box["fut"]

    def parked() -> bool:
        run = box.get("run")
        return (run is not None and box.get("parked", False)
                and is_waiting(run))

    def act() -> None:
        run = box["run"]
        seen["deadline"] = next_timer_in(run)
        seen["loop is guest"] = asyncio.get_running_loop() is run.loop
        if how == "button_create_task":
            button.invoke()
        elif how == "after_set_result":
            box["fut"].set_result("set from a Tk after callback")
        elif how == "after_call_later":
            asyncio.get_running_loop().call_later(
                0.01, box["fut"].set_result, "from call_later")
        elif how == "after_task_cancel":
            box["sleeper"].cancel()

    drive.when(parked, act, what="the guest to park on its one-hour timer")
    finished = Finished(tk_root)
    box["run"] = run = guest_tk.start(tk_root, main, done_callback=finished,
                                      loop_factory=loop_factory)
    finished.run = run
    tk_root.mainloop()

    drive.check()
    expected = {
        "button_create_task": "from a task created in a Tk command",
        "after_set_result": "set from a Tk after callback",
        "after_call_later": "from call_later",
        "after_task_cancel": "sleeper cancelled",
    }[how]
    assert finished.task.result() == expected
    # The scenario really was a stale deadline: the only timer was an hour
    # away when the Tk callback acted.
    assert seen["deadline"] is not None and seen["deadline"] > LONG - 60
    assert seen["loop is guest"] is True
    if how == "button_create_task":
        assert seen["loop in command"] is True


# -- 4. async_handler ------------------------------------------------------------

def test_async_handler_as_button_command(tk_root, drive, loop_factory):
    calls: list[tuple] = []
    box: dict[str, Any] = {}

    async def on_click(*args):
        calls.append((args, asyncio.get_running_loop(),
                      asyncio.current_task()))
        await asyncio.sleep(0.01)  # really suspends, on the guest loop
        box["clicked"].set_result("clicked")

    button = tkinter.Button(tk_root, text="go",
                            command=guest_tk.async_handler(on_click))
    button.pack()

    async def main():
        box["clicked"] = asyncio.get_running_loop().create_future()
        return await box["clicked"]

    drive.when(lambda: "clicked" in box, button.invoke, what="main to start")
    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "clicked"
    assert len(calls) == 1
    args, loop, task = calls[0]
    assert args == ()
    assert loop is run.loop
    assert task is not None and task is not run.task


def test_async_handler_as_event_bindings(tk_root, drive, loop_factory):
    label = tkinter.Label(tk_root, text="target")
    label.pack()
    entry = tkinter.Entry(tk_root)
    entry.pack()
    map_root(tk_root)
    entry.focus_force()
    tk_root.update()
    got: dict[str, tuple] = {}
    box: dict[str, Any] = {}

    def recorder(kind: str):
        async def on_event(event):
            await asyncio.sleep(0)
            got[kind] = (event, asyncio.get_running_loop())
            if len(got) == 3:
                box["all"].set_result(None)
        return guest_tk.async_handler(on_event)

    label.bind("<<Custom>>", recorder("virtual"))
    label.bind("<Button-1>", recorder("button"))
    entry.bind("<KeyPress-a>", recorder("key"))

    async def main():
        box["all"] = asyncio.get_running_loop().create_future()
        await box["all"]

    def generate() -> None:
        label.event_generate("<<Custom>>", x=7, y=9, when="tail")
        label.event_generate("<Button-1>", x=5, y=6, when="tail")
        entry.event_generate("<KeyPress-a>", when="tail")

    drive.when(lambda: "all" in box, generate, what="main to start")
    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    finished.task.result()
    assert set(got) == {"virtual", "button", "key"}
    for kind, (event, loop) in got.items():
        assert isinstance(event, tkinter.Event), kind
        assert loop is run.loop, kind
    ev = got["virtual"][0]
    assert (ev.widget, ev.x, ev.y) == (label, 7, 9)
    ev = got["button"][0]
    assert (ev.widget, ev.num, ev.x, ev.y) == (label, 1, 5, 6)
    ev = got["key"][0]
    assert (ev.widget, ev.keysym, ev.char) == (entry, "a", "a")
    # The handler returned None, not "break": Entry's class binding still
    # inserted the character.
    assert entry.get() == "a"


@pytest.mark.skipif(shutil.which("xdotool") is None,
                    reason="xdotool is not installed")
def test_async_handler_receives_real_x_click(tk_root, drive, loop_factory):
    """A real pointer click, through the X server (XTEST), reaches an async
    button command and a <ButtonRelease-1> binding; xdotool itself runs as
    an asyncio subprocess of the guest."""
    box: dict[str, Any] = {}
    got: list[Any] = []

    async def on_click():
        got.append(("command", asyncio.get_running_loop()))
        box["clicked"].set_result(None)

    async def on_release(event):
        got.append(("release", event.num, event.widget))

    button = tkinter.Button(tk_root, text="click me",
                            command=guest_tk.async_handler(on_click))
    button.pack(fill="both", expand=True)
    button.bind("<ButtonRelease-1>", guest_tk.async_handler(on_release),
                add="+")
    map_root(tk_root)
    assert button.winfo_ismapped()

    async def main():
        box["clicked"] = asyncio.get_running_loop().create_future()
        proc = await asyncio.create_subprocess_exec(
            "xdotool", "mousemove", "--window", str(button.winfo_id()),
            "10", "10", "click", "1")
        assert await proc.wait() == 0
        await box["clicked"]
        await asyncio.sleep(0)  # let the release handler finish too
        return "clicked"

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "clicked"
    assert ("command", run.loop) in got
    assert ("release", 1, button) in got
def test_async_handler_without_a_run_raises(tk_root, drive, loop_factory):
    called: list[Any] = []

    async def fn(*args):
        called.append(args)

    handler = guest_tk.async_handler(fn)
    assert asyncio_guest.current_run() is None
    with pytest.raises(RuntimeError, match="no guest run"):
        handler()

    # As a Tk command, the error reaches Tk's report_callback_exception.
    button = tkinter.Button(tk_root, command=handler)
    button.invoke()
    assert len(drive.errors) == 1
    assert isinstance(drive.errors[0], RuntimeError)
    drive.errors.clear()

    # And again once a run on this thread has finished.
    async def main():
        await asyncio.sleep(0)

    start_and_mainloop(tk_root, main, loop_factory=loop_factory)
    with pytest.raises(RuntimeError, match="no guest run"):
        handler("x")
    assert called == []
    drive.check()


# -- 5. fairness -------------------------------------------------------------------

def _flood(counts: dict[str, Any], seconds: float):
    """A guest task that never waits for anything; it gives up after
    ``seconds`` (recording 'starved') so a starved Tk cannot hang the test."""

    async def flood():
        deadline = time.monotonic() + seconds
        while True:
            counts["flood"] += 1
            if time.monotonic() > deadline:
                counts["flood gave up"] = True
                return
            await asyncio.sleep(0)

    return flood


def test_guest_flood_does_not_starve_tk_timers_and_events(tk_root, drive,
                                                          loop_factory):
    map_root(tk_root)
    counts: dict[str, Any] = {"flood": 0, "after": 0, "events": 0}
    flood_seen_by_tk: list[int] = []
    box: dict[str, Any] = {}
    target = 50

    def on_ping(event):
        counts["events"] += 1

    tk_root.bind("<<Ping>>", on_ping)

    def tk_tick() -> None:
        counts["after"] += 1
        flood_seen_by_tk.append(counts["flood"])
        tk_root.event_generate("<<Ping>>", when="tail")
        if counts["after"] >= target and counts["events"] >= target:
            box["enough"].set_result(None)
        else:
            drive.after(1, tk_tick)

    async def main():
        box["enough"] = asyncio.get_running_loop().create_future()
        flood = asyncio.create_task(_flood(counts, 10.0)())
        await asyncio.sleep(0)
        drive.after(1, tk_tick)
        await box["enough"]
        flood.cancel()
        return counts["flood"]

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    assert "flood gave up" not in counts, "Tk was starved by the guest flood"
    assert counts["after"] >= target and counts["events"] >= target - 1
    # The flood ran between Tk's callbacks (interleaving, not one after the
    # other).
    assert flood_seen_by_tk[-1] > flood_seen_by_tk[0] > 0
    assert finished.task.result() > 0


def test_guest_flood_does_not_starve_tk_idle_tasks(tk_root, drive,
                                                   loop_factory):
    """Tk redraws, geometry management and window mapping are idle
    handlers: a busy guest must let them run too (not only timers)."""
    map_root(tk_root)
    counts: dict[str, Any] = {"flood": 0}
    seen: dict[str, Any] = {}
    box: dict[str, Any] = {}

    def idle_callback() -> None:
        seen["idle ran during flood"] = not box["flood"].done()

    def during_flood() -> None:
        tk_root.after_idle(idle_callback)
        top = tkinter.Toplevel(tk_root)
        top.geometry("50x50+100+100")
        box["top"] = top

        def check_mapped() -> None:
            if box["flood"].done():
                box["finished"].set_result(None)
            elif top.winfo_ismapped():
                seen["toplevel mapped during flood"] = True
                if "idle ran during flood" in seen:
                    box["finished"].set_result(None)
                else:
                    drive.after(5, check_mapped)
            else:
                drive.after(5, check_mapped)

        check_mapped()

    async def main():
        box["finished"] = asyncio.get_running_loop().create_future()
        box["flood"] = asyncio.create_task(_flood(counts, 3.0)())
        await asyncio.sleep(0)
        drive.after(1, during_flood)
        await box["finished"]
        box["flood"].cancel()

    start_and_mainloop(tk_root, main, loop_factory=loop_factory)
    drive.check()
    assert seen.get("idle ran during flood") is True, (
        "after_idle callbacks did not run while the guest was busy "
        f"(flood iterations: {counts['flood']})")
    assert seen.get("toplevel mapped during flood") is True


def test_host_that_never_idles_does_not_starve_a_busy_guest(tk_root,
                                                            loop_factory):
    """A chain of after(0) callbacks keeps Tcl from ever going idle, and a
    busy guest's next slice waits for idle (so that Tk redraws first): a
    fallback timer must run the slice anyway.  The guest records the chain's
    progress each time it runs; it must run while the chain is going, not
    only before it starts and after it ends."""
    chain = {"n": 0, "end": 0.0}
    seen: list[int] = []
    box: dict[str, Any] = {}

    def link() -> None:
        chain["n"] += 1
        if time.monotonic() < chain["end"]:
            tk_root.after(0, link)
        else:
            chain["done"] = chain["n"]

    async def main():
        chain["end"] = time.monotonic() + 0.3
        tk_root.after(0, link)
        while "done" not in chain:  # busy: every slice is a full one
            seen.append(chain["n"])
            await asyncio.sleep(0)
        return chain["done"]

    total = guest_tk.run(tk_root, main, loop_factory=loop_factory)
    assert total and total > 100, total  # the chain did run
    during = {n for n in seen if 0 < n < total}
    assert len(during) >= 5, (
        f"the guest ran only {len(during)} times during the host's 300 ms "
        f"chain of {total} after(0) callbacks")


# -- 6. idle guest: no wake-ups ----------------------------------------------------

def test_idle_guest_does_not_wake_host(tk_root, drive, loop_factory):
    map_root(tk_root)
    box: dict[str, Any] = {}
    samples: list[int] = []
    tk_activity = {"after": 0, "events": 0}
    tk_root.bind("<<Busy>>", lambda e: tk_activity.__setitem__(
        "events", tk_activity["events"] + 1))

    async def main():
        box["parked"] = True
        await asyncio.sleep(LONG)

    def busy_tk() -> None:  # Tk keeps running its own timers and events
        tk_activity["after"] += 1
        tk_root.event_generate("<<Busy>>", when="tail")
        drive.after(10, busy_tk)

    def first_sample() -> None:
        samples.append(posts(box["run"]))
        busy_tk()
        drive.after(300, last_sample)

    def last_sample() -> None:
        samples.append(posts(box["run"]))
        box["run"].cancel()

    drive.when(lambda: box.get("parked", False)
               and is_waiting(box["run"]),
               first_sample, what="the guest to park")
    finished = Finished(tk_root)
    box["run"] = run = guest_tk.start(tk_root, main, done_callback=finished,
                                      loop_factory=loop_factory)
    finished.run = run
    tk_root.mainloop()
    drive.check()
    assert finished.task.cancelled()
    assert samples[0] >= 1  # the start itself was a wake-up: the counter works
    assert samples[1] == samples[0], (
        f"the idle guest woke the host {samples[1] - samples[0]} times")
    assert tk_activity["after"] >= 10 and tk_activity["events"] >= 9


# -- 7. re-entrancy: nested Tk loops -----------------------------------------------

def test_wait_window_inside_coroutine(tk_root, drive, loop_factory,
                                      loop_nesting):
    """A coroutine runs a modal dialog: root.wait_window(top) is a nested Tk
    loop inside a tick.  Tk keeps running (an after callback closes the
    dialog); the guest does not tick inside its own tick; then resumes."""
    map_root(tk_root)
    progress = {"n": 0}
    seen: dict[str, Any] = {}

    async def ticker():
        while True:
            progress["n"] += 1
            await asyncio.sleep(0.005)

    async def main():
        loop = asyncio.get_running_loop()
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        fut = loop.create_future()
        top = tkinter.Toplevel(tk_root)
        tkinter.Label(top, text="modal").pack()
        before = progress["n"]

        def close_dialog() -> None:  # runs in the nested Tk loop
            seen["progress during modal"] = progress["n"] - before
            fut.set_result("set during the modal loop")
            top.destroy()

        drive.after(200, close_dialog)
        tk_root.wait_window(top)
        seen["after modal"] = progress["n"]
        result = await fut
        await asyncio.sleep(0.05)
        seen["resumed"] = progress["n"] - before
        t.cancel()
        return result

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == "set during the modal loop"
    assert seen["progress during modal"] == 0  # no tick inside the tick
    assert loop_nesting["max"] == 1
    assert seen["resumed"] > 0  # the guest resumed after the dialog


def test_wait_window_in_tk_callback_guest_keeps_running(tk_root, drive,
                                                        loop_factory,
                                                        loop_nesting):
    """A plain Tk callback runs a modal loop (wait_window); the guest keeps
    making progress inside it, and finally closes the dialog itself."""
    map_root(tk_root)
    progress = {"n": 0}
    info: dict[str, Any] = {}

    def modal() -> None:
        top = tkinter.Toplevel(tk_root)
        info["before"] = progress["n"]
        info["top"] = top
        tk_root.wait_window(top)
        info["after"] = progress["n"]
        info["top destroyed"] = is_destroyed(top)

    async def main():
        while "top" not in info:
            progress["n"] += 1
            await asyncio.sleep(0.005)
        start = progress["n"]
        while progress["n"] < start + 20:
            progress["n"] += 1
            await asyncio.sleep(0.005)
        info["top"].destroy()  # ends the Tk callback's modal loop
        while "after" not in info:
            await asyncio.sleep(0.005)
        return progress["n"]

    def modal_guard() -> None:  # the guest never closed the dialog
        if "after" not in info:
            drive.fail("the guest did not close the dialog")

    drive.after(50, modal)
    drive.after(10_000, modal_guard)
    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    finished.task.result()
    assert info["after"] - info["before"] >= 20
    assert info["top destroyed"]
    assert loop_nesting["max"] == 1


def test_update_called_from_coroutine(tk_root, drive, loop_factory):
    label = tkinter.Label(tk_root, text="x")
    label.pack()
    map_root(tk_root)
    ran: list[str] = []
    tk_root.bind("<<Upd>>", lambda e: ran.append("event"))

    async def main():
        await asyncio.sleep(0.01)
        width_before = label.winfo_width()
        tk_root.after(0, lambda: ran.append("after"))
        tk_root.event_generate("<<Upd>>", when="tail")
        label.configure(text="a much longer text " * 3)
        tk_root.update()  # a nested Tk loop inside a tick
        seen = (sorted(ran), width_before, label.winfo_width())
        await asyncio.sleep(0.01)  # and the guest goes on afterwards
        return seen

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    ran_during_update, width_before, width_after = finished.task.result()
    assert ran_during_update == ["after", "event"]
    assert width_after > width_before


# -- 8. real async I/O from a button ----------------------------------------------

def test_tcp_echo_driven_by_button(tk_root, drive, loop_factory):
    label = tkinter.Label(tk_root, text="(no reply yet)")
    label.pack()
    button = tkinter.Button(tk_root, text="send")
    button.pack()
    map_root(tk_root)
    box: dict[str, Any] = {}

    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def on_click():
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       box["port"])
        writer.write(b"hello from tk\n")
        await writer.drain()
        box["reply"] = await reader.readline()
        writer.close()
        await writer.wait_closed()
        label.configure(text=box["reply"].decode().strip())

    button.configure(command=guest_tk.async_handler(on_click))

    async def main():
        box["shown"] = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            box["port"] = server.sockets[0].getsockname()[1]
            # The Tk side reports what the label shows.
            shown = await box["shown"]
        return box["reply"], shown

    def label_changed() -> bool:
        return label.cget("text") != "(no reply yet)"

    drive.when(lambda: "port" in box, button.invoke,
               what="the server to listen")
    drive.when(lambda: "port" in box and label_changed(),
               lambda: box["shown"].set_result(label.cget("text")),
               what="the reply in the label")
    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    assert finished.task.result() == (b"HELLO FROM TK\n", "HELLO FROM TK")
    assert label.cget("text") == "HELLO FROM TK"


# -- 9. repeated runs ----------------------------------------------------------------

def _resources() -> tuple[int, list[str]]:
    threads = len(tids())
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            pass  # the listing's own fd
    return threads, sorted(fds)


def test_repeated_runs_leak_no_threads_or_fds(display, loop_factory):
    async def main(i):
        await asyncio.sleep(0.005)
        # The default executor: a thread the teardown must shut down.
        v = await asyncio.to_thread(lambda: i * 2)
        reader, writer = await asyncio.open_connection(*box["addr"])
        writer.close()
        await writer.wait_closed()
        return v

    box: dict[str, Any] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    box["addr"] = listener.getsockname()[:2]
    try:
        def one(i: int) -> None:
            root = tkinter.Tk()
            root.geometry("100x50+0+0")
            assert guest_tk.run(root, main, i, loop_factory=loop_factory) \
                == i * 2
            assert is_destroyed(root)
            del root
            # The server side of the connection.
            conn, _ = listener.accept()
            conn.close()

        one(-1)  # warm-up: the Tcl notifier thread, lazily loaded modules
        gc.collect()
        before = _resources()
        for i in range(10):
            one(i)
        gc.collect()
        after = _resources()
    finally:
        listener.close()
    assert after[0] == before[0], f"threads: {before[0]} -> {after[0]}"
    assert after[1] == before[1], f"fds: {before[1]} -> {after[1]}"
    assert asyncio_guest.current_run() is None


# -- 10. errors ----------------------------------------------------------------------

def test_start_rejects_non_widget(tk_root, loop_factory):
    calls: list[Any] = []

    async def main():
        calls.append(1)

    for bad in (object(), None, "."):
        with pytest.raises(TypeError, match="tkinter widget"):
            guest_tk.start(bad, main, loop_factory=loop_factory)
    frame = tkinter.Frame(tk_root)
    with pytest.raises(TypeError, match="tkinter.Tk"):
        guest_tk.run(frame, main, loop_factory=loop_factory)
    assert calls == []
    assert asyncio_guest.current_run() is None


def test_second_start_on_same_thread_raises(tk_root, drive, loop_factory):
    second_root = tkinter.Tk()
    second_root.withdraw()
    outcomes: dict[str, Any] = {}
    other_calls: list[Any] = []

    async def other():
        other_calls.append(1)

    async def main():
        await asyncio.sleep(0)
        for name, root in (("same root", tk_root),
                           ("another root", second_root)):
            try:
                guest_tk.start(root, other, loop_factory=loop_factory)
            except RuntimeError as exc:
                outcomes[name] = exc
            else:
                outcomes[name] = "started"
        await asyncio.sleep(0.01)  # the first run is unaffected
        return "first run ok"

    try:
        run, finished = start_and_mainloop(tk_root, main,
                                           loop_factory=loop_factory)
        assert finished.task.result() == "first run ok"
        for name in ("same root", "another root"):
            assert isinstance(outcomes[name], RuntimeError), outcomes
            assert "already hosts a guest run" in str(outcomes[name])
        assert other_calls == []

        # The thread is free again once the first run is done.
        run2, finished2 = start_and_mainloop(tk_root, other,
                                             loop_factory=loop_factory)
        finished2.task.result()
        assert other_calls == [1]
    finally:
        second_root.destroy()
    drive.check()


@pytest.mark.parametrize("why", ["non-widget", "second start"])
def test_rejected_start_closes_coroutine_object(tk_root, drive, loop_factory,
                                                why):
    """A coroutine object handed to a start that fails is closed, as
    start_guest_run does on its own errors: no 'never awaited' warning."""

    async def coro_fn():
        pass

    async def main():
        await asyncio.sleep(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            coro = coro_fn()
            with pytest.raises((TypeError, RuntimeError)):
                guest_tk.start(object() if why == "non-widget" else tk_root,
                               coro, loop_factory=loop_factory)
            closed = coro.cr_frame is None
            del coro
            gc.collect()
        never_awaited = [str(w.message) for w in caught
                         if "never awaited" in str(w.message)]
        return closed, never_awaited

    run, finished = start_and_mainloop(tk_root, main,
                                       loop_factory=loop_factory)
    drive.check()
    closed, never_awaited = finished.task.result()
    assert never_awaited == []
    assert closed


# -- the native waker binds to _tkinter's own Tcl ---------------------------

def test_one_tcl_library_in_the_process(tk_root, loop_factory):
    """The core is built against the Tcl stubs library: it links no libtcl
    of its own and takes its Tcl functions from _tkinter's interpreter.  Two
    Tcl libraries would mean two notifiers, and alerts that wake nobody."""
    import re

    import asyncio_guest._core as core

    seen = {}

    async def main():
        with open("/proc/self/maps") as f:
            seen["tcl"] = {m.group(0) for m in
                           re.finditer(r"\S*libtcl[^/\s]*\.so[^/\s]*",
                                       f.read())}
        return await asyncio.sleep(0, "ok")

    assert guest_tk.run(tk_root, main, loop_factory=loop_factory) == "ok"
    assert len(seen["tcl"]) == 1, seen["tcl"]
    with open(core.__file__, "rb") as f:
        assert b"libtcl" not in f.read(), "the core links a libtcl itself"
    # the native waker's Tcl is _tkinter's; a core built without Tcl has
    # none (and then the host wakes Tk through tkinter)
    assert core.TCL_VERSION in (str(tkinter.TclVersion), "none")
    assert (guest_tk.NATIVE_WAKER is None) == (core.TCL_VERSION == "none")


# -- signals while Tk sleeps --------------------------------------------------

def test_signal_while_tk_is_idle_reaches_the_guest(tk_root, loop_factory):
    """A signal sent while the guest is idle and Tk blocks in its notifier
    must wake the guest (stdlib loop: through the loop's own wake-up fd;
    uvloop, which holds that fd only inside its ticks: through the guest's
    own socket), not wait for the next unrelated Tk event."""
    import signal

    tk_root.update()  # mapped, exposed: no Tk event is pending any more

    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        guest = asyncio_guest.current_run()._runner.core

        def kill_when_idle() -> None:
            deadline = time.monotonic() + 5
            while (guest.state != waiting_state(guest)
                   and time.monotonic() < deadline):
                time.sleep(0.001)
            time.sleep(0.05)  # let Tk settle into its own wait
            os.kill(os.getpid(), signal.SIGUSR1)

        sender = threading.Thread(target=kill_when_idle)
        sender.start()
        try:
            return await asyncio.wait_for(got, 10)
        finally:
            await asyncio.to_thread(sender.join)

    before = signal.getsignal(signal.SIGUSR1)
    assert guest_tk.run(tk_root, main, loop_factory=loop_factory) == "usr1"
    assert signal.getsignal(signal.SIGUSR1) == before


def test_keyboard_interrupt_in_guest_cancels_main_once(tk_root, loop_factory):
    """Ctrl-C inside the guest: tk.run re-raises it after the teardown, and
    the main task is cancelled once only, so its clean-up (which awaits)
    completes, as under asyncio.run."""
    log: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def main():
        asyncio.get_running_loop().call_later(0.05, interrupt)
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")

    with pytest.raises(KeyboardInterrupt):
        guest_tk.run(tk_root, main, loop_factory=loop_factory)
    assert log == ["main finally"]
    assert asyncio_guest.current_run() is None
