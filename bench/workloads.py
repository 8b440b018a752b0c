"""The benchmark scenarios, as asyncio coroutines that run unchanged natively
(``asyncio.Runner``) and as a guest of any host (bench/suite.py).

Each scenario returns a dict of named figures; ``scenarios()`` runs them all
in one go.  Units are in the names: ``_us`` microseconds, ``_ms``
milliseconds, ``_rps`` round trips per second, ``_hz`` per second, ``_pct``
percent.  Nothing here asserts a speed: benchmarks are not tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import threading
import time
from typing import Any, Awaitable, Callable, Optional

# Host-side scheduling for the flood scenario: post(fn) makes the host run
# fn() soon (Tk after(0), a Qt single-shot timer, a GLib idle source...).
Post = Callable[[Callable[[], object]], object]

# Sizes: the defaults are the issue's; --quick scales them down.
SIZES = {
    "wake_samples": 2000,
    "pp_count": 5000,
    "pp_out_count": 5000,
    "many_conns": 100,
    "many_rounds": 100,
    "timer_count": 500,
    "idle_seconds": 3.0,
    "flood_samples": 500,
    "iter_seconds": 0.5,
}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def med_p99(values: list[float], scale: float) -> tuple[float, float]:
    return statistics.median(values) * scale, pct(values, 99) * scale


# -- 1. wake latency ----------------------------------------------------------

async def wake(samples: int) -> dict[str, float]:
    """Another thread writes a byte to a socket while the loop is idle; the
    time until the loop's reader callback runs is one sample."""
    m, p = med_p99(await wake_latencies(samples), 1e6)
    return {"wake_med_us": m, "wake_p99_us": p}


async def wake_latencies(
        samples: int, on_sample: Optional[Callable[[float], None]] = None
) -> list[float]:
    """The samples of :func:`wake`, in seconds; ``on_sample(stamp)`` is
    called in the reader callback with the write's time (perf_counter)."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    stamp = [0.0]
    lat: list[float] = []
    go = threading.Semaphore(0)
    got: Optional[asyncio.Future[None]] = None

    def writer() -> None:
        while True:
            go.acquire()
            if len(lat) >= samples:
                return
            # Let the loop go idle (blocked in its wait) before writing:
            # 0.5 ms, longer than a VM's halt-polling window (200 us on
            # Linux's haltpoll), so each sample pays a real wake-up as a
            # GUI app that idles between events does, not a lucky
            # still-polling CPU (7 us instead of 45 here).
            time.sleep(0.0005)
            stamp[0] = time.perf_counter()
            b.send(b"x")

    def on_readable() -> None:
        a.recv(16)
        lat.append(time.perf_counter() - stamp[0])
        if on_sample is not None:
            on_sample(stamp[0])
        if got is not None and not got.done():
            got.set_result(None)

    loop.add_reader(a.fileno(), on_readable)
    thread = threading.Thread(target=writer, name="bench-writer")
    thread.start()
    try:
        while len(lat) < samples:
            got = loop.create_future()
            go.release()
            await got
    finally:
        go.release()
        thread.join()
        loop.remove_reader(a.fileno())
        a.close()
        b.close()
    return lat


# -- 2. ping-pong -------------------------------------------------------------

async def _echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    try:
        while data := await r.read(4096):
            w.write(data)
    finally:
        w.close()


async def _round_trips(host: str, port: int, count: int) -> float:
    reader, writer = await asyncio.open_connection(host, port)
    t0 = time.perf_counter()
    for _ in range(count):
        writer.write(b"x")
        await reader.readexactly(1)
    elapsed = time.perf_counter() - t0
    writer.close()
    await writer.wait_closed()
    return elapsed


async def pingpong_in(count: int) -> dict[str, float]:
    """(a) client and server both in this loop, one connection."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    elapsed = await _round_trips("127.0.0.1", port, count)
    server.close()
    await server.wait_closed()
    return {"pp_in_rps": count / elapsed}


async def pingpong_out(count: int, port: int) -> dict[str, float]:
    """(b) this loop as the client of an echo server in another process:
    the loop goes idle on every round trip."""
    elapsed = await _round_trips("127.0.0.1", port, count)
    return {"pp_out_rps": count / elapsed}


