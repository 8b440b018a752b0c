"""The host contract: the same scenarios on every host x mode x loop.

Hosts are in cases.py; every one this machine can run is run (a host that
cannot be set up fails, it is never skipped).  What is specific to one
toolkit stays in its own test file."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from typing import Any

import pytest

from cases import CASES, RAISES_CANCELLED, Case

import asyncio_guest

LONG = 3600.0  # "an hour": a deadline nobody may wait for
GUARD = 20.0  # seconds: a scenario taking this long has failed

def params(*cant: str) -> list[Any]:
    """host x mode, leaving out the hosts whose ``cant`` attributes give a
    reason why a scenario cannot happen there (see
    test_every_host_left_out_says_why)."""
    return [pytest.param((name, mode), id=f"{name}-{mode}")
            for name, cls in CASES.items() for mode in cls.modes
            if all(getattr(cls, c) is None for c in cant)]


def _make(request: pytest.FixtureRequest) -> Any:
    name, mode = request.param
    made: Case = CASES[name]()
    made.setup()
    made.mode = mode  # type: ignore[attr-defined]
    return made


def _case_fixture(*cant: str) -> Any:
    """A fixture: one host of cases.py per param (host x mode), leaving
    out those whose ``cant`` attributes say why they cannot; set up, then
    torn down (with whatever it captured)."""
    @pytest.fixture(params=params(*cant))
    def fixture(request: pytest.FixtureRequest, display: str) -> Any:
        made = _make(request)
        yield made
        made.release_reports()
        made.teardown()
    return fixture


case = _case_fixture()
nesting_case = _case_fixture("no_nesting")
handler_case = _case_fixture("no_handlers")
#: The hosts with a Host of their own that can nest a loop (a modal
#: dialog's): the toolkits and the example host.
toolkit_case = _case_fixture("no_nesting", "no_handlers")
bare_case = _case_fixture("no_bare_run")


@pytest.mark.parametrize("attr, hosts", [
    ("no_nesting", {"asyncio", "tornado", "trio"}),
    ("no_handlers", {"queue", "asyncio", "tornado", "trio"}),
    ("no_bare_run", {"queue", "asyncio", "tornado", "trio"}),
])
def test_every_host_left_out_says_why(attr: str, hosts: set[str]) -> None:
    """A host is left out of a scenario only with a reason, and only these:
    the async-framework hosts (a program runs its own loop's tasks inside
    them) and, for the toolkit helpers, the bare start_guest_run host."""
    left_out = {name: getattr(cls, attr) for name, cls in CASES.items()
                if getattr(cls, attr) is not None}
    assert set(left_out) == hosts
    assert all(len(why) > 20 for why in left_out.values())


def run(case: Any, main: Any, loop_factory: Any) -> Any:
    """Run ``main`` on the case's host, with a guard that closes the host
    after GUARD seconds (so a broken scenario fails instead of hanging)."""
    fired: list[bool] = []

    def guard() -> None:
        fired.append(True)
        case.close()

    async def guarded() -> Any:
        case.later(GUARD, lambda: None if done else guard())
        return await main()

    done = False
    try:
        return case.run(guarded, case.mode, loop_factory)
    finally:
        done = True
        assert not fired, "guard: the scenario did not finish in time"


def test_result_and_mode(case, loop_factory):
    async def main() -> Any:
        guest = asyncio_guest.current_run()
        await asyncio.sleep(0.01)
        await asyncio.to_thread(time.sleep, 0.01)
        return ("ok", guest.mode, threading.get_ident())

    result, mode, tid = run(case, main, loop_factory)
    assert result == "ok"
    assert mode == case.mode
    assert tid == threading.get_ident()  # the guest runs on the host thread
    assert asyncio_guest.current_run() is None


def test_exception_reaches_the_caller(case, loop_factory):
    class Boom(Exception):
        pass

    async def main() -> None:
        await asyncio.sleep(0)
        raise Boom("from the guest")

    with pytest.raises(Boom, match="from the guest"):
        run(case, main, loop_factory)


def test_close_cancels_once_and_completes_the_teardown(case, loop_factory):
    seen: list[str] = []

    async def main() -> None:
        case.later(0.05, case.close)
        case.later(0.1, case.close)  # an impatient second close
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            seen.append("cancelled")
            await asyncio.sleep(0.2)  # clean-up the second close must not cut
            seen.append("cleaned up")
            raise

    if case.on_close == RAISES_CANCELLED:
        with pytest.raises(asyncio.CancelledError):
            run(case, main, loop_factory)
    else:
        assert run(case, main, loop_factory) is None
    assert seen == ["cancelled", "cleaned up"]


@pytest.mark.parametrize("how", ["create_task", "set_result", "call_later",
                                 "cancel"])
def test_host_callback_wakes_a_parked_guest_now(case, loop_factory, how):
    """The guest sleeps with a one-hour deadline; a host callback schedules
    work; the guest runs it now (within the guard), not in an hour."""
    box: dict[str, Any] = {}

    async def set_it() -> None:
        box["fut"].set_result(how)

    def act() -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        box["loop is guest"] = running is box["loop"]
        loop = box["loop"]
        if how == "create_task":
            loop.create_task(set_it())
        elif how == "set_result":
            box["fut"].set_result(how)
        elif how == "call_later":
            loop.call_later(0.01, box["fut"].set_result, how)
        else:
            box["sleeper"].cancel()

    async def main() -> Any:
        loop = box["loop"] = asyncio.get_running_loop()
        box["fut"] = loop.create_future()
        box["sleeper"] = loop.create_task(asyncio.sleep(LONG))
        case.later(0.1, act)
        if how == "cancel":
            try:
                await box["sleeper"]
            except asyncio.CancelledError:
                return how
        value = await box["fut"]
        box["sleeper"].cancel()
        return value

    assert run(case, main, loop_factory) == how
    assert box["loop is guest"] is case.guest_runs_between_ticks


def test_a_flooded_guest_does_not_starve_the_host(case, loop_factory):
    """The guest keeps work ready all the time for 0.5 s; host timers still
    fire meanwhile."""
    fired: list[float] = []

    def host_timer() -> None:
        fired.append(time.monotonic())
        if len(fired) < 5:
            case.later(0.02, host_timer)

    async def main() -> int:
        case.later(0.01, host_timer)
        end = time.monotonic() + 0.5
        spins = 0
        while time.monotonic() < end and len(fired) < 5:
            await asyncio.sleep(0)
            spins += 1
        return spins

    spins = run(case, main, loop_factory)
    assert len(fired) == 5, f"host timers fired {len(fired)} times"
    assert spins > 10


def test_bad_input_is_refused_and_the_host_goes_on(case, loop_factory):
    def not_async() -> int:
        return 1

    for bad in (42, not_async):
        with pytest.raises(TypeError):
            case.run(bad, case.mode, loop_factory)

    async def main() -> str:
        await asyncio.sleep(0)
        return "still works"

    assert run(case, main, loop_factory) == "still works"


# -- modal dialogs and nested host loops ---------------------------------------

@pytest.mark.parametrize("how", ["modal", "pump"])
def test_a_modal_loop_in_a_host_callback_keeps_the_guest_running(
        nesting_case, loop_factory, loop_nesting, how):
    """A plain host callback opens the toolkit's modal loop (a dialog's
    exec/run/wait_window) or pumps the host loop by hand until the guest
    has advanced: the guest's ticks are delivered by that nested loop, its
    task advances meanwhile, never a tick inside a tick; then the callback
    returns and the run finishes normally."""
    case = nesting_case
    progress = {"n": 0}
    info: dict[str, Any] = {}

    def handler() -> None:  # plain, not a guest task
        info["before"] = progress["n"]
        deadline = time.monotonic() + 10

        def done() -> bool:
            return (progress["n"] >= info["before"] + 20
                    or time.monotonic() > deadline)
        if how == "modal":
            case.modal(done)
        else:
            while not done():
                case.pump()
        info["after"] = progress["n"]

    async def main() -> int:
        case.later(0.02, handler)
        while "after" not in info:
            progress["n"] += 1
            await asyncio.sleep(0.002)
        return progress["n"]

    total = run(case, main, loop_factory)
    assert info["after"] - info["before"] >= 20
    assert total >= info["after"]
    assert loop_nesting["max"] == 1


@pytest.mark.parametrize("how", ["modal", "pump"])
def test_a_modal_loop_in_a_coroutine_runs_host_events_but_no_tick(
        nesting_case, loop_factory, loop_nesting, how):
    """A coroutine opens a modal loop (or pumps the host by hand): host
    callbacks run inside it, the guest does not tick inside its own tick
    (its due timer waits), and it resumes once the modal loop returns."""
    case = nesting_case
    ran: list[str] = []

    async def ticker(progress: dict[str, int]) -> None:
        while True:
            progress["n"] += 1
            await asyncio.sleep(0.002)

    async def main() -> tuple[list[str], int, int]:
        progress = {"n": 0}
        t = asyncio.create_task(ticker(progress))
        await asyncio.sleep(0.02)
        case.later(0, lambda: ran.append("host callback"))
        before = progress["n"]
        until = time.monotonic() + 0.05  # the ticker's timer comes due

        def done() -> bool:
            return bool(ran) and time.monotonic() > until
        if how == "modal":
            case.modal(done)
        else:
            while not done():
                case.pump()
        during = progress["n"] - before
        await asyncio.sleep(0.02)
        resumed = progress["n"] - before
        t.cancel()
        return list(ran), during, resumed

    ran_inside, during, resumed = run(case, main, loop_factory)
    assert ran_inside == ["host callback"]
    assert during == 0  # no tick inside the tick
    assert resumed > 0
    assert loop_nesting["max"] == 1


# -- async handlers and event-driven programs ----------------------------------

def test_a_handler_returns_its_task_and_its_exception_reaches_the_toolkit(
        handler_case, loop_factory):
    """The host's async-handler helper, called from a host callback,
    returns the task it started; an exception escaping that task goes where
    the toolkit sends one escaping an ordinary callback (Tk's
    report_callback_exception, else sys.excepthook), once, with the
    coroutine's traceback; a cancelled one reports nothing."""
    case = handler_case
    reports: list[BaseException] = []
    case.capture_reports(reports)

    class Boom(Exception):
        pass

    async def ok(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    async def failing() -> None:
        await asyncio.sleep(0)
        raise Boom("from a handler")

    async def endless() -> None:
        await asyncio.sleep(LONG)

    handlers = [case.handler(f) for f in (ok, failing, endless)]
    box: dict[str, Any] = {}

    def from_host() -> None:  # a host callback, as a button's command
        box["tasks"] = (handlers[0](21), handlers[1](), handlers[2]())

    async def main() -> Any:
        case.later(0.01, from_host)
        while "tasks" not in box:
            await asyncio.sleep(0.005)
        t_ok, t_fail, t_endless = box["tasks"]
        t_endless.cancel()
        value = await t_ok
        await asyncio.wait([t_fail, t_endless])
        for _ in range(5):
            await asyncio.sleep(0)  # done callbacks have run
        return value, box["tasks"]

    value, tasks = run(case, main, loop_factory)
    assert all(isinstance(t, asyncio.Task) for t in tasks)
    assert value == 42
    assert tasks[2].cancelled()
    assert len(reports) == 1, reports
    assert isinstance(reports[0], Boom)
    frames = [f.name for f in traceback.extract_tb(reports[0].__traceback__)]
    assert "failing" in frames, frames


def test_run_without_a_coroutine_runs_until_the_host_closes(bare_case,
                                                            loop_factory):
    """An event-driven program: run() with no coroutine runs the host (and
    the guest: handlers work) until the user closes it, then returns None
    after the teardown."""
    case = bare_case
    seen: list[str] = []

    async def on_event() -> None:
        await asyncio.sleep(0.01)
        seen.append("handled on the guest loop")
        case.later(0.01, case.close)

    if case.no_handlers is None:
        handler = case.handler(on_event)
        case.later(0.05, handler)
    else:
        case.later(0.05, case.close)
    case.later(GUARD, case.close)  # a hang fails, it does not hang
    started = time.monotonic()
    assert case.run(None, case.mode, loop_factory) is None
    assert time.monotonic() - started < GUARD - 1, "closed by the guard"
    assert seen == ["handled on the guest loop"]
    assert asyncio_guest.current_run() is None


def test_await_modal_opens_the_dialog_outside_the_tick(toolkit_case,
                                                      loop_factory,
                                                      loop_nesting):
    """await <host>.modal(fn): the blocking dialog function runs from a
    host callback, so its nested loop keeps the guest running (a sibling
    task advances while it is open); its result, or its exception, comes
    back to the coroutine; never a tick inside a tick."""
    case = toolkit_case
    modal = case.modal_api()

    async def main() -> Any:
        progress = {"n": 0}

        async def ticker() -> None:
            while True:
                progress["n"] += 1
                await asyncio.sleep(0.002)

        t = asyncio.create_task(ticker())
        start: dict[str, int] = {}

        def dialog(answer: str, *, loud: bool) -> str:
            start["n"] = progress["n"]
            deadline = time.monotonic() + 10
            case.modal(lambda: progress["n"] >= start["n"] + 20
                       or time.monotonic() > deadline)
            return answer.upper() if loud else answer

        answer = await modal(dialog, "yes", loud=True)
        during = progress["n"] - start["n"]

        def broken() -> None:
            raise LookupError("no dialog")
        try:
            await modal(broken)
        except LookupError as exc:
            raised = str(exc)
        t.cancel()
        return answer, during, raised

    answer, during, raised = run(case, main, loop_factory)
    assert answer == "YES"
    assert during >= 20
    assert raised == "no dialog"
    assert loop_nesting["max"] == 1
