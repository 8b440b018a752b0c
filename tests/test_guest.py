"""The promises of the core (start_guest_run), on the queue-based fake host.

Also: test_guest_io.py (I/O inside the guest), test_guest_errors.py (bad
input, a failing host), test_guest_reentry.py (nested host loops,
interrupts, debug, several host threads).
"""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from asyncio_guest import current_run, start_guest_run
from conftest import Outcome, QueueHost, guest_run
from guest_helpers import (Leaks, fd_count, finish, guest_core,  # noqa: F401
                           no_live_run, start, thread_name, tids, tracking_post,
                           wait_for, wait_idle)


# -- 1. done_callback and the teardown ----------------------------------------

@pytest.mark.parametrize("how", ["result", "exception", "cancelled"])
def test_done_callback_once_on_host_thread_with_finished_task(
        host, loop_factory, how):
    async def main(x):
        await asyncio.sleep(0)
        if how == "exception":
            raise ValueError("boom")
        if how == "cancelled":
            asyncio.current_task().cancel()
            await asyncio.sleep(0)
        return x * 2

    at_done = {}
    outcome = Outcome()

    def done(task):
        at_done.update(done=task.done(), closed=run.loop.is_closed(),
                       running=asyncio._get_running_loop(),
                       current=current_run())
        outcome(task)

    run = start_guest_run(main, 21, done_callback=done,
                          loop_factory=loop_factory, **host.kwargs())
    assert not run.done
    task = finish(host, run, outcome)
    host.run_for(0.05)  # stray ticks after the end must do nothing
    assert len(outcome.calls) == 1
    assert task is run.task
    assert at_done == {"done": True, "closed": True, "running": None,
                       "current": None}
    if how == "result":
        assert task.result() == 42
    elif how == "exception":
        assert isinstance(task.exception(), ValueError)
        assert str(task.exception()) == "boom"
    else:
        assert task.cancelled()
    assert "done" in repr(run)


def test_teardown_is_asyncio_run_grade(host, loop_factory):
    log = []
    keep = {}
    workers = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            log.append("agen finally")

    async def side():
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # the teardown awaits cancelled tasks
            log.append("side finally")

    def work():
        workers.append(threading.current_thread())
        return 7

    async def main():
        keep["side"] = asyncio.create_task(side())
        keep["agen"] = gen = agen()  # kept alive: only the teardown closes it
        assert await gen.__anext__() == 1
        assert await asyncio.to_thread(work) == 7
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, work) == 7
        await asyncio.sleep(0)
        return "main result"

    at_done = {}

    def done(task):
        at_done.update(
            log=list(log), side_cancelled=keep["side"].cancelled(),
            workers_alive=[t.is_alive() for t in workers],
            loop_closed=run.loop.is_closed(),
            loop_running=run.loop.is_running(),
            backend_gone=not (backend & tids()), result=task.result())
        outcome(task)

    outcome = Outcome()
    before = tids()
    run = start_guest_run(main, done_callback=done, loop_factory=loop_factory,
                          **host.kwargs())
    new = tids() - before
    assert len(new) == 1, new  # the backend thread runs
    # named (by itself, once it runs) so that top, gdb and /proc tell it apart
    backend = new
    assert wait_for(lambda: [thread_name(t) for t in new] == ["asyncio-guest"])
    finish(host, run, outcome)
    assert at_done["result"] == "main result"
    assert sorted(at_done["log"]) == ["agen finally", "side finally"]
    assert at_done["side_cancelled"]
    assert len(at_done["workers_alive"]) == 2
    assert not any(at_done["workers_alive"])  # executor shut down (joined)
    assert at_done["loop_closed"] and not at_done["loop_running"]
    # pthread_join returned before done_callback; the kernel may list the
    # task a few microseconds longer, so allow for that lag only.
    assert at_done["backend_gone"] or wait_for(lambda: not (backend & tids()))
    assert wait_for(lambda: tids() <= before), tids() - before


def test_teardown_reports_exceptions_of_other_tasks(host, loop_factory):
    loop_factory.expected = True

    async def stubborn():
        try:
            await asyncio.sleep(3600)
        finally:
            raise ValueError("from finally")

    async def main():
        asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        return 1

    assert guest_run(host, main, loop_factory=loop_factory).result() == 1
    messages = [c.get("message") for c in loop_factory.contexts]
    assert messages == ["unhandled exception during guest run shutdown"]
    assert isinstance(loop_factory.contexts[0]["exception"], ValueError)


