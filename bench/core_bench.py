"""Core benchmarks: guest vs native asyncio, in one process run.

Scenarios (each reported with the ratio guest/native where that makes sense):
  iterations  empty loop iterations per second (a task doing sleep(0))
  wake        another thread writes a byte to a socket; microseconds until
              the guest's reader callback runs on the host thread
  pingpong    TCP round trips per second, client and server in the loop
  idle        wake-ups per second and CPU % while the only task sleeps
              (the one wake-up that ends the sleep included)

Loops: asyncio's own and uvloop; "native" is the same coroutine under
asyncio.Runner with that loop.  Hosts: "queue" (a queue.Queue host loop on
the main thread) and "tk" (a real Tk mainloop; needs a display, e.g.
xvfb-run).  Ratios are guest / native of the same loop.  Usage:

    python bench/core_bench.py [--hosts queue,tk] [--loops asyncio,uvloop]

Benchmarks are not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import queue
import resource
import socket
import statistics
import sys
import threading
import time
from typing import Any, Callable

import asyncio_guest


# -- workloads (the same coroutine runs natively and as a guest) ------------

async def iterations(seconds: float) -> float:
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        await asyncio.sleep(0)
        n += 1
    return n / seconds


async def wake_latency(samples: int) -> list[float]:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    got = asyncio.Event()
    stamp: list[float] = [0.0]
    lat: list[float] = []

    def on_readable() -> None:
        a.recv(16)
        lat.append(time.perf_counter() - stamp[0])
        got.set()

    loop.add_reader(a.fileno(), on_readable)
    try:
        for _ in range(samples):
            got.clear()
            # The loop must be idle (blocked) when the byte is written.
            writer = threading.Timer(0.0002, lambda: (
                stamp.__setitem__(0, time.perf_counter()), b.send(b"x")))
            writer.start()
            await got.wait()
            writer.join()
    finally:
        loop.remove_reader(a.fileno())
        a.close()
        b.close()
    return lat


async def pingpong(count: int) -> float:
    handler_done = asyncio.Event()

    async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(64):
                w.write(data)
        finally:
            w.close()
            handler_done.set()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.perf_counter()
    for _ in range(count):
        writer.write(b"x")
        await reader.readexactly(1)
    rate = count / (time.perf_counter() - t0)
    writer.close()
    await handler_done.wait()  # the server side saw EOF and closed
    server.close()
    await server.wait_closed()
    return rate


async def idle(seconds: float) -> tuple[float, float]:
    """Returns CPU seconds used while sleeping; wake-ups are counted by the
    caller from the guest's counters."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(seconds)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu, seconds


# -- hosts --------------------------------------------------------------------

def run_queue_host(coro: Any, loop_factory: Any = None) -> tuple[Any, int]:
    q: "queue.Queue[Callable[[], object]]" = queue.Queue()
    out: list[Any] = []
    run = asyncio_guest.start_guest_run(
        coro, run_sync_soon_threadsafe=q.put, done_callback=out.append,
        loop_factory=loop_factory)
    guest = run._runner._guest
    while not out:
        q.get()()
    return out[0].result(), guest.posts


def run_tk_host(coro: Any, loop_factory: Any = None) -> tuple[Any, int]:
    import tkinter

    from asyncio_guest import tk as guest_tk

    root = tkinter.Tk()
    out: list[Any] = []

    def done(task: Any) -> None:
        out.append(task)
        root.quit()

    run = guest_tk.start(root, coro, done_callback=done,
                         loop_factory=loop_factory)
    guest = run._runner._guest
    root.mainloop()
    root.destroy()
    return out[0].result(), guest.posts


HOSTS = {"queue": run_queue_host, "tk": run_tk_host}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run_native(coro: Any, loop_factory: Any) -> Any:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)


def loop_factories(names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if name == "asyncio":
            out[name] = asyncio.new_event_loop
        elif name == "uvloop":
            import uvloop

            out[name] = uvloop.new_event_loop
        else:
            raise SystemExit(f"unknown loop {name!r}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", default="queue,tk")
    ap.add_argument("--loops", default="asyncio,uvloop")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--idle-seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    hosts = [h for h in args.hosts.split(",") if h]
    loops = loop_factories([x for x in args.loops.split(",") if x])

    print(f"# {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, asyncio-guest "
          f"{asyncio_guest.__version__}")
    rows = []
    for loop_name, factory in loops.items():
        rows += bench_loop(loop_name, factory, hosts, args)
    print_table(rows)


def bench_loop(loop_name: str, factory: Any, hosts: list[str],
               args: Any) -> list[tuple[Any, ...]]:
    # The machine is a small VM whose speed drifts: warm up, then interleave
    # native and guest rounds and report medians over the rounds.
    natives: dict[str, list[Any]] = {"it": [], "lat": [], "pp": []}
    guests: dict[str, dict[str, list[Any]]] = {
        h: {"it": [], "lat": [], "pp": []} for h in hosts}
    run_native(pingpong(2000), factory)
    per_round = args.samples // args.rounds
    for _ in range(args.rounds):
        natives["it"].append(run_native(iterations(0.5), factory))
        natives["lat"] += run_native(wake_latency(per_round), factory)
        natives["pp"].append(run_native(pingpong(5000), factory))
        for name in hosts:
            host, g = HOSTS[name], guests[name]
            g["it"].append(host(iterations(0.5), factory)[0])
            g["lat"] += host(wake_latency(per_round), factory)[0]
            g["pp"].append(host(pingpong(5000), factory)[0])
    med = statistics.median
    native = (f"{loop_name}, native", med(natives["it"]),
              med(natives["lat"]), pct(natives["lat"], 99),
              med(natives["pp"]), "-", "-")
    rows = [native + native[1:]]
    for name in hosts:
        host, g = HOSTS[name], guests[name]
        (cpu, secs), posts = host(idle(args.idle_seconds), factory)
        # The run's own start and end cost a couple of wake-ups: subtract
        # them by measuring an empty run.
        _, base_posts = host(asyncio.sleep(0), factory)
        rows.append((f"{loop_name}, guest of {name} host", med(g["it"]),
                     med(g["lat"]), pct(g["lat"], 99), med(g["pp"]),
                     f"{(posts - base_posts) / secs:.2f}",
                     f"{100 * cpu / secs:.2f}") + native[1:])
    return rows


def print_table(rows: list[tuple[Any, ...]]) -> None:
    print("| loop, host | iterations/s | ratio | wake median us | wake p99 us | "
          "ratio (median) | ping-pong rt/s | ratio | idle wake-ups/s | "
          "idle CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, it, lat, p99, pp, wakes, cpu,
         n_it, n_lat, _, n_pp, _, _) in rows:
        print(f"| {name} | {it:,.0f} | {it / n_it:.2f} | {lat * 1e6:.1f} "
              f"| {p99 * 1e6:.1f} | {lat / n_lat:.2f} | {pp:,.0f} | "
              f"{pp / n_pp:.2f} | {wakes} | {cpu} |")


if __name__ == "__main__":
    sys.exit(main())
