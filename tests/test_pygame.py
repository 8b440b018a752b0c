"""The pygame host: asyncio as a guest of a real pygame event loop.

pygame runs with SDL's dummy video and audio drivers (set here, before
pygame is imported), so the tests need no display.  Everything else is real:
``pygame.init()``, a display surface, SDL's event queue, events posted with
``pygame.event.post`` and by SDL timers (``pygame.time.set_timer``), and user
loops written the two usual ways: blocking in ``pygame.event.wait()``, or
polling ``pygame.event.get()`` once a frame with ``clock.tick(60)``.

Waiting is bounded by a guard (an SDL timer event for blocking loops, a
clock for polling ones); a condition never met records a failure, cancels the
run and lets the teardown finish, so a broken wake-up fails the test instead
of hanging it.  Flooding guests carry their own deadline, since a starved
user loop could not run the guard.  No speed assertions.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Optional  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

import asyncio_guest  # noqa: E402
from asyncio_guest import pygame as guest_pygame  # noqa: E402
from drive_helpers import Driver  # noqa: E402

LONG = 3600.0  # "an hour": a deadline nobody may wait for
GUARD = 15.0  # seconds any single wait in a test may take

# Event types of the tests' own (not the guest's).
GUARD_EVENT = pygame.event.custom_type()
CHECK_EVENT = pygame.event.custom_type()
MINE = pygame.event.custom_type()

MODES = ["wait", "poll"]


# -- fixtures and helpers ------------------------------------------------------

@pytest.fixture
def pg() -> Any:
    """pygame initialized, with a (dummy) display surface; nothing left
    running on this thread afterwards."""
    pygame.init()
    screen = pygame.display.set_mode((64, 48))
    pygame.event.clear()
    yield screen
    if pygame.get_init():  # the test may have quit pygame itself
        pygame.time.set_timer(GUARD_EVENT, 0)
        pygame.time.set_timer(CHECK_EVENT, 0)
    leftover = asyncio_guest.current_run()
    if leftover is not None:  # a failed test: finish its run
        leftover.cancel()
        end = time.monotonic() + GUARD
        while (not leftover.done and time.monotonic() < end
               and pygame.get_init()):
            guest_pygame.process(pygame.event.wait(50))
    pygame.quit()
    assert leftover is None, f"a guest run was left running: {leftover!r}"


class UserLoop:
    """The user's own pygame loop, written one of the two usual ways.

    ``mode="wait"``: ``event = pygame.event.wait()`` (blocks; an SDL timer
    posts a guard event after ``GUARD`` s).  ``mode="poll"``: every frame,
    ``for event in pygame.event.get()`` then ``clock.tick(60)``.

    Every event goes to ``guest_pygame.process`` first; the others to
    ``on_event``; ``on_frame`` runs once per poll frame."""

    def __init__(self, mode: str) -> None:
        assert mode in MODES
        self.mode = mode
        # Records failures; on one it cancels the run and lets its
        # teardown finish here (nothing else would run the user loop).
        self.driver = Driver(finish_run=_finish_cancelled_run)
        self.frames = 0
        self.ours = 0  # events process() consumed

    def handle(self, event: Any, on_event: Optional[Callable[[Any], object]]
               ) -> None:
        if guest_pygame.process(event):
            self.ours += 1
            return
        if event.type == GUARD_EVENT:
            raise TimeoutError
        if on_event is not None:
            on_event(event)

    def run(self, until: Callable[[], bool], *,
            on_event: Optional[Callable[[Any], object]] = None,
            on_frame: Optional[Callable[[], object]] = None,
            what: str = "a condition", timeout: float = GUARD) -> None:
        try:
            if self.mode == "wait":
                pygame.time.set_timer(GUARD_EVENT, int(timeout * 1000), 1)
                try:
                    while not until():
                        self.handle(pygame.event.wait(), on_event)
                finally:
                    pygame.time.set_timer(GUARD_EVENT, 0)
            else:
                clock = pygame.time.Clock()
                deadline = time.monotonic() + timeout
                while not until():
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    for event in pygame.event.get():
                        self.handle(event, on_event)
                    if on_frame is not None:
                        on_frame()
                    self.frames += 1
                    clock.tick(60)
        except TimeoutError:
            self.driver.timed_out(timeout, what)

    def check(self) -> None:
        self.driver.check()


def _finish_cancelled_run(run: Any) -> None:
    end = time.monotonic() + GUARD
    while not run.done and time.monotonic() < end:
        guest_pygame.process(pygame.event.wait(50))


class Finished:
    """A done_callback recording its calls (task, thread, loop closed)."""

    def __init__(self) -> None:
        self.calls: list[tuple[asyncio.Task, int, bool]] = []
        self.run: Any = None

    def __call__(self, task: asyncio.Task) -> None:
        closed = self.run is not None and self.run.loop.is_closed()
        self.calls.append((task, threading.get_ident(), closed))

    @property
    def done(self) -> bool:
        return bool(self.calls)

    @property
    def task(self) -> asyncio.Task:
        assert len(self.calls) == 1, self.calls
        return self.calls[0][0]


def start(main: Any, *args: Any, loop_factory: Any) -> tuple[Any, Finished]:
    finished = Finished()
    run = guest_pygame.start(main, *args, done_callback=finished,
                             loop_factory=loop_factory)
    finished.run = run
    return run, finished


def check_finished(run: Any, finished: Finished) -> asyncio.Task:
    task, thread, loop_closed = finished.calls[0]
    assert len(finished.calls) == 1
    assert thread == threading.get_ident()
    assert loop_closed and run.done and run.loop.is_closed()
    assert asyncio_guest.current_run() is None
    return task


def backend_state(run: Any) -> str:
    return run._runner.core.state


def posts(run: Any) -> int:
    return run._runner.core.posts


def next_timer_in(run: Any) -> Optional[float]:
    timeout: Optional[float] = run._runner.driver.timeout()
    return timeout


async def echo_server() -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass  # the client went away mid-echo
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def echo_round_trips(n: int) -> list[bytes]:
    server, port = await echo_server()
    replies = []
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(n):
                line = f"ping {i}\n".encode()
                writer.write(line)
                replies.append(await reader.readline())
        finally:
            writer.close()
            await writer.wait_closed()
    return replies


# -- 1. real input events reach async handlers on the guest loop ---------------

@pytest.mark.parametrize("mode", MODES)
def test_input_events_reach_async_handler_on_guest_loop(pg, loop_factory,
                                                        mode):
    seen: list[tuple[int, dict, Any, Any]] = []
    box: dict[str, Any] = {}

    async def on_input(event):
        await asyncio.sleep(0.001)  # really suspends, on the guest loop
        seen.append((event.type, dict(event.dict),
                     asyncio.get_running_loop(), asyncio.current_task()))
        if len(seen) == 3:
            box["all"].set_result(len(seen))

    handler = guest_pygame.async_handler(on_input)

    def on_event(event):
        if event.type in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN,
                          pygame.USEREVENT):
            handler(event)

    async def main():
        box["all"] = asyncio.get_running_loop().create_future()
        return await box["all"]

    run, finished = start(main, loop_factory=loop_factory)
    pygame.event.post(pygame.event.Event(
        pygame.KEYDOWN, key=pygame.K_a, mod=0, unicode="a", scancode=4))
    pygame.event.post(pygame.event.Event(
        pygame.MOUSEBUTTONDOWN, button=1, pos=(10, 20)))
    pygame.event.post(pygame.event.Event(pygame.USEREVENT, payload="hello"))
    user = UserLoop(mode)
    user.run(lambda: finished.done, on_event=on_event, what="the handlers")
    user.check()

    task = check_finished(run, finished)
    assert task.result() == 3
    assert [s[0] for s in seen] == [pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN,
                                    pygame.USEREVENT]
    assert seen[0][1]["key"] == pygame.K_a
    assert seen[1][1]["button"] == 1 and seen[1][1]["pos"] == (10, 20)
    assert seen[2][1]["payload"] == "hello"
    for _, _, loop, handler_task in seen:
        assert loop is run.loop
        assert handler_task is not None and handler_task is not run.task
    assert user.ours > 0


# -- 2. guest I/O while the user loop blocks or polls --------------------------

@pytest.mark.parametrize("mode", MODES)
def test_guest_tcp_echo_completes_under_user_loop(pg, loop_factory, mode):
    n = 30
    run, finished = start(echo_round_trips, n, loop_factory=loop_factory)
    user = UserLoop(mode)
    user.run(lambda: finished.done, what="the echo round trips")
    user.check()
    task = check_finished(run, finished)
    assert task.result() == [f"ping {i}\n".encode() for i in range(n)]
    if mode == "poll":
        assert user.frames > 0


def test_guest_io_while_user_loop_sees_no_other_event(pg, loop_factory):
    """The strict form of the blocking case: the user loop is blocked in
    ``pygame.event.wait()`` and the only events it ever gets are ours."""
    others: list[Any] = []
    run, finished = start(echo_round_trips, 10, loop_factory=loop_factory)
    user = UserLoop("wait")
    user.run(lambda: finished.done, on_event=others.append, what="the echo")
    user.check()
    assert len(check_finished(run, finished).result()) == 10
    assert [e for e in others if e.type not in (
        pygame.AUDIODEVICEADDED, pygame.ACTIVEEVENT, pygame.WINDOWSHOWN,
        pygame.VIDEOEXPOSE, pygame.WINDOWEXPOSED)] == []


# -- 3. run(): result, exception, pygame.QUIT ------------------------------------

def test_run_returns_result_and_passes_other_events(pg, loop_factory):
    got: list[Any] = []

    async def main(a, b):
        loop = asyncio.get_running_loop()
        pygame.event.post(pygame.event.Event(MINE, n=1))
        await asyncio.sleep(0.02)
        got.append(("loop", loop))
        return a + b

    result = guest_pygame.run(main, 40, 2, loop_factory=loop_factory,
                              on_event=got.append)
    assert result == 42
    mine = [e for e in got if getattr(e, "type", None) == MINE]
    assert len(mine) == 1 and mine[0].n == 1
    loops = [x[1] for x in got if isinstance(x, tuple)]
    assert loops[0].is_closed()
    assert asyncio_guest.current_run() is None
    assert pygame.get_init()  # run() leaves pygame initialized


def test_types_the_program_allocates_after_a_quit_are_not_the_guests(
        pg, loop_factory):
    """pygame.quit() restarts custom_type()'s count: the types a program
    allocates after a quit()/init() (here 40 of them) are never
    TICK_EVENT, and their events reach the program, not the guest."""
    pygame.quit()
    pygame.init()
    pygame.display.set_mode((64, 48))
    fresh = [pygame.event.custom_type() for _ in range(40)]
    assert guest_pygame.TICK_EVENT not in fresh
    got: list[Any] = []

    async def main() -> str:
        for t in fresh:
            pygame.event.post(pygame.event.Event(t))
            await asyncio.sleep(0)
        await asyncio.sleep(0.02)
        return "done"

    assert guest_pygame.run(main, loop_factory=loop_factory,
                            on_event=got.append) == "done"
    assert [e.type for e in got if e.type in fresh] == fresh


def test_run_reraises_main_exception(pg, loop_factory):
    class Boom(Exception):
        pass

    async def main():
        await asyncio.sleep(0.01)
        raise Boom("from main")

    with pytest.raises(Boom, match="from main"):
        guest_pygame.run(main, loop_factory=loop_factory)
    assert asyncio_guest.current_run() is None


@pytest.mark.parametrize("fps", [None, 60])
def test_run_quit_during_long_sleep_returns_none_after_teardown(
        pg, loop_factory, fps):
    log: list[str] = []
    loops: list[Any] = []
    seen_quit: list[Any] = []
    frames: list[float] = []

    async def other():
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("other finally")

    async def main():
        loops.append(asyncio.get_running_loop())
        asyncio.create_task(other())
        await asyncio.sleep(0)
        log.append("main waiting")
        # The window manager's close button, in effect; handled once this
        # tick is over, so main is then asleep.
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")
        return "main was not cancelled"

    def on_event(event):
        if event.type == pygame.QUIT:
            seen_quit.append(event)
        elif event.type == GUARD_EVENT:
            raise TimeoutError("run() did not end after pygame.QUIT")

    kw: dict[str, Any] = {}
    if fps is not None:
        kw = {"fps": fps, "on_frame": lambda: frames.append(time.monotonic())}
    pygame.time.set_timer(GUARD_EVENT, int(GUARD * 1000), 1)
    result = guest_pygame.run(main, loop_factory=loop_factory,
                              on_event=on_event, **kw)
    assert result is None
    assert log == ["main waiting", "main finally", "other finally"]
    assert loops[0].is_closed()
    assert len(seen_quit) == 1
    assert asyncio_guest.current_run() is None
    if fps is not None:
        assert frames


def test_run_second_quit_does_not_interrupt_cleanup(pg, loop_factory):
    log: list[str] = []

    async def main():
        log.append("main waiting")
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        try:
            await asyncio.sleep(LONG)
        finally:
            log.append("cleanup started")
            pygame.event.post(pygame.event.Event(pygame.QUIT))  # impatient
            await asyncio.sleep(0.05)
            log.append("cleanup finished")

    def on_event(event):
        if event.type == GUARD_EVENT:
            raise TimeoutError("run() did not end after pygame.QUIT")

    pygame.time.set_timer(GUARD_EVENT, int(GUARD * 1000), 1)
    assert guest_pygame.run(main, loop_factory=loop_factory,
                            on_event=on_event) is None
    assert log == ["main waiting", "cleanup started", "cleanup finished"]


def test_run_on_event_exception_completes_teardown_and_reraises(
        pg, loop_factory):
    log: list[str] = []

    async def main():
        try:
            pygame.event.post(pygame.event.Event(MINE))
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")

    def on_event(event):
        if event.type == MINE:
            raise ValueError("from on_event")

    with pytest.raises(ValueError, match="from on_event"):
        guest_pygame.run(main, loop_factory=loop_factory, on_event=on_event)
    assert log == ["main finally"]
    assert asyncio_guest.current_run() is None


def test_run_classic_quit_then_sys_exit_in_on_event(pg, loop_factory):
    """The classic pygame idiom, ``pygame.quit(); sys.exit()`` on QUIT, in
    on_event while the guest is busy with I/O: run() completes the teardown
    without pygame and re-raises SystemExit."""
    import sys

    log: list[str] = []
    loops: list[Any] = []

    async def main():
        loops.append(asyncio.get_running_loop())
        server, port = await echo_server()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(1_000_000):
                if i == 5:
                    pygame.event.post(pygame.event.Event(pygame.QUIT))
                writer.write(b"x\n")
                await reader.readline()
        finally:
            writer.close()
            await asyncio.sleep(0.01)  # awaits after pygame is gone
            server.close()
            log.append("main finally")

    def on_event(event):
        if event.type == pygame.QUIT:
            pygame.quit()
            sys.exit(3)

    with pytest.raises(SystemExit) as info:
        guest_pygame.run(main, loop_factory=loop_factory, on_event=on_event)
    assert info.value.code == 3
    assert log == ["main finally"]
    assert loops[0].is_closed()
    assert asyncio_guest.current_run() is None


def test_keyboard_interrupt_in_guest_reraised_by_run_after_teardown(
        pg, loop_factory):
    log: list[str] = []

    async def other():
        try:
            await asyncio.sleep(LONG)
        finally:
            log.append("other finally")

    async def main():
        asyncio.create_task(other())
        await asyncio.sleep(0.01)
        asyncio.get_running_loop().call_soon(_raise_keyboard_interrupt)
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0.01)
            log.append("main finally")

    with pytest.raises(KeyboardInterrupt):
        guest_pygame.run(main, loop_factory=loop_factory)
    assert sorted(log) == ["main finally", "other finally"]
    assert asyncio_guest.current_run() is None


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


# -- 4. fairness: a flooding guest does not stop the user's loop ---------------

def _flood(counts: dict[str, Any], seconds: float) -> Callable[[], Any]:
    async def flood():
        deadline = time.monotonic() + seconds
        while True:
            counts["flood"] += 1
            if time.monotonic() > deadline:
                counts["flood gave up"] = True
                return
            await asyncio.sleep(0)
    return flood


@pytest.mark.parametrize("mode", MODES)
def test_guest_flood_does_not_starve_user_events(pg, loop_factory, mode):
    """The guest never waits for anything; the user loop posts its own
    events one after another (each handled event posts the next) and must
    handle ``target`` of them while the flood goes on."""
    counts: dict[str, Any] = {"flood": 0, "mine": 0}
    flood_at_mine: list[int] = []
    target = 100 if mode == "wait" else 20
    box: dict[str, Any] = {}

    async def main():
        box["flood"] = asyncio.create_task(_flood(counts, GUARD)())
        box["enough"] = asyncio.get_running_loop().create_future()
        pygame.event.post(pygame.event.Event(MINE))
        await box["enough"]
        return counts["flood"]

    def on_event(event):
        if event.type != MINE:
            return
        counts["mine"] += 1
        flood_at_mine.append(counts["flood"])
        if counts["mine"] >= target:
            if not box["enough"].done():
                box["enough"].set_result(None)
        else:
            pygame.event.post(pygame.event.Event(MINE))

    run, finished = start(main, loop_factory=loop_factory)
    user = UserLoop(mode)
    user.run(lambda: finished.done, on_event=on_event, what="the flood test")
    user.check()
    task = check_finished(run, finished)
    assert "flood gave up" not in counts, "the user loop was starved"
    assert counts["mine"] == target
    assert task.result() > 0
    # The guest kept running between the user's events: interleaved.
    assert flood_at_mine[-1] > flood_at_mine[0]


# -- 5. idle: no wake-ups while the guest sleeps --------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_idle_guest_makes_no_wakeups(pg, loop_factory, mode):
    box: dict[str, Any] = {}

    async def main():
        box["parked"] = True
        await asyncio.sleep(LONG)

    run, finished = start(main, loop_factory=loop_factory)
    user = UserLoop(mode)
    # The backend thread enters its poll a moment after the last tick:
    # a periodic SDL timer makes a blocked user loop look again.
    pygame.time.set_timer(CHECK_EVENT, 5)
    user.run(lambda: box.get("parked") and backend_state(run) == "polling",
             what="the guest to park")
    pygame.time.set_timer(CHECK_EVENT, 0)
    pygame.event.clear(CHECK_EVENT)
    before = posts(run)
    ours_before = user.ours
    # The user loop runs 0.3 s; in wait mode a periodic SDL timer makes it
    # look at the clock (SDL's timers may fire a little early).
    end = time.monotonic() + 0.3
    pygame.time.set_timer(CHECK_EVENT, 20)
    user.run(lambda: time.monotonic() >= end, what="0.3 s to pass")
    pygame.time.set_timer(CHECK_EVENT, 0)
    after = posts(run)
    ours_after = user.ours
    state = backend_state(run)
    run.cancel()
    user.run(lambda: finished.done, what="the teardown")
    user.check()
    assert after == before, f"{after - before} wake-ups while idle"
    assert ours_after == ours_before, "events of the guest while idle"
    assert state == "polling"
    assert check_finished(run, finished).cancelled()


# -- 6. stale deadline: the user loop schedules work while the guest sleeps ------

WAKE_ACTIONS = ["set_result", "create_task", "call_later", "task_cancel",
                "async_handler"]


@pytest.mark.parametrize("how", WAKE_ACTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_user_loop_wakes_guest_parked_for_an_hour(pg, loop_factory, mode,
                                                   how):
    box: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    async def set_from_task(value):
        box["fut"].set_result(value)

    async def main():
        loop = asyncio.get_running_loop()
        box["fut"] = loop.create_future()
        box["sleeper"] = asyncio.create_task(asyncio.sleep(LONG))
        box["parked"] = True
        if how == "task_cancel":
            try:
                await box["sleeper"]
            except asyncio.CancelledError:
                return "sleeper cancelled"
            return "sleeper finished?!"
        return await box["fut"]

    def parked() -> bool:
        return box.get("parked", False) and backend_state(run) == "polling"

    def on_event(event):
        if event.type == CHECK_EVENT and "acted" not in seen and parked():
            # Nothing else would wake the user loop: it pokes itself.
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN,
                                                 key=pygame.K_SPACE))
        elif event.type == pygame.KEYDOWN and "acted" not in seen:
            seen["acted"] = True
            seen["deadline"] = next_timer_in(run)
            seen["loop is guest"] = asyncio.get_running_loop() is run.loop
            if how == "set_result":
                box["fut"].set_result("set_result")
            elif how == "create_task":
                asyncio.create_task(set_from_task("create_task"))
            elif how == "call_later":
                asyncio.get_running_loop().call_later(
                    0.01, box["fut"].set_result, "call_later")
            elif how == "task_cancel":
                box["sleeper"].cancel()
            elif how == "async_handler":
                guest_pygame.async_handler(set_from_task)("async_handler")

    run, finished = start(main, loop_factory=loop_factory)
    pygame.time.set_timer(CHECK_EVENT, 10)
    user = UserLoop(mode)
    user.run(lambda: finished.done, on_event=on_event,
             what="the guest to react")
    pygame.time.set_timer(CHECK_EVENT, 0)
    user.check()
    task = check_finished(run, finished)
    expected = "sleeper cancelled" if how == "task_cancel" else how
    assert task.result() == expected
    # It really was a stale deadline: the only timer was an hour away.
    assert seen["deadline"] is not None and seen["deadline"] > LONG - 60
    assert seen["loop is guest"] is True


# -- 7. errors ----------------------------------------------------------------

def test_start_before_pygame_init_raises(loop_factory):
    pygame.quit()
    coro_closed: list[bool] = []

    async def main():
        return 1

    coro = main()
    with pytest.raises(RuntimeError, match="pygame is not initialized"):
        guest_pygame.start(coro, loop_factory=loop_factory)
    # The coroutine given was closed (no "never awaited" warning).
    with pytest.raises(RuntimeError, match="cannot reuse already awaited"):
        coro.send(None)
    coro_closed.append(True)
    with pytest.raises(RuntimeError, match="pygame is not initialized"):
        guest_pygame.run(main, loop_factory=loop_factory)
    assert asyncio_guest.current_run() is None


def test_second_start_on_same_thread_raises(pg, loop_factory):
    async def main():
        await asyncio.sleep(LONG)

    run, finished = start(main, loop_factory=loop_factory)
    with pytest.raises(RuntimeError, match="already hosts a guest run"):
        guest_pygame.start(main, loop_factory=loop_factory)
    with pytest.raises(RuntimeError, match="already hosts a guest run"):
        guest_pygame.run(main, loop_factory=loop_factory)
    run.cancel()
    user = UserLoop("wait")
    user.run(lambda: finished.done, what="the teardown")
    user.check()
    assert check_finished(run, finished).cancelled()


def test_bad_arguments(pg, loop_factory):
    async def main():
        return 1

    with pytest.raises(TypeError, match="pygame event"):
        guest_pygame.process("not an event")  # type: ignore[arg-type]
    assert guest_pygame.process(pygame.event.Event(MINE)) is False
    with pytest.raises(TypeError):
        guest_pygame.start(42, loop_factory=loop_factory)
    with pytest.raises(TypeError, match="done_callback"):
        guest_pygame.start(main, done_callback=5, loop_factory=loop_factory)
    with pytest.raises(TypeError, match="on_event"):
        guest_pygame.run(main, on_event=5, loop_factory=loop_factory)
    with pytest.raises(TypeError, match="fps"):
        guest_pygame.run(main, fps="60", loop_factory=loop_factory)
    with pytest.raises(ValueError, match="fps"):
        guest_pygame.run(main, fps=0, loop_factory=loop_factory)
    with pytest.raises(ValueError, match="on_frame"):
        guest_pygame.run(main, on_frame=lambda: None,
                         loop_factory=loop_factory)
    with pytest.raises(TypeError, match="async function"):
        guest_pygame.async_handler(5)  # type: ignore[arg-type]
    handler = guest_pygame.async_handler(main)
    with pytest.raises(RuntimeError, match="no guest run on this thread"):
        handler()
    assert asyncio_guest.current_run() is None


def test_blocked_event_type_is_allowed_by_start(pg, loop_factory):
    """A program that blocks every event type but the ones it wants still
    gets a working guest: start() allows the guest's type."""
    pygame.event.set_blocked(None)
    pygame.event.set_allowed([pygame.QUIT, pygame.KEYDOWN])
    try:
        run, finished = start(echo_round_trips, 5, loop_factory=loop_factory)
        user = UserLoop("wait")
        user.run(lambda: finished.done, what="the echo")
        user.check()
        assert len(check_finished(run, finished).result()) == 5
    finally:
        pygame.event.set_allowed(None)