def test_no_thread_or_fd_leak_over_many_runs(host, loop_factory):
    async def main(i):
        await asyncio.sleep(0)
        assert await asyncio.to_thread(lambda: i) == i
        asyncio.create_task(asyncio.sleep(3600))  # cancelled by the teardown
        await asyncio.sleep(0.001)
        return i

    assert guest_run(host, main, -1, loop_factory=loop_factory).result() == -1
    gc.collect()
    leaks = Leaks()
    gc.disable()  # fds must be closed explicitly, not by the collector
    try:
        for i in range(20):
            task = guest_run(host, main, i, loop_factory=loop_factory)
            assert task.result() == i
        assert fd_count() == leaks.fds
    finally:
        gc.enable()
    leaks.check()


# -- 2. the running loop and stale deadlines ----------------------------------

def test_host_callbacks_see_guest_as_running_loop(host, loop_factory):
    state = {}

    async def main():
        state["fut"] = asyncio.get_running_loop().create_future()
        return await state["fut"]

    run, outcome = start(host, main, loop_factory=loop_factory)
    host.run(lambda: "fut" in state)

    def host_callback():
        state["thread"] = threading.get_ident()
        state["running"] = asyncio.get_running_loop()
        state["is_running"] = run.loop.is_running()
        state["current"] = current_run()
        state["fut"].set_result("from host")

    host.call_soon(host_callback)
    task = finish(host, run, outcome)
    assert task.result() == "from host"
    assert state["thread"] == host.thread
    assert state["running"] is run.loop
    assert state["is_running"]
    assert state["current"].loop is run.loop
    assert state["current"].task is run.task
    # afterwards the thread has no running loop and asyncio.run works
    assert asyncio._get_running_loop() is None
    assert current_run() is None
    assert not run.loop.is_running()

    async def plain():
        await asyncio.sleep(0)
        return "plain"

    assert asyncio.run(plain()) == "plain"


async def _set_soon(fut, value):
    await asyncio.sleep(0)
    fut.set_result(value)


STALE_ACTIONS = {
    "set_result": lambda s: s["fut"].set_result("set_result"),
    "create_task": lambda s: asyncio.create_task(
        _set_soon(s["fut"], "create_task")),
    "call_soon": lambda s: s["loop"].call_soon(s["fut"].set_result,
                                               "call_soon"),
    "call_later": lambda s: s["loop"].call_later(0.01, s["fut"].set_result,
                                                 "call_later"),
    "call_soon_threadsafe": lambda s: s["loop"].call_soon_threadsafe(
        s["fut"].set_result, "call_soon_threadsafe"),
    "task_cancel": lambda s: s["sleeper"].cancel(),
}


@pytest.mark.parametrize("action", sorted(STALE_ACTIONS))
def test_host_scheduling_wakes_a_sleeping_guest(host, loop_factory, action):
    """The backend waits on an hour-long deadline; host code scheduling
    earlier work must take effect within a few host iterations."""
    state = {}

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        sleeper = asyncio.create_task(asyncio.sleep(3600))
        sleeper.add_done_callback(
            lambda t: fut.done() or fut.set_result("task_cancel"))
        state.update(loop=loop, fut=fut, sleeper=sleeper)
        return await fut

    run, outcome = start(host, main, loop_factory=loop_factory)
    wait_idle(host, run)
    core = guest_core(run)

    def host_callback():
        state["core_state"] = core.state
        STALE_ACTIONS[action](state)

    before = host.iterations
    host.call_soon(host_callback)
    host.run(lambda: run.task.done(), timeout=5)
    assert state["core_state"] == "polling"  # the deadline was stale
    assert host.iterations - before <= 6
    assert finish(host, run, outcome).result() == action


