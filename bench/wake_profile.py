"""Where a guest's wake-up goes: each part of it, timed.

    python bench/wake_profile.py [--samples 2000] [--cpu N|-1]

A thread writes a byte to a socket while the loop is idle (as
bench/workloads.py's wake scenario, 0.5 ms after the loop went idle); the
reader callback runs on the host thread.  Split at the moment the tick
starts (the run's slice is entered):

* ``to tick``: the write, the kernel waking whoever waits (the backend
  thread, or the host's own poll in threadless mode), the host being woken
  (thread mode: a second thread hop) and dispatching to the tick;
* ``in tick``: from the tick's start to the reader callback (the lockstep
  call, the loop's own zero-timeout poll, its iteration).

Natively there is only the total.  Then the fixed costs, each a loop of
calls on the host thread (no waiting): an empty selector iteration
(``_run_once``), an empty uvloop pass (``uv_run(NOWAIT)``), the core's
``arm``/``begin_tick`` pair (threadless, so that nothing waits), a
``poll()`` of the backend fd.  Rows: the queue host (thread), Tk, Qt
(PySide6) and GTK 3 in both modes, both loops.  Medians; µs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import suite  # noqa: E402
import workloads  # noqa: E402

ROWS = [("native", "-"), ("queue", "thread"), ("tk", "thread"),
        ("tk", "threadless"), ("qt", "thread"), ("qt", "threadless"),
        ("gtk", "thread"), ("gtk", "threadless")]


async def profile(samples: int) -> dict[str, float]:
    tick_start = [0.0]
    import asyncio_guest

    run = asyncio_guest.current_run()
    if run is not None:
        runner = run._runner  # type: ignore[attr-defined]
        plain = runner._run_slice

        def timed() -> None:
            tick_start[0] = time.perf_counter()
            plain()
        runner._run_slice = timed
    to_tick: list[float] = []

    def on_sample(stamp: float) -> None:
        if run is not None:
            to_tick.append(tick_start[0] - stamp)

    total = await workloads.wake_latencies(samples, on_sample)
    out = {"total": statistics.median(total) * 1e6}
    if to_tick:
        out["to tick"] = statistics.median(to_tick) * 1e6
        out["in tick"] = statistics.median(
            t - k for t, k in zip(total, to_tick)) * 1e6
    return out


def fixed_costs(loop_name: str, n: int = 20000) -> dict[str, float]:
    """Host-thread costs of the pieces, no waiting anywhere."""
    from asyncio_guest import _core, _drivers

    out: dict[str, float] = {}
    loop, driver = _drivers.new_loop(suite.loop_factory(loop_name))
    try:
        if isinstance(driver, _drivers.UVLoopDriver):
            view = driver.view
            once: Callable[[], Any] = lambda: view.run(0.0)
            name = "uvloop pass (uv_run NOWAIT)"
        else:
            driver.enter()
            once = loop._run_once
            name = "selector iteration (_run_once)"
        t0 = time.perf_counter()
        for _ in range(n):
            once()
        out[name] = (time.perf_counter() - t0) / n * 1e6
        if not isinstance(driver, _drivers.UVLoopDriver):
            driver.leave()
        watcher = _core.CallbackWatcher(lambda t: None, lambda: None,
                                        lambda: None)

        class W:
            _ag_watcher = watcher._ag_watcher
        guest = _core.Guest.threadless(driver.fd, W())
        guest.arm(3600.0)
        t0 = time.perf_counter()
        for _ in range(n):
            guest.begin_tick()
            guest.arm(3600.0)
        out["begin_tick + arm (core)"] = (time.perf_counter() - t0) / n * 1e6
        t0 = time.perf_counter()
        for _ in range(n):
            guest.readable()
        out["poll() of the backend fd"] = (time.perf_counter() - t0) / n * 1e6
        guest.close()
    finally:
        loop.close()
    return out


def child(host: str, mode: str, loop: str, samples: int) -> dict[str, float]:
    make: Callable[[Any], Any] = lambda post: profile(samples)
    factory = suite.loop_factory(loop)
    if host == "native":
        result = suite.run_native(make, factory)
        result.update(fixed_costs(loop))
        return result
    if host == "queue":
        return suite.run_queue(make, factory, mode)
    if host == "tk":
        return suite.run_tk(make, factory, mode)
    if host == "qt":
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        return suite.qt_runner("PySide6")(make, factory, mode)
    if host == "gtk":
        return suite.gtk_runner("3.0")(make, factory, mode)
    raise SystemExit(f"unknown host {host!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                    help="pin to this CPU (-1: no pinning)")
    ap.add_argument("--loops", default="asyncio,uvloop")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.cpu >= 0:
            os.sched_setaffinity(0, {args.cpu})
        print(json.dumps(child(*args.child, args.samples)))
        return
    print(f"pinned to CPU {args.cpu}" if args.cpu >= 0 else "unpinned")
    for loop in args.loops.split(","):
        print(f"\n{loop}\n\n| host | mode | total µs | to tick µs | "
              "in tick µs |\n|---|---|---|---|---|")
        fixed: dict[str, float] = {}
        for host, mode in ROWS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", host, mode, loop,
                 "--samples", str(args.samples), "--cpu", str(args.cpu)],
                capture_output=True, text=True)
            try:
                r = json.loads(out.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                print(f"| {host} | {mode} | failed: "
                      f"{out.stderr.strip().splitlines()[-1:]} | | |")
                continue
            cells = [f"{r[k]:.1f}" if k in r else "–"
                     for k in ("total", "to tick", "in tick")]
            print(f"| {host} | {mode} | " + " | ".join(cells) + " |")
            fixed = {k: v for k, v in r.items()
                     if k not in ("total", "to tick", "in tick")} or fixed
        print("\nfixed costs on the host thread, µs per call: " + "; ".join(
            f"{k} {v:.2f}" for k, v in fixed.items()))


if __name__ == "__main__":
    main()
