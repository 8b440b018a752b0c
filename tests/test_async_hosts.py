"""Async frameworks as hosts: asyncio (asyncio_guest.aio), Tornado and Trio.

Each test runs for every host × every guest loop (asyncio's, uvloop).  The
host is real: asyncio.run / Tornado's IOLoop (on asyncio) / trio.run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import pytest
import trio
from tornado.ioloop import IOLoop

import asyncio_guest
from asyncio_guest import aio
from asyncio_guest import tornado as guest_tornado
from asyncio_guest import trio as guest_trio
from guest_helpers import no_live_run  # noqa: F401

LONG = 3600.0


class AsyncioHost:
    """asyncio.run is the host; helpers are written for it."""

    name = "asyncio"
    run_guest = staticmethod(aio.run)
    start_guest = staticmethod(aio.start)

    def main(self, fn: Callable[[], Any]) -> Any:
        return asyncio.run(fn())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def host_loop(self) -> Any:
        return asyncio.get_running_loop()


class TornadoHost(AsyncioHost):
    name = "tornado"
    run_guest = staticmethod(guest_tornado.run)
    start_guest = staticmethod(guest_tornado.start)

    def main(self, fn: Callable[[], Any]) -> Any:
        return IOLoop.current().run_sync(fn)


class TrioHost:
    name = "trio"
    run_guest = staticmethod(guest_trio.run)
    start_guest = staticmethod(guest_trio.start)

    def main(self, fn: Callable[[], Any]) -> Any:
        return trio.run(fn)

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)

    def host_loop(self) -> Any:
        return None  # Trio is no asyncio loop


@pytest.fixture(params=[AsyncioHost, TornadoHost, TrioHost],
                ids=lambda c: c.name)
def async_host(request: pytest.FixtureRequest) -> Any:
    yield request.param()
    assert asyncio._get_running_loop() is None
    assert asyncio_guest.current_run() is None


def test_result_and_exception(async_host, loop_factory):
    async def add(a, b):
        await asyncio.sleep(0.01)
        return a + b

    async def boom():
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def main():
        assert await async_host.run_guest(add, 40, 2,
                                          loop_factory=loop_factory) == 42
        with pytest.raises(ValueError, match="boom"):
            await async_host.run_guest(boom, loop_factory=loop_factory)
        return "ok"

    assert async_host.main(main) == "ok"


def test_running_loops_seen_by_host_and_guest(async_host, loop_factory):
    seen = {}

    async def guest_main():
        seen["guest loop"] = asyncio.get_running_loop()
        await asyncio.sleep(0.05)

    async def main():
        host_loop = async_host.host_loop()
        guest = async_host.start_guest(guest_main, loop_factory=loop_factory,
                                       done_callback=lambda t: None)
        await wait_until(async_host, lambda: "guest loop" in seen)
        # Host code between ticks: the host's own loop stays current (with
        # Trio as host there is none, and the guest is current instead).
        current = asyncio._get_running_loop()
        seen["host sees"] = current
        await wait_until(async_host, lambda: guest.done)
        return guest, host_loop

    guest, host_loop = async_host.main(main)
    assert seen["guest loop"] is guest.loop
    if host_loop is not None:
        assert seen["host sees"] is host_loop
    else:
        assert seen["host sees"] is guest.loop
    assert guest.loop.is_closed()


def test_host_keeps_running_while_guest_floods(async_host, loop_factory):
    counts = {"host": 0, "guest": 0}

    async def flood():
        while counts["host"] < 50:
            counts["guest"] += 1
            await asyncio.sleep(0)
        return counts["guest"]

    async def main():
        done = []

        async def ticker():
            while not done:
                counts["host"] += 1
                await async_host.sleep(0.001)

        if async_host.name == "trio":
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ticker)
                spins = await async_host.run_guest(flood,
                                                   loop_factory=loop_factory)
                done.append(1)
        else:
            t = asyncio.ensure_future(ticker())
            spins = await async_host.run_guest(flood, loop_factory=loop_factory)
            done.append(1)
            await t
        return spins

    assert async_host.main(main) > 0
    assert counts["host"] >= 50


def test_host_wakes_a_guest_sleeping_for_an_hour(async_host, loop_factory):
    box: dict[str, Any] = {}

    async def guest_main():
        loop = asyncio.get_running_loop()
        box["fut"] = loop.create_future()
        box["sleeper"] = asyncio.ensure_future(asyncio.sleep(LONG))
        first = await box["fut"]           # set by the host
        try:
            await box["sleeper"]           # cancelled by the host
        except asyncio.CancelledError:
            return first, "sleeper cancelled"
        return first, "sleeper finished?!"

    async def main():
        guest = async_host.start_guest(
            guest_main, loop_factory=loop_factory,
            done_callback=lambda task: box.__setitem__("task", task))
        await wait_until(async_host, lambda: "fut" in box)
        await async_host.sleep(0.05)       # the guest is parked now
        assert guest._runner.core.state == "polling"
        box["fut"].set_result("from the host")
        await async_host.sleep(0.05)
        box["sleeper"].cancel()
        await wait_until(async_host, lambda: "task" in box)
        return box["task"].result()

    assert async_host.main(main) == ("from the host", "sleeper cancelled")


async def wait_until(host: Any, pred: Callable[[], bool],
                     timeout: float = 10.0) -> None:
    """Poll ``pred`` from the host loop; fail after ``timeout`` seconds (far
    less than the guest's one-hour timers)."""
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached"
        await host.sleep(0.002)


def test_cancelling_the_host_task_tears_the_guest_down(async_host,
                                                       loop_factory):
    log = []

    async def guest_main():
        try:
            await asyncio.sleep(LONG)
        finally:
            await asyncio.sleep(0)
            log.append("guest finally")

    async def main():
        if async_host.name == "trio":
            with trio.move_on_after(0.1):
                await async_host.run_guest(guest_main,
                                           loop_factory=loop_factory)
            return "moved on"
        task = asyncio.ensure_future(
            async_host.run_guest(guest_main, loop_factory=loop_factory))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return "cancelled"

    assert async_host.main(main) in ("moved on", "cancelled")
    assert log == ["guest finally"]


def test_tcp_between_host_and_guest(async_host, loop_factory):
    """The guest serves TCP; the host (asyncio / Tornado) or the guest
    itself (Trio host) connects; many round trips."""

    async def guest_main(n):
        async def echo(reader, writer):
            while data := await reader.read(100):
                writer.write(data)
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(n):
            writer.write(b"%d\n" % i)
            assert await reader.readline() == b"%d\n" % i
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return n

    async def main():
        return await async_host.run_guest(guest_main, 500,
                                          loop_factory=loop_factory)

    assert async_host.main(main) == 500


def test_run_in_guest_from_an_asyncio_host(loop_factory):
    async def in_guest(x):
        assert asyncio.get_running_loop() is guest.loop
        await asyncio.sleep(0.01)
        return x * 2

    async def serve_forever():
        await asyncio.Event().wait()

    async def main():
        global guest
        guest = aio.start(serve_forever, loop_factory=loop_factory,
                          done_callback=lambda t: None)
        results = await asyncio.gather(
            *(aio.run_in_guest(guest, in_guest(i)) for i in range(20)))
        with pytest.raises(ZeroDivisionError):
            await aio.run_in_guest(guest, _divide_by_zero())
        guest.cancel()
        while not guest.done:
            await asyncio.sleep(0.005)
        with pytest.raises(RuntimeError, match="over"):
            await aio.run_in_guest(guest, in_guest(1))
        return results

    assert asyncio.run(main()) == [i * 2 for i in range(20)]


async def _divide_by_zero() -> None:
    await asyncio.sleep(0)
    1 / 0


def test_start_outside_the_host_loop_is_refused(loop_factory):
    async def main():
        pass

    for start in (aio.start, guest_tornado.start, guest_trio.start):
        coro = main()
        with pytest.raises(RuntimeError):
            start(coro, loop_factory=loop_factory)
        coro.close()
