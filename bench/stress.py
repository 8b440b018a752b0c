"""Stress: the guest under heavy load while Tk keeps answering its own events.

Four scenarios, each a guest run on a real Tk root (under Xvfb without a
display), on the stdlib loop and on uvloop:

* ``tasks``: 10,000 concurrent tasks, all waiting on one event, then each
  yielding and returning its number.
* ``sockets``: 1,000 socket pairs open at once, each side of each pair
  exchanging 10 lines through asyncio streams.
* ``threadsafe``: 1,000,000 ``call_soon_threadsafe`` calls from 4 threads;
  every callback records (thread, sequence number): nothing may be lost,
  duplicated or reordered within a thread.
* ``timers``: 100,000 timers at random delays up to 500 ms, a random half
  of them cancelled soon after being made, a few more by other timers'
  callbacks: exactly the others fire, none before its time.

Meanwhile a Tk ``after(5)`` chain (the host's own events) measures how late
each of its callbacks runs; the p50/p99/max lateness is reported.
Correctness is checked (and asserted by tests/test_stress.py); speed is
only reported.

    python bench/stress.py [--loops asyncio,uvloop] [--scenarios ...]
                           [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time
import tkinter
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = ("tasks", "sockets", "threadsafe", "timers")

N_TASKS = 10_000
N_SOCKETS = 1_000
LINES = 10
N_THREADSAFE = 1_000_000
THREADS = 4
N_TIMERS = 100_000
TIMER_SPAN = 0.5
BATCH = 1000  # setup loops yield to the loop every BATCH items


async def tasks_scenario() -> dict[str, Any]:
    go = asyncio.Event()

    async def one(i: int) -> int:
        await go.wait()
        await asyncio.sleep(0)
        return i

    t0 = time.perf_counter()
    tasks = []
    for i in range(N_TASKS):
        tasks.append(asyncio.ensure_future(one(i)))
        if i % BATCH == 0:
            await asyncio.sleep(0)  # a well-behaved app yields while it sets up
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks)
    return {"ok": results == list(range(N_TASKS)), "count": len(results),
            "seconds": time.perf_counter() - t0}


async def sockets_scenario() -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * N_SOCKETS + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    async def side(sock: socket.socket, name: str) -> int:
        reader, writer = await asyncio.open_connection(sock=sock)
        got = 0
        for i in range(LINES):
            writer.write(f"{name} {i}\n".encode())
            await writer.drain()
            line = await reader.readline()
            got += line.startswith(b"peer ") or line.startswith(b"self ")
        writer.close()
        await writer.wait_closed()
        return got

    t0 = time.perf_counter()
    pairs = []
    for i in range(N_SOCKETS):
        pairs.append(socket.socketpair())
        if i % BATCH == 0:
            await asyncio.sleep(0)
    counts = await asyncio.gather(*(
        c for a, b in pairs for c in (side(a, "self"), side(b, "peer"))))
    total = sum(counts)
    return {"ok": total == 2 * N_SOCKETS * LINES, "lines": total,
            "seconds": time.perf_counter() - t0}


async def threadsafe_scenario() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    per = N_THREADSAFE // THREADS
    seen: list[list[int]] = [[] for _ in range(THREADS)]
    done = loop.create_future()
    count = [0]

    def record(k: int, i: int) -> None:
        seen[k].append(i)
        count[0] += 1
        if count[0] == per * THREADS and not done.done():
            done.set_result(None)

    def producer(k: int) -> None:
        call = loop.call_soon_threadsafe
        for i in range(per):
            call(record, k, i)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=producer, args=(k,))
               for k in range(THREADS)]
    for t in threads:
        t.start()
    await done
    for t in threads:
        await asyncio.to_thread(t.join)
    in_order = all(s == list(range(per)) for s in seen)
    return {"ok": in_order and count[0] == per * THREADS,
            "calls": count[0], "seconds": time.perf_counter() - t0}


async def timers_scenario() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    fired: dict[int, float] = {}
    due: dict[int, float] = {}
    handles = {}
    # uvloop keeps whole milliseconds: a timer may run up to 1 ms early
    early_allowed = 0.0011

    def fire(i: int) -> None:
        fired[i] = loop.time()
        # cancel a few others from inside a timer callback, at random
        if i % 97 == 0:
            j = rng.randrange(N_TIMERS)
            if j not in fired and j in handles:
                handles.pop(j).cancel()
                cancelled.add(j)

    t0 = time.perf_counter()
    cancelled: set[int] = set()
    doomed: list[int] = []
    for i in range(N_TIMERS):
        when = loop.time() + rng.random() * TIMER_SPAN
        due[i] = when
        handles[i] = loop.call_at(when, fire, i)
        if rng.random() < 0.5:
            doomed.append(i)
        if i % BATCH == BATCH - 1:
            # cancel this batch's doomed half before any of it can fire
            for j in doomed:
                handles.pop(j).cancel()
                cancelled.add(j)
            doomed.clear()
            await asyncio.sleep(0)
    for j in doomed:
        handles.pop(j).cancel()
        cancelled.add(j)
    await asyncio.sleep(max(0.0, max(due.values()) + 0.1 - loop.time()))
    expected = set(range(N_TIMERS)) - cancelled
    early = [i for i, t in fired.items() if t < due[i] - early_allowed]
    return {"ok": set(fired) == expected and not early,
            "fired": len(fired), "cancelled": len(cancelled),
            "early": len(early), "seconds": time.perf_counter() - t0}


FUNCS: dict[str, Callable[[], Any]] = {
    "tasks": tasks_scenario, "sockets": sockets_scenario,
    "threadsafe": threadsafe_scenario, "timers": timers_scenario}


def run_on_tk(name: str, loop_factory: Optional[Callable[[], Any]],
              root: Optional[tkinter.Tk] = None) -> dict[str, Any]:
    """One scenario as a guest of Tk, with the after(5) probe; the result
    and the probe's lateness figures (ms)."""
    from asyncio_guest import tk as guest_tk

    own = root is None
    if root is None:
        root = tkinter.Tk()
        root.withdraw()
    lateness: list[float] = []
    state = {"due": 0.0, "stop": False}

    def probe() -> None:
        now = time.perf_counter()
        if state["due"]:
            lateness.append((now - state["due"]) * 1000)
        if not state["stop"]:
            state["due"] = time.perf_counter() + 0.005
            root.after(5, probe)

    out: dict[str, Any] = {}

    def done(task: "asyncio.Task[Any]") -> None:
        out["task"] = task

    async def main() -> Any:
        await asyncio.sleep(0.05)  # the probe is running
        return await FUNCS[name]()

    root.after(0, probe)
    guest_tk.start(root, main, done_callback=done, loop_factory=loop_factory)
    deadline = time.monotonic() + 120
    while "task" not in out:
        root.dooneevent(0)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not finish")
    state["stop"] = True
    if own:
        root.destroy()
    result = dict(out["task"].result())
    p50, p99, worst = _quantiles(lateness)
    result.update(probes=len(lateness), p50_ms=p50, p99_ms=p99, max_ms=worst)
    return result


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    lat = sorted(values)
    if not lat:
        return 0.0, 0.0, 0.0
    return (lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            lat[-1])