def test_asyncio_loop_as_host(loop_factory):
    seen = {}

    async def guest_main(ready):
        seen["guest_loop"] = asyncio.get_running_loop()
        seen["guest_task"] = asyncio.current_task()
        fut = asyncio.get_running_loop().create_future()
        ready.set_result(fut)  # a host-loop future, same thread
        return await asyncio.wait_for(fut, 3600)

    async def host_main():
        host_loop = asyncio.get_running_loop()
        ready = host_loop.create_future()
        done = host_loop.create_future()
        run = start_guest_run(
            guest_main, ready,
            run_sync_soon_threadsafe=host_loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=host_loop.call_soon,
            done_callback=done.set_result, loop_factory=loop_factory)
        assert asyncio.get_running_loop() is host_loop
        guest_fut = await asyncio.wait_for(ready, 5)
        await asyncio.sleep(0.02)  # the guest goes idle on its long timer

        def host_callback():
            seen["host_cb_loop"] = asyncio.get_running_loop()
            seen["host_cb_task"] = asyncio.current_task()
            guest_fut.set_result("from host loop")

        host_loop.call_soon(host_callback)
        task = await asyncio.wait_for(done, 5)
        seen["after_loop"] = asyncio.get_running_loop()
        return host_loop, run, task

    host_loop, run, task = asyncio.run(host_main())
    assert task.result() == "from host loop"
    assert seen["guest_loop"] is run.loop
    assert seen["guest_task"] is run.task
    assert seen["host_cb_loop"] is host_loop
    assert seen["host_cb_task"] is None
    assert seen["after_loop"] is host_loop
    assert run.done and run.loop.is_closed()
    assert asyncio._get_running_loop() is None


# -- 3. cancel ----------------------------------------------------------------

@pytest.mark.parametrize("where", ["host thread", "other thread",
                                   "task.cancel on host thread"])
def test_cancel(host, loop_factory, where):
    log = []

    async def side():
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("side finally")

    async def main():
        asyncio.create_task(side())
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError as exc:
            log.append(("main cancelled", exc.args))
            raise

    run, outcome = start(host, main, loop_factory=loop_factory)
    wait_idle(host, run)
    if where == "host thread":
        host.call_soon(lambda: run.cancel("bye"))
    elif where == "task.cancel on host thread":
        host.call_soon(lambda: run.task.cancel("bye"))
    else:
        t = threading.Thread(target=run.cancel, args=("bye",))
        t.start()
        t.join()
    task = finish(host, run, outcome, timeout=5)
    assert task.cancelled()
    assert log == [("main cancelled", ("bye",)), "side finally"]


def test_cancel_and_stale_tick_after_done_are_noops(host, loop_factory):
    async def main():
        return 3

    post, depth = tracking_post(host)
    run, outcome = start(host, main, loop_factory=loop_factory,
                         run_sync_soon_threadsafe=post)
    task = finish(host, run, outcome)
    run.cancel()
    t = threading.Thread(target=run.cancel)
    t.start()
    t.join()
    assert host.run_for(0.05) == 0
    for tick in depth["posted"]:  # ticks delivered after the end
        tick()
    assert len(outcome.calls) == 1
    assert task.result() == 3 and not task.cancelled()


def test_cancel_while_teardown_runs_is_a_noop(host, loop_factory):
    release = {}

    async def slow_side():
        try:
            await asyncio.sleep(3600)
        finally:
            release["fut"] = asyncio.get_running_loop().create_future()
            await release["fut"]  # the teardown waits for this

    async def main():
        asyncio.create_task(slow_side())
        await asyncio.sleep(0)
        return "main"

    run, outcome = start(host, main, loop_factory=loop_factory)
    host.run(lambda: "fut" in release)
    run.cancel()  # main is done, the teardown runs: nothing to cancel
    host.call_soon(lambda: release["fut"].set_result(None))
    assert finish(host, run, outcome).result() == "main"


# -- 4. fairness and 6. thread discipline of the posts ------------------------

def _flood_while_host_counts(host, loop_factory, n=50):
    spins = [0]

    async def main():
        while True:
            spins[0] += 1
            await asyncio.sleep(0)

    run, outcome = start(host, main, loop_factory=loop_factory)
    host.run(lambda: spins[0] > 0)
    seen = []

    def host_event():
        # counts only when the guest made progress since the last count:
        # the host and the flooding guest must take turns
        if not seen or spins[0] > seen[-1]:
            seen.append(spins[0])
        if len(seen) < n:
            host.call_soon(host_event)

    host.call_soon(host_event)
    host.run(lambda: len(seen) >= n, timeout=10)
    assert not run.task.done()
    run.cancel()
    assert finish(host, run, outcome).cancelled()
    return seen


