"""Re-entrancy (nested host loops), interrupts, debug mode, and runs on
several host threads: more promises of start_guest_run, on the fake host.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

from asyncio_guest import _drivers

import asyncio_guest
from asyncio_guest import current_run, start_guest_run
from conftest import Outcome, QueueHost, guest_run
from guest_helpers import (finish, no_live_run, start,  # noqa: F401
                           tracking_post)


async def _set_soon(fut, value):
    await asyncio.sleep(0)
    fut.set_result(value)


# -- 7. re-entrancy -----------------------------------------------------------

def test_nested_host_loop_inside_a_tick(host, loop_factory):
    post, depth = tracking_post(host)
    log = []

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        count = [0]

        def host_event():
            count[0] += 1
            log.append(("host", asyncio.get_running_loop() is loop))
            if count[0] == 1:
                loop.call_soon(log.append, "call_soon from nested")
                asyncio.create_task(_set_soon(fut, "task from nested"))
            if count[0] == 2:
                # a host that delivers a tick again (or late) must not get
                # a tick to run inside this one
                host.call_soon(depth["posted"][-1])
            if count[0] < 5:
                host.call_soon(host_event)

        host.call_soon(host_event)
        host.run(lambda: count[0] >= 5)  # a modal loop, inside a tick
        log.append("resumed")
        return await fut

    run, outcome = start(host, main, loop_factory=loop_factory,
                         run_sync_soon_threadsafe=post)
    task = finish(host, run, outcome)
    assert task.result() == "task from nested"
    assert host.max_depth == 2
    assert depth["max"] == 1  # never a tick inside a tick
    assert log[:5] == [("host", True)] * 5
    assert log[5:] == ["resumed", "call_soon from nested"]


def test_nested_host_loop_from_host_callback_keeps_guest_running(
        host, loop_factory):
    progress = [0]

    async def main():
        while True:
            progress[0] += 1
            await asyncio.sleep(0.001)

    run, outcome = start(host, main, loop_factory=loop_factory)
    host.run(lambda: progress[0] > 0)
    observed = {}

    def modal():
        first = progress[0]
        host.run(lambda: progress[0] >= first + 10, timeout=5)
        observed["delta"] = progress[0] - first
        run.cancel()

    host.call_soon(modal)
    task = finish(host, run, outcome)
    assert task.cancelled()
    assert observed["delta"] >= 10
    assert host.max_depth == 2


def test_run_survives_dropping_the_guest_run_object(host, loop_factory):
    outcome = Outcome()

    async def main():
        await asyncio.sleep(0.02)
        return "unreferenced"

    start_guest_run(main, done_callback=outcome, loop_factory=loop_factory,
                    **host.kwargs())
    gc.collect()
    host.run(lambda: outcome.done)
    assert outcome.task.result() == "unreferenced"


def test_done_callback_can_start_the_next_run(host, loop_factory):
    results = []
    runs = []

    async def main(i):
        await asyncio.sleep(0)
        return i

    def done(task):
        results.append(task.result())
        if len(results) < 3:
            runs.append(start_guest_run(
                main, len(results), done_callback=done,
                loop_factory=loop_factory, **host.kwargs()))

    runs.append(start_guest_run(main, 0, done_callback=done,
                                loop_factory=loop_factory, **host.kwargs()))
    host.run(lambda: len(results) == 3)
    assert results == [0, 1, 2]
    assert all(r.done and r.loop.is_closed() for r in runs)
    assert current_run() is None and asyncio._get_running_loop() is None


# -- 10. debug, interrupts, misc ----------------------------------------------

@pytest.mark.parametrize("debug", [True, False])
def test_debug_flag(host, loop_factory, debug):
    depth_before = sys.get_coroutine_origin_tracking_depth()

    async def main():
        return (asyncio.get_running_loop().get_debug(),
                sys.get_coroutine_origin_tracking_depth())

    task = guest_run(host, main, loop_factory=loop_factory, debug=debug)
    got_debug, depth = task.result()
    assert got_debug is debug
    assert (depth > 0) is debug
    assert sys.get_coroutine_origin_tracking_depth() == depth_before


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_interrupt_in_callback_reaches_host_then_teardown(
        host, loop_factory, exc_type):
    log = []

    async def main():
        def boom():
            raise exc_type()
        asyncio.get_running_loop().call_soon(boom)
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("main finally")

    run, outcome = start(host, main, loop_factory=loop_factory)
    with pytest.raises(exc_type):
        host.run(lambda: outcome.done, timeout=5)
    task = finish(host, run, outcome, timeout=5)  # the host keeps running
    assert task.cancelled()
    assert log == ["main finally"]
    assert len(outcome.calls) == 1


def test_interrupt_between_loop_iterations_still_cancels(host, loop_factory,
                                                         monkeypatch):
    """Ctrl-C raises KeyboardInterrupt wherever the host thread happens to
    be, so also in the tick's own code between two loop iterations, outside
    any callback.  Simulated deterministically: the loop's time() raises
    once when the tick asks its loop driver for the next timeout, after the
    guest went to sleep."""
    armed = [False]
    for cls in (_drivers.SelectorDriver, _drivers.UVLoopDriver):
        def timeout(self, _original=cls.timeout):
            if armed[0]:
                armed[0] = False
                raise KeyboardInterrupt
            return _original(self)

        monkeypatch.setattr(cls, "timeout", timeout)
    factory = loop_factory

    log = []

    async def main():
        await asyncio.sleep(0)
        armed[0] = True
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("main finally")

    run, outcome = start(host, main, loop_factory=factory)
    with pytest.raises(KeyboardInterrupt):
        host.run(lambda: outcome.done, timeout=5)
    assert not armed[0]
    # as for an interrupt inside a callback: the host keeps running, the
    # main task is cancelled and the run tears down
    task = finish(host, run, outcome, timeout=2)
    assert task.cancelled()
    assert log == ["main finally"]


def test_interrupt_raised_by_main_coroutine(host, loop_factory):
    async def main():
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    run, outcome = start(host, main, loop_factory=loop_factory)
    with pytest.raises(KeyboardInterrupt):
        host.run(lambda: outcome.done, timeout=5)
    task = finish(host, run, outcome, timeout=5)
    assert task.done()
    assert len(outcome.calls) == 1


def test_loop_stop_is_refused(host, loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(RuntimeError, match="cancel"):
            loop.stop()
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            loop.run_until_complete(coro)
        coro.close()
        with pytest.raises(RuntimeError):
            loop.close()
        await asyncio.sleep(0.01)
        return "still running"

    assert guest_run(host, main, loop_factory=loop_factory).result() \
        == "still running"


def test_one_run_per_thread_but_threads_are_independent(host, loop_factory):
    results = {}

    def other_thread():
        other = QueueHost()

        async def main():
            await asyncio.sleep(0.01)
            return threading.get_ident()

        try:
            results["task"] = guest_run(other, main, loop_factory=loop_factory)
            other.check()
        except BaseException as exc:  # reported below
            results["error"] = exc

    async def main():
        t = threading.Thread(target=other_thread)
        t.start()
        await asyncio.to_thread(t.join)
        return threading.get_ident()

    task = guest_run(host, main, loop_factory=loop_factory)
    assert "error" not in results, results.get("error")
    assert task.result() == host.thread
    assert results["task"].result() not in (None, host.thread)


def test_guest_run_object_api(host, loop_factory):
    async def main():
        await asyncio.get_running_loop().create_future()

    run, outcome = start(host, main, loop_factory=loop_factory)
    assert isinstance(run, asyncio_guest.GuestRun)
    assert not run.done and "running" in repr(run)
    assert current_run().task is run.task
    run.cancel()
    finish(host, run, outcome, timeout=5)
    assert run.done and current_run() is None