def run_native(name: str, loop_factory: Optional[Callable[[], Any]]
               ) -> dict[str, Any]:
    """The scenario under plain asyncio.run (or uvloop), with the probe as
    a call_later(0.005) chain in the loop itself: how late the loop's own
    callbacks run under the same load."""
    lateness: list[float] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        state = {"stop": False}

        def probe(due: float) -> None:
            lateness.append((time.perf_counter() - due) * 1000)
            if not state["stop"]:
                loop.call_later(0.005, probe, time.perf_counter() + 0.005)

        loop.call_later(0.005, probe, time.perf_counter() + 0.005)
        await asyncio.sleep(0.05)
        try:
            return await FUNCS[name]()
        finally:
            state["stop"] = True

    loop = (loop_factory or asyncio.new_event_loop)()
    try:
        result = dict(loop.run_until_complete(main()))
    finally:
        loop.close()
    p50, p99, worst = _quantiles(lateness)
    result.update(probes=len(lateness), p50_ms=p50, p99_ms=p99, max_ms=worst)
    return result


def child(name: str, loop: str) -> None:
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    native = run_native(name, factory)
    guest = run_on_tk(name, factory)
    print(json.dumps({"native": native, "guest": guest}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loops", default="asyncio,uvloop")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    for name in args.scenarios.split(","):
        for loop in args.loops.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", name, loop],
                capture_output=True, text=True)
            try:
                r = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                sys.exit(f"{name} on {loop} failed:\n{proc.stderr[-3000:]}")
            rows.append((name, loop, r))
            n, g = r["native"], r["guest"]
            print(f"{name:10} {loop:8} ok={n['ok'] and g['ok']} native "
                  f"{n['seconds']:.2f} s guest {g['seconds']:.2f} s, "
                  f"p99 lateness native loop {n['p99_ms']:.2f} ms, "
                  f"Tk host {g['p99_ms']:.2f} ms", flush=True)
    date = datetime.date.today().isoformat()
    lines = [f"# Stress, {date}", "",
             f"`python bench/stress.py` ({os.cpu_count()} CPUs). Each "
             "scenario runs natively (`loop.run_until_complete`) and as a "
             "guest of Tk (default mode) in one process. Lateness: how late "
             "a callback due every 5 ms ran -- natively a `call_later` "
             "chain in the loop itself, as a guest a Tk `after(5)` chain "
             "(the host's own events).", "",
             "| scenario | loop | correct | native s | guest s | guest/native "
             "time | native loop p50 / p99 / max ms | Tk host p50 / p99 / max "
             "ms | details |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, loop, r in rows:
        n, g = r["native"], r["guest"]
        details = ", ".join(f"{k}={v}" for k, v in g.items() if k not in (
            "ok", "seconds", "probes", "p50_ms", "p99_ms", "max_ms"))
        lines.append(
            f"| {name} | {loop} | {'yes' if n['ok'] and g['ok'] else 'NO'} | "
            f"{n['seconds']:.2f} | {g['seconds']:.2f} | "
            f"{g['seconds'] / n['seconds']:.2f} | "
            f"{n['p50_ms']:.2f} / {n['p99_ms']:.2f} / {n['max_ms']:.2f} | "
            f"{g['p50_ms']:.2f} / {g['p99_ms']:.2f} / {g['max_ms']:.2f} | "
            f"{details} |")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{date}-stress.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")
    if not all(r["native"]["ok"] and r["guest"]["ok"] for _, _, r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
