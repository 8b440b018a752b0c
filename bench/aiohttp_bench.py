"""A real workload: an aiohttp "hello" server inside the guest, loaded by
``wrk`` from another process, against the same server run natively.

    python bench/aiohttp_bench.py [--rounds 3] [--seconds 5] [--only tk,qt]

Each row runs in a child process of its own, pinned to one CPU (``--cpu``,
default the last); ``wrk -t1 -c50 --latency`` runs on another.  Rows
(the hosts in their default mode, both loops): the server under
``asyncio.run`` / uvloop (native), as a guest of Tk, Qt (PySide6) and GTK 3,
and under qasync.  Rounds are interleaved (every row once, then again), and
each figure is the median over the rounds.

Per row: requests/s and wrk's p99 latency; the lateness of a 10 ms timer
chain of the host's own (Tk ``after``, a precise ``QTimer``, GLib
``timeout_add``; natively the loop's ``call_later``) while the server is
under load; and, for guests, how long the ticks ran (the time slice is
1 ms).  Writes ``bench/results/<date>-aiohttp.md`` and ``.json``.  Needs
``wrk`` (Debian) and aiohttp (requirements-bench.txt), and a display for Tk
and GTK (``make bench`` uses Xvfb without one).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workloads import med_p99, pct  # noqa: E402

#: (row label, host, loop)
ROWS = [
    ("native", "native", "asyncio"), ("native", "native", "uvloop"),
    ("Tk", "tk", "asyncio"), ("Tk", "tk", "uvloop"),
    ("Qt (PySide6)", "qt", "asyncio"), ("Qt (PySide6)", "qt", "uvloop"),
    ("GTK 3", "gtk", "asyncio"), ("GTK 3", "gtk", "uvloop"),
    ("qasync (peer)", "qasync", "asyncio"),
]
TIMER_MS = 10

Every = Callable[[int, Callable[[], object]], object]  # (ms, fn): one shot


# -- child: the server, the host's timer chain ---------------------------------

def loop_factory(name: str) -> Any:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


async def serve(every: Every, stats: dict[str, Any]) -> dict[str, Any]:
    """Serve until stdin says "stop"; meanwhile a 10 ms host timer chain
    records its lateness between "go" and "stop"."""
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, World!")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    late: list[float] = []
    measuring = [False]

    def arm() -> None:
        t0 = time.perf_counter()

        def fired() -> None:
            if measuring[0]:
                late.append(time.perf_counter() - t0 - TIMER_MS / 1000)
            arm()
        every(TIMER_MS, fired)

    arm()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(port, flush=True)
    while line := (await reader.readline()).strip():
        if line == b"go":
            measuring[0] = True
            stats["slices"].clear()
        elif line == b"stop":
            break
    measuring[0] = False
    await runner.cleanup()
    m, p = med_p99(late, 1e3)
    out = {"timer_late_med_ms": m, "timer_late_p99_ms": p,
           "timer_samples": len(late)}
    slices = stats["slices"]
    if slices:
        out.update(tick_med_ms=statistics.median(slices) * 1e3,
                   tick_p99_ms=pct(slices, 99) * 1e3,
                   tick_max_ms=max(slices) * 1e3)
    return out


def count_slices(stats: dict[str, Any]) -> None:
    """Time every tick's slice of this thread's guest run."""
    import asyncio_guest

    runner = asyncio_guest.current_run()._runner  # type: ignore[union-attr]
    plain = runner._run_slice

    def timed() -> None:
        t0 = time.perf_counter()
        try:
            plain()
        finally:
            stats["slices"].append(time.perf_counter() - t0)
    runner._run_slice = timed


def child(host: str, loop: str) -> dict[str, Any]:
    stats: dict[str, Any] = {"slices": []}
    factory = loop_factory(loop)

    async def main(every: Every) -> dict[str, Any]:
        if host not in ("native", "qasync"):
            count_slices(stats)
        return await serve(every, stats)

    if host == "native":
        def later(ms: int, fn: Callable[[], object]) -> None:
            asyncio.get_running_loop().call_later(ms / 1000, fn)
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(main(later))
    if host == "tk":
        import tkinter

        from asyncio_guest import tk

        root = tkinter.Tk()
        result = tk.run(root, main, lambda ms, fn: root.after(ms, fn),
                        loop_factory=factory)
        assert result is not None
        return result
    if host in ("qt", "qasync"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6 import QtCore, QtWidgets

        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        timers: set[Any] = set()

        def qt_later(ms: int, fn: Callable[[], object]) -> None:
            timer = QtCore.QTimer()
            timer.setSingleShot(True)
            timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)

            def fired() -> None:
                timers.discard(timer)
                fn()
            timer.timeout.connect(fired)
            timers.add(timer)
            timer.start(ms)
        if host == "qasync":
            import qasync

            with asyncio.Runner(
                    loop_factory=lambda: qasync.QEventLoop(app)) as r:
                return r.run(main(qt_later))
        from asyncio_guest import qt

        result = qt.run(main, qt_later, loop_factory=factory, app=app)
        assert result is not None
        return result
    if host == "gtk":
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import GLib, Gtk  # noqa: F401

        from asyncio_guest import gtk

        def glib_later(ms: int, fn: Callable[[], object]) -> None:
            GLib.timeout_add(ms, lambda: fn() and False)
        result = gtk.run(main, glib_later, loop_factory=factory)
        assert result is not None
        return result
    raise SystemExit(f"unknown host {host!r}")


# -- parent ---------------------------------------------------------------------

def run_wrk(port: int, seconds: float, cpu: int) -> dict[str, float]:
    cmd = ["wrk", "-t1", "-c50", f"-d{max(1, round(seconds))}s", "--latency",
           f"http://127.0.0.1:{port}/"]
    if cpu >= 0:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p99 is not None, out
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale}


def one_run(host: str, loop: str, seconds: float, cpu: int,
            wrk_cpu: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", host, loop, "--cpu", str(cpu)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        port = int(proc.stdout.readline())
        run_wrk(port, 1, wrk_cpu)  # warm-up
        proc.stdin.write("go\n")
        proc.stdin.flush()
        figures = run_wrk(port, seconds, wrk_cpu)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        figures.update(json.loads(proc.stdout.readline()))
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--only", default="", help="hosts: native,tk,qt,gtk,qasync")
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--child", nargs=2, metavar=("HOST", "LOOP"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.cpu >= 0:
            os.sched_setaffinity(0, {args.cpu})
        print(json.dumps(child(*args.child)), flush=True)
        return
    wrk_cpu = 0 if args.cpu != 0 else 1
    rows = [r for r in ROWS
            if not args.only or r[1] in args.only.split(",") or r[1] == "native"]
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {r: [] for r in rows}
    t0 = time.monotonic()
    for n in range(args.rounds):
        for row in rows:
            print(f"-- round {n + 1}: {row[0]} on {row[2]}", file=sys.stderr,
                  flush=True)
            runs[row].append(one_run(row[1], row[2], args.seconds, args.cpu,
                                     wrk_cpu))
    data = {"date": datetime.date.today().isoformat(),
            "rounds": args.rounds, "seconds": args.seconds, "cpu": args.cpu,
            "elapsed": round(time.monotonic() - t0),
            "rows": [{"name": r[0], "host": r[1], "loop": r[2],
                      "runs": runs[r],
                      "median": {k: statistics.median(x[k] for x in runs[r])
                                 for k in runs[r][0]}} for r in rows]}
    stem = os.path.join(args.out, data["date"] + "-aiohttp")
    with open(stem + ".json", "w") as f:
        json.dump(data, f, indent=1)
    text = markdown(data)
    with open(stem + ".md", "w") as f:
        f.write(text)
    print(text)


def markdown(data: dict[str, Any]) -> str:
    native = {r["loop"]: r["median"] for r in data["rows"]
              if r["host"] == "native"}
    lines = [
        f"# aiohttp under wrk, {data['date']}", "",
        "`bench/aiohttp_bench.py`: an aiohttp \"hello\" server, pinned to "
        f"CPU {data['cpu']}, loaded by `wrk -t1 -c50 --latency` on another "
        f"CPU for {data['seconds']:g} s; medians of {data['rounds']} "
        "interleaved rounds.  In brackets: against the same server natively "
        "on the same loop (requests/s: higher is better; the rest: lower).  "
        f"Host timer: a {TIMER_MS} ms timer chain of the host's own, its "
        "lateness while serving (natively the loop's `call_later`).  Tick: "
        f"how long each guest tick ran (the slice is 1 ms).  {data['elapsed']} s.",
        "",
        "| server | loop | requests/s | p99 ms | host timer late median ms "
        "| host timer late p99 ms | tick median ms | tick p99 ms | tick max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(row: dict[str, float], key: str, fmt: str, ref: Optional[dict[str, float]]) -> str:
        if key not in row:
            return "–"
        text = format(row[key], fmt)
        if ref is not None and key in ref and ref[key] and row is not ref:
            text += f" ({row[key] / ref[key]:.2f}×)"
        return text

    for r in data["rows"]:
        m, ref = r["median"], native.get(r["loop"])
        lines.append("| " + " | ".join([
            r["name"], r["loop"], cell(m, "rps", ",.0f", ref),
            cell(m, "p99_ms", ".2f", ref),
            cell(m, "timer_late_med_ms", ".2f", ref),
            cell(m, "timer_late_p99_ms", ".2f", ref),
            cell(m, "tick_med_ms", ".2f", None),
            cell(m, "tick_p99_ms", ".2f", None),
            cell(m, "tick_max_ms", ".2f", None)]) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
