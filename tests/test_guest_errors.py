"""Bad input to start_guest_run, a broken host post, and what is left after.

Every failed start must raise a clear exception, leave no thread, fd or
registered run behind, and leave the host able to run a guest right away.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import selectors
import sys
import threading
import warnings

import pytest

from asyncio_guest import current_run, start_guest_run
from conftest import Outcome, guest_run
from guest_helpers import (Leaks, finish, no_live_run,  # noqa: F401
                           start, wait_for)


async def _main(x=1):
    await asyncio.sleep(0)
    return x


def _sync_returning_int():
    return 1


class _NotACoroutine:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


class BareLoop(asyncio.AbstractEventLoop):
    """Implements nothing at all."""


class MinimalLoop(asyncio.AbstractEventLoop):
    """A non-selector loop that at least knows whether it is open."""

    def __init__(self):
        self._closed = False

    def is_running(self):
        return False

    def is_closed(self):
        return self._closed

    def close(self):
        self._closed = True


def _closed_loop():
    loop = asyncio.new_event_loop()
    loop.close()
    return loop


class FactoryBroke(Exception):
    pass


def _raising_factory():
    raise FactoryBroke("no loop today")


# name -> (kwargs for start_guest_run, expected exception, match)
# async_fn / args default to _main / (); a loop_factory entry replaces the
# fixture's.  Loops the factory made are kept in MADE so that only an
# explicit close (not the collector) can release their fds.
MADE: list = []


def _made(factory):
    def make():
        loop = factory()
        MADE.append(loop)
        return loop
    return make


BAD_STARTS = {
    "int": (dict(async_fn=42), TypeError, "async function or a coroutine"),
    "sync function": (
        dict(async_fn=_sync_returning_int), TypeError,
        r"_sync_returning_int\(\) returned int, not a coroutine"),
    "async generator function": (dict(async_fn=lambda: _agen()), TypeError,
                                 "not a coroutine"),
    "coroutine plus args": (dict(async_fn="coro", args=(1,)), TypeError,
                            "either a coroutine object and no arguments"),
    "threadsafe not callable": (dict(run_sync_soon_threadsafe=None),
                                TypeError, "run_sync_soon_threadsafe"),
    "not_threadsafe not callable": (dict(run_sync_soon_not_threadsafe=1),
                                    TypeError, "run_sync_soon_not_threadsafe"),
    "done_callback not callable": (dict(done_callback="done"), TypeError,
                                   "done_callback"),
    "loop_factory not callable": (dict(loop_factory=object()), TypeError,
                                  "loop_factory"),
    "factory returns a non-loop": (dict(loop_factory=lambda: "loop"),
                                   TypeError, "event loop, got str"),
    "factory raises": (dict(loop_factory=_raising_factory), FactoryBroke,
                       "no loop today"),
    "closed loop": (dict(loop_factory=_closed_loop), RuntimeError, "closed"),
    "SelectSelector": (
        dict(loop_factory=_made(lambda: asyncio.SelectorEventLoop(
            selectors.SelectSelector()))),
        RuntimeError, "SelectSelector"),
    "BaseEventLoop": (
        dict(loop_factory=_made(asyncio.BaseEventLoop)),
        NotImplementedError, "asyncio.base_events.BaseEventLoop"),
    "minimal non-selector loop": (dict(loop_factory=_made(MinimalLoop)),
                                  NotImplementedError, "MinimalLoop"),
    "bare AbstractEventLoop subclass": (dict(loop_factory=BareLoop),
                                        NotImplementedError, "BareLoop"),
}


async def _agen():
    yield 1


def _call_start(host, loop_factory, spec):
    kw = {"async_fn": _main, "args": (), "done_callback": Outcome(),
          "loop_factory": loop_factory, **host.kwargs(), **spec}
    async_fn = kw.pop("async_fn")
    args = kw.pop("args")
    coro = None
    if async_fn == "coro":
        async_fn = coro = _main()
    return coro, lambda: start_guest_run(async_fn, *args, **kw)


@pytest.mark.parametrize("case", list(BAD_STARTS))
def test_bad_start_raises_and_host_keeps_working(host, loop_factory, case):
    spec, exc_type, match = BAD_STARTS[case]
    MADE.clear()
    gc.collect()
    leaks = Leaks()
    coro, call = _call_start(host, loop_factory, spec)
    with pytest.raises(exc_type, match=match):
        call()
    if coro is not None:
        coro.close()  # whose job that is: see the test below
    assert current_run() is None
    assert asyncio._get_running_loop() is None
    assert all(loop.is_closed() for loop in MADE), "the refused loop is open"
    assert guest_run(host, _main, 5, loop_factory=loop_factory).result() == 5
    leaks.check()
    MADE.clear()


def test_already_running_loop_is_refused(host, loop_factory):
    other = asyncio.new_event_loop()
    started = threading.Event()
    other.call_soon(started.set)
    t = threading.Thread(target=other.run_forever)
    t.start()
    try:
        assert started.wait(5)
        with pytest.raises(RuntimeError, match="already running"):
            start_guest_run(_main, done_callback=Outcome(),
                            loop_factory=lambda: other, **host.kwargs())
        assert other.is_running()  # not ours: left alone
    finally:
        other.call_soon_threadsafe(other.stop)
        t.join(5)
        other.close()
    assert guest_run(host, _main, 6, loop_factory=loop_factory).result() == 6


def test_second_run_on_same_thread_is_refused(host, loop_factory):
    async def first():
        await asyncio.sleep(0.01)
        return "first"

    leaks = Leaks()
    run, outcome = start(host, first, loop_factory=loop_factory)
    with pytest.raises(RuntimeError, match="already hosts a guest run"):
        start_guest_run(_main, done_callback=Outcome(),
                        loop_factory=loop_factory, **host.kwargs())
    assert current_run().loop is run.loop
    assert finish(host, run, outcome).result() == "first"
    assert guest_run(host, _main, 7, loop_factory=loop_factory).result() == 7
    leaks.check()


@pytest.mark.parametrize("case", ["coroutine plus args", "second run",
                                  "done_callback not callable",
                                  "closed loop", "SelectSelector"])
def test_failed_start_closes_the_coroutine_it_was_given(
        host, loop_factory, case):
    """A refused coroutine object is closed, never left to warn 'was never
    awaited' at some later collection (the loop-refusal paths do close it;
    every refusal should)."""
    coro = _main()
    kw = {"done_callback": Outcome(), "loop_factory": loop_factory,
          **host.kwargs()}
    args = ()
    if case == "coroutine plus args":
        args = (1,)
    elif case == "done_callback not callable":
        kw["done_callback"] = None
    elif case == "closed loop":
        kw["loop_factory"] = _closed_loop
    elif case == "SelectSelector":
        kw["loop_factory"] = lambda: asyncio.SelectorEventLoop(
            selectors.SelectSelector())
    first = None
    if case == "second run":
        first = start(host, _main, loop_factory=loop_factory)
    try:
        with pytest.raises((TypeError, RuntimeError)):
            start_guest_run(coro, *args, **kw)
        state = inspect.getcoroutinestate(coro)
    finally:
        coro.close()
        if first is not None:
            finish(host, *first)
    assert state == inspect.CORO_CLOSED


def test_sync_function_result_with_close_is_closed(host, loop_factory):
    made = _NotACoroutine()
    with pytest.raises(TypeError, match="not a coroutine"):
        start_guest_run(lambda: made, done_callback=Outcome(),
                        loop_factory=loop_factory, **host.kwargs())
    assert made.closed


def test_loop_factory_error_closes_the_coroutine(host, loop_factory):
    coro = _main()
    with pytest.raises(FactoryBroke):
        start_guest_run(coro, done_callback=Outcome(),
                        loop_factory=_raising_factory, **host.kwargs())
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_coroutine_object_and_partial_are_accepted(host, loop_factory):
    import functools
    assert guest_run(host, _main(8), loop_factory=loop_factory).result() == 8
    assert guest_run(host, functools.partial(_main, 9),
                     loop_factory=loop_factory).result() == 9


def test_raising_post_is_reported_and_retried(host, loop_factory):
    calls = []

    def flaky_post(fn):
        calls.append(threading.get_ident())
        if len(calls) <= 3:
            raise OSError(f"host queue full #{len(calls)}")
        host.post(fn)

    async def main():
        await asyncio.sleep(0.01)  # one more post after the failures
        return "survived"

    reports = []
    saved = sys.unraisablehook
    sys.unraisablehook = reports.append
    try:
        # The host thread's own posts (a slice that ran out of time, under
        # load) go through the not-threadsafe post: only the backend thread
        # ever calls flaky_post.
        run, outcome = start(
            host, main, loop_factory=loop_factory,
            run_sync_soon_threadsafe=flaky_post,
            run_sync_soon_not_threadsafe=host.post_not_threadsafe)
        task = finish(host, run, outcome)
    finally:
        sys.unraisablehook = saved
    assert task.result() == "survived"
    assert len(calls) >= 5
    assert threading.get_ident() not in calls  # posted by the backend thread
    assert [str(r.exc_value) for r in reports] == [
        "host queue full #1", "host queue full #2", "host queue full #3"]
    for r in reports:
        assert r.exc_type is OSError
        assert r.object is flaky_post
        tb, codes = r.exc_traceback, []
        while tb is not None:
            codes.append(tb.tb_frame.f_code)
            tb = tb.tb_next
        assert flaky_post.__code__ in codes  # the traceback reaches the raise


def test_raising_done_callback_reaches_host_and_run_is_over(
        host, loop_factory):
    def done(task):
        raise LookupError("done_callback failed")

    run = start_guest_run(_main, done_callback=done,
                          loop_factory=loop_factory, **host.kwargs())
    with pytest.raises(LookupError):
        host.run(lambda: False, timeout=5)
    assert run.done and run.loop.is_closed() and current_run() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert guest_run(host, _main, 2,
                         loop_factory=loop_factory).result() == 2


def test_tick_run_on_the_wrong_thread_is_refused(host, loop_factory):
    """A host whose post runs the tick on another thread gets a clear
    error there; the same tick delivered right afterwards still works."""
    refused = []
    errors = []

    def post(fn):
        if refused:
            host.post(fn)
            return
        refused.append(fn)

        def elsewhere():
            try:
                fn()
            except RuntimeError as exc:
                errors.append(exc)

        threading.Thread(target=elsewhere).start()

    async def main():
        await asyncio.sleep(0.01)
        return "recovered"

    run, outcome = start(host, main, loop_factory=loop_factory,
                         run_sync_soon_threadsafe=post)
    assert wait_for(lambda: errors)
    assert "wrong thread" in str(errors[0])
    host.call_soon(refused[0])  # the host delivers it properly after all
    assert finish(host, run, outcome).result() == "recovered"


def test_uvloop_with_an_unknown_layout_is_refused(host):
    """The offsets the core reads in uvloop's Loop and libuv's uv_loop_t are
    checked on the live loop; a loop that does not match (simulated: its
    backend fd query disagrees with what the core reads) is refused with an
    error naming the uvloop version, the loop is closed, and the host keeps
    working."""
    from importlib.metadata import version

    import uvloop

    made = []

    def factory():
        loop = uvloop.new_event_loop()
        loop._get_backend_id = lambda: 10**6  # not the fd at the offset
        made.append(loop)
        return loop

    async def main():
        return "never"

    with pytest.raises(RuntimeError) as info:
        start_guest_run(main(), done_callback=print, loop_factory=factory,
                        **host.kwargs())
    message = str(info.value)
    assert f"uvloop {version('uvloop')}" in message
    assert "layout" in message
    assert made[0].is_closed()
    # The host keeps working: a normal uvloop run afterwards.
    assert guest_run(host, asyncio.sleep, 0, "ok",
                     loop_factory=uvloop.new_event_loop).result() == "ok"


def test_a_tick_lost_to_an_interrupt_in_host_code_is_posted_again(
        loop_factory: Any) -> None:
    """Python 3.13 checks for signals right after a call returns, so a
    KeyboardInterrupt can land in a host's own Python loop between taking
    the posted tick off its queue and calling it: that tick is lost, the
    core stays POSTED and posts no other.  The host then cancels the run
    (what it does after an interrupt): the tick is posted again and the
    teardown completes, instead of the program hanging (seen as a hang of
    the contract's Ctrl-C case on 3.13)."""
    import queue
    import time

    calls: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
    box: dict[str, Any] = {}
    log: list[str] = []

    async def main() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("main finally")

    run = start_guest_run(main, run_sync_soon_threadsafe=calls.put,
                          done_callback=lambda task: box.update(task=task),
                          loop_factory=loop_factory)

    def pump_until(cond: Any, what: str) -> None:
        deadline = time.monotonic() + 5
        while not cond():
            assert time.monotonic() < deadline, what
            try:
                calls.get(timeout=0.01)()
            except queue.Empty:
                pass

    pump_until(lambda: run._runner.core.state == "polling", "never parked")
    run.loop.call_soon_threadsafe(lambda: None)  # the guest has work: a tick
    lost = calls.get(timeout=5)           # taken off the queue ...
    assert run._runner.core.state == "posted"
    del lost                              # ... and never called: an interrupt
    run.cancel()                          # the host's answer to it
    pump_until(lambda: "task" in box, "the teardown never completed")
    assert box["task"].cancelled() and log == ["main finally"]
    assert run.done and current_run() is None
