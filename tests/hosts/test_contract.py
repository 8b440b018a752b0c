"""The host contract: the same scenarios on every host x mode x loop.

Hosts are in cases.py; every one this machine can run is run (a host that
cannot be set up fails, it is never skipped).  What is specific to one
toolkit stays in its own test file."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from cases import CASES, RAISES_CANCELLED, Case

import asyncio_guest

LONG = 3600.0  # "an hour": a deadline nobody may wait for
GUARD = 20.0  # seconds: a scenario taking this long has failed

PARAMS = [pytest.param((name, mode), id=f"{name}-{mode}")
          for name, cls in CASES.items() for mode in cls.modes]


@pytest.fixture(params=PARAMS)
def case(request: pytest.FixtureRequest, display: str) -> Any:
    name, mode = request.param
    made: Case = CASES[name]()
    made.setup()
    made.mode = mode  # type: ignore[attr-defined]
    yield made
    made.teardown()


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