async def pingpong_many(conns: int, rounds: int) -> dict[str, float]:
    """(c) total round trips per second over many concurrent connections,
    client and server in this loop."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0,
                                        backlog=conns + 16)
    port = server.sockets[0].getsockname()[1]
    pairs = [await asyncio.open_connection("127.0.0.1", port)
             for _ in range(conns)]

    async def client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for _ in range(rounds):
            w.write(b"x")
            await r.readexactly(1)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(r, w) for r, w in pairs))
    elapsed = time.perf_counter() - t0
    for _, w in pairs:
        w.close()
    for _, w in pairs:
        await w.wait_closed()
    server.close()
    await server.wait_closed()
    return {"pp_many_rps": conns * rounds / elapsed}


# -- 3. timer lateness --------------------------------------------------------

async def timers(count: int, delay: float = 0.005) -> dict[str, float]:
    late: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        await asyncio.sleep(delay)
        late.append(time.perf_counter() - t0 - delay)
    m, p = med_p99(late, 1e3)
    return {"timer_late_med_ms": m, "timer_late_p99_ms": p}


# -- 4. idle ------------------------------------------------------------------

def _switches(skip_tid: int) -> int:
    """Context switches (voluntary + involuntary) of every thread in this
    process but skip_tid: each is a wake-up (or a preemption)."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == skip_tid:
            continue
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


async def idle(seconds: float) -> dict[str, float]:
    """While the loop's only task sleeps for an hour, a meter thread counts
    the other threads' wake-ups and CPU time over `seconds`; then it ends
    the sleep (that last wake-up falls outside the window)."""
    loop = asyncio.get_running_loop()
    result: dict[str, float] = {}
    sleeper = loop.create_task(asyncio.sleep(3600))

    def meter() -> None:
        me = threading.get_native_id()
        time.sleep(0.05)  # the loop settles into its wait
        s0, c0, m0 = _switches(me), time.process_time(), time.thread_time()
        t0 = time.perf_counter()
        time.sleep(seconds)
        s1, c1, m1 = _switches(me), time.process_time(), time.thread_time()
        wall = time.perf_counter() - t0
        result["idle_wakeups_hz"] = (s1 - s0) / wall
        result["idle_cpu_pct"] = 100 * ((c1 - c0) - (m1 - m0)) / wall
        loop.call_soon_threadsafe(sleeper.cancel)

    thread = threading.Thread(target=meter, name="bench-meter")
    thread.start()
    try:
        await sleeper
    except asyncio.CancelledError:
        if not result:
            raise
    thread.join()
    return result


# -- 5. host responsiveness under a guest flood -------------------------------

def probe(post: Post, samples: int) -> "asyncio.Future[list[float]]":
    """Schedule host events one after another (each from the previous one's
    callback) and time each from scheduling to running."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[list[float]] = loop.create_future()
    lat: list[float] = []
    stamp = [0.0]

    def fire() -> None:
        lat.append(time.perf_counter() - stamp[0])
        if len(lat) < samples:
            arm()
        elif not fut.done():
            # host thread, outside the loop's own callbacks: use the
            # threadsafe entry so a thread-mode backend wakes for it
            loop.call_soon_threadsafe(fut.set_result, lat)

    def arm() -> None:
        stamp[0] = time.perf_counter()
        post(fire)

    arm()
    return fut


async def flood(post: Post, samples: int) -> dict[str, float]:
    """The guest floods (a task doing `await asyncio.sleep(0)` forever plus
    a callback that reschedules itself); the host's own events are timed.
    A host can answer fast by starving the guest, so the guest's progress
    while the host events run is reported too: its spin rate during the
    probe as a percentage of its rate just before."""
    loop = asyncio.get_running_loop()
    stop = [False]
    spins = [0]

    async def spin() -> None:
        while not stop[0]:
            await asyncio.sleep(0)
            spins[0] += 1

    def callback() -> None:
        if not stop[0]:
            loop.call_soon(callback)

    task = loop.create_task(spin())
    loop.call_soon(callback)
    await asyncio.sleep(0.01)
    try:
        s0, t0 = spins[0], time.perf_counter()
        await asyncio.sleep(0.1)
        s1, t1 = spins[0], time.perf_counter()
        lat = await probe(post, samples)
        s2, t2 = spins[0], time.perf_counter()
    finally:
        stop[0] = True
        await task
    m, p = med_p99(lat, 1e3)
    before = (s1 - s0) / (t1 - t0)
    during = (s2 - s1) / (t2 - t1)
    return {"flood_host_med_ms": m, "flood_host_p99_ms": p,
            "flood_guest_pct": 100 * during / before if before else 0.0}


# -- 6. cost of an empty iteration --------------------------------------------

async def iterations(seconds: float) -> dict[str, float]:
    """A task doing `await asyncio.sleep(0)`: microseconds per iteration."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        await asyncio.sleep(0)
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
