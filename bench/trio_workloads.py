"""The benchmark scenarios of bench/workloads.py rewritten for Trio, one for
one, with the same result keys: the workloads of the "Trio guest mode (Tk)"
peer (bench/peers.py), run natively by ``trio.run`` and as a guest of Tk.

Where Trio has no direct counterpart of an asyncio primitive the closest one
is used and said so (reader callback -> ``wait_readable``; the flood's
self-rescheduling callback -> a second spinning task).
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

import trio

from workloads import SIZES, Post, _switches, med_p99


# -- 1. wake latency ----------------------------------------------------------

async def wake(samples: int) -> dict[str, float]:
    """Another thread writes a byte to a socket while the loop is idle; the
    time until the task waiting for readability runs is one sample."""
    a, b = socket.socketpair()
    a.setblocking(False)
    stamp = [0.0]
    lat: list[float] = []
    go = threading.Semaphore(0)

    def writer() -> None:
        while True:
            go.acquire()
            if len(lat) >= samples:
                return
            time.sleep(0.0005)  # let the loop go idle first (workloads.wake)
            stamp[0] = time.perf_counter()
            b.send(b"x")

    thread = threading.Thread(target=writer, name="bench-writer")
    thread.start()
    try:
        while len(lat) < samples:
            go.release()
            await trio.lowlevel.wait_readable(a)
            a.recv(16)
            lat.append(time.perf_counter() - stamp[0])
    finally:
        go.release()
        thread.join()
        a.close()
        b.close()
    m, p = med_p99(lat, 1e6)
    return {"wake_med_us": m, "wake_p99_us": p}


# -- 2. ping-pong -------------------------------------------------------------

async def _echo(stream: trio.SocketStream) -> None:
    async with stream:
        while data := await stream.receive_some(4096):
            await stream.send_all(data)


@asynccontextmanager
async def _server(backlog: Optional[int] = None) -> AsyncIterator[int]:
    """An echo server in this run for the duration; yields its port."""
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1",
                                                  backlog=backlog)
        nursery.start_soon(trio.serve_listeners, _echo, listeners)
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def _exchange(stream: trio.SocketStream) -> None:
    """One 1-byte round trip (asyncio's write + readexactly(1))."""
    await stream.send_all(b"x")
    if not await stream.receive_some(1):
        raise EOFError("echo server closed the connection")


async def _round_trips(port: int, count: int) -> float:
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        t0 = time.perf_counter()
        for _ in range(count):
            await _exchange(stream)
        return time.perf_counter() - t0


async def pingpong_in(count: int) -> dict[str, float]:
    """(a) client and server both in this run, one connection."""
    async with _server() as port:
        elapsed = await _round_trips(port, count)
    return {"pp_in_rps": count / elapsed}


async def pingpong_out(count: int, port: int) -> dict[str, float]:
    """(b) this run as the client of the echo server in another process."""
    elapsed = await _round_trips(port, count)
    return {"pp_out_rps": count / elapsed}


async def pingpong_many(conns: int, rounds: int) -> dict[str, float]:
    """(c) total round trips per second over many concurrent connections,
    client and server in this run."""
    async with _server(backlog=conns + 16) as port:
        streams = [await trio.open_tcp_stream("127.0.0.1", port)
                   for _ in range(conns)]

        async def client(stream: trio.SocketStream) -> None:
            for _ in range(rounds):
                await _exchange(stream)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(client, stream)
        elapsed = time.perf_counter() - t0
        for stream in streams:
            await stream.aclose()
    return {"pp_many_rps": conns * rounds / elapsed}


# -- 3. timer lateness --------------------------------------------------------

async def timers(count: int, delay: float = 0.005) -> dict[str, float]:
    late: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        await trio.sleep(delay)
        late.append(time.perf_counter() - t0 - delay)
    m, p = med_p99(late, 1e3)
    return {"timer_late_med_ms": m, "timer_late_p99_ms": p}


# -- 4. idle ------------------------------------------------------------------

async def idle(seconds: float) -> dict[str, float]:
    """While the only task sleeps for an hour, a meter thread counts the
    other threads' wake-ups and CPU time over `seconds`; then it cancels the
    sleep through the run's token (outside the window)."""
    token = trio.lowlevel.current_trio_token()
    result: dict[str, float] = {}
    with trio.CancelScope() as scope:

        def meter() -> None:
            me = threading.get_native_id()
            time.sleep(0.05)  # the run settles into its wait
            s0, c0, m0 = _switches(me), time.process_time(), time.thread_time()
            t0 = time.perf_counter()
            time.sleep(seconds)
            s1, c1, m1 = _switches(me), time.process_time(), time.thread_time()
            wall = time.perf_counter() - t0
            result["idle_wakeups_hz"] = (s1 - s0) / wall
            result["idle_cpu_pct"] = 100 * ((c1 - c0) - (m1 - m0)) / wall
            token.run_sync_soon(scope.cancel)

        thread = threading.Thread(target=meter, name="bench-meter")
        thread.start()
        await trio.sleep(3600)
    thread.join()
    if not result:
        raise RuntimeError("the idle sleep ended before the meter did")
    return result


# -- 5. host responsiveness under a guest flood -------------------------------

async def probe(post: Post, samples: int) -> list[float]:
    """Schedule host events one after another (each from the previous one's
    callback) and time each from scheduling to running."""
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()
    lat: list[float] = []
    stamp = [0.0]

    def fire() -> None:
        lat.append(time.perf_counter() - stamp[0])
        if len(lat) < samples:
            arm()
        else:
            # host callback, outside the Trio run: enter it via the token
            token.run_sync_soon(done.set)

    def arm() -> None:
        stamp[0] = time.perf_counter()
        post(fire)

    arm()
    await done.wait()
    return lat


async def flood(post: Post, samples: int) -> dict[str, float]:
    """The guest floods with two tasks doing `await trio.sleep(0)` forever
    (Trio has no plain call_soon callbacks: the second task stands for
    asyncio's self-rescheduling callback); the host's own events are timed,
    and the guest's progress meanwhile (workloads.flood)."""
    stop = [False]
    spins = [0]

    async def spin() -> None:
        while not stop[0]:
            await trio.sleep(0)
            spins[0] += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(spin)
        nursery.start_soon(spin)
        await trio.sleep(0.01)
        try:
            s0, t0 = spins[0], time.perf_counter()
            await trio.sleep(0.1)
            s1, t1 = spins[0], time.perf_counter()
            lat = await probe(post, samples)
            s2, t2 = spins[0], time.perf_counter()
        finally:
            stop[0] = True
    m, p = med_p99(lat, 1e3)
    before = (s1 - s0) / (t1 - t0)
    during = (s2 - s1) / (t2 - t1)
    return {"flood_host_med_ms": m, "flood_host_p99_ms": p,
            "flood_guest_pct": 100 * during / before if before else 0.0}


# -- 6. cost of an empty iteration --------------------------------------------

async def iterations(seconds: float) -> dict[str, float]:
    """A task doing `await trio.sleep(0)`: microseconds per iteration."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        await trio.sleep(0)
        n += 1
    return {"iter_us": 1e6 * (time.perf_counter() - t0) / n}


# -- all of them --------------------------------------------------------------

async def scenarios(post: Optional[Post], echo_port: int,
                    sizes: dict[str, Any] = SIZES,
                    only: Optional[set[str]] = None) -> dict[str, float]:
    """Every scenario in turn; flood only with a host (post not None)."""
    s = sizes
    steps: list[tuple[str, Callable[[], Awaitable[dict[str, float]]]]] = [
        ("iter", lambda: iterations(s["iter_seconds"])),
        ("wake", lambda: wake(s["wake_samples"])),
        ("pp_in", lambda: pingpong_in(s["pp_count"])),
        ("pp_out", lambda: pingpong_out(s["pp_out_count"], echo_port)),
        ("pp_many", lambda: pingpong_many(s["many_conns"], s["many_rounds"])),
        ("timer", lambda: timers(s["timer_count"])),
        ("idle", lambda: idle(s["idle_seconds"])),
    ]
    if post is not None:
        steps.append(("flood", lambda: flood(post, s["flood_samples"])))
    out: dict[str, float] = {}
    for name, step in steps:
        if only is None or name in only:
            out.update(await step())
    return out