def test_fairness_busy_guest_lets_host_events_run(host, loop_factory):
    seen = _flood_while_host_counts(host, loop_factory)
    assert seen == sorted(set(seen)) and len(seen) == 50


def test_busy_guest_uses_not_threadsafe_post(loop_factory):
    host = QueueHost(with_not_threadsafe=True)
    _flood_while_host_counts(host, loop_factory)
    assert host.not_threadsafe_posts > 0
    host.check()  # the threadsafe post never ran on the host thread


def test_idle_guest_with_not_threadsafe_post(loop_factory):
    host = QueueHost(with_not_threadsafe=True)

    async def main():
        for _ in range(3):
            await asyncio.sleep(0.01)
        return "slept"

    assert guest_run(host, main, loop_factory=loop_factory).result() == "slept"
    assert host.threadsafe_posts > 0  # the backend thread used it
    host.check()


def test_failing_not_threadsafe_post_falls_back_to_backend(loop_factory):
    loop_factory.expected = True
    host = QueueHost(with_not_threadsafe=True)

    def broken(fn):
        raise OSError("no idle queue")

    async def main():
        deadline = asyncio.get_running_loop().time() + 0.02
        n = 0
        while asyncio.get_running_loop().time() < deadline:  # > one slice
            n += 1
            await asyncio.sleep(0)
        return n

    run, outcome = start(host, main, loop_factory=loop_factory,
                         run_sync_soon_not_threadsafe=broken)
    assert finish(host, run, outcome).result() > 0
    host.check()
    messages = {c["message"] for c in loop_factory.contexts}
    assert messages == {"run_sync_soon_not_threadsafe raised; falling back "
                        "to the backend thread"}
    assert all(isinstance(c["exception"], OSError)
               for c in loop_factory.contexts)


# -- 5. no busy waiting -------------------------------------------------------

@pytest.mark.parametrize("wait", ["sleep", "sleep 1e10", "sleep inf",
                                  "future"])
def test_idle_guest_makes_no_wakeups(host, loop_factory, wait):
    async def main():
        if wait == "future":
            await asyncio.get_running_loop().create_future()
        else:
            await asyncio.sleep({"sleep": 3600, "sleep 1e10": 1e10,
                                 "sleep inf": float("inf")}[wait])

    run, outcome = start(host, main, loop_factory=loop_factory)
    wait_idle(host, run)
    core = guest_core(run)
    posts = core.posts
    assert host.run_for(0.3) == 0
    assert core.posts == posts
    assert core.state == "polling"
    run.cancel()
    assert finish(host, run, outcome, timeout=5).cancelled()


def test_timers_cost_about_one_wakeup_each(host, loop_factory):
    run_ = {}

    async def main():
        for _ in range(3):
            await asyncio.sleep(0.03)
        return guest_core(run_["run"]).posts

    run, outcome = start(host, main, loop_factory=loop_factory)
    run_["run"] = run
    # one post to start, one per timer; a little slack, no spinning
    assert finish(host, run, outcome).result() <= 6


# -- timers: many, reordered, cancelled, from the guest and from the host ----

def test_many_timers_fire_in_order_and_cancelled_ones_never(host, loop_factory):
    import random

    rng = random.Random(1234)
    fired = []
    expected = []

    async def main():
        loop = asyncio.get_running_loop()
        handles = []
        # 100 timers over 0..400 ms, created in random order; 4 ms apart,
        # since uvloop rounds delays to whole ms from a clock that moves
        # while the timers are created (its call_at is relative too).
        for i in rng.sample(range(100), 100):
            delay = i * 0.004
            handles.append((i, loop.call_later(delay, fired.append, i)))
        # Cancel a random quarter, some of them the earliest ones.
        for i, h in rng.sample(handles, 25) + handles[:5]:
            h.cancel()
        expected.extend(sorted(i for i, h in handles if not h.cancelled()))
        done = loop.create_future()
        # The host adds one more, later than all, between ticks.
        host.call_soon(lambda: loop.call_later(0.45, done.set_result, None))
        await done
        return loop.time()

    guest_run(host, main, loop_factory=loop_factory)
    assert fired == expected
    assert len(fired) >= 70
