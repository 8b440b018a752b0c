"""The benchmark suite: every scenario (bench/workloads.py) run natively and
under each guest configuration, ratios guest/native, peers alongside.

    python bench/suite.py [--quick] [--only tk,qt] [--loops asyncio,uvloop]

Each configuration runs in a child process of its own (Qt bindings cannot
share a process; peers patch things), which first runs the scenarios
natively on the same loop (plain ``asyncio.Runner``; ``trio.run`` for Trio)
and then as a guest, so every ratio compares runs of the same process.
Writes ``bench/results/<date>.md`` (tables, targets, machine, versions),
``<date>.json`` (the raw figures) and ``<date>.png`` (the plot).  Needs a
display for Tk and GTK (``make bench`` uses Xvfb without one); Qt runs on
its offscreen platform.  Benchmarks are not tests: nothing asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workloads  # noqa: E402

Make = Callable[[Optional[workloads.Post]], Any]   # post -> coroutine
Factory = Optional[Callable[[], asyncio.AbstractEventLoop]]


# -- how each configuration runs the scenarios --------------------------------

def run_native(make: Make, factory: Factory) -> dict[str, float]:
    with asyncio.Runner(loop_factory=factory) as runner:
        result: dict[str, float] = runner.run(make(None))
        return result


def run_queue(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    """The generic host: a queue.Queue drained by the main thread."""
    import asyncio_guest

    q: "queue.Queue[Callable[[], object]]" = queue.Queue()
    out: list[Any] = []
    asyncio_guest.start_guest_run(
        make(q.put), run_sync_soon_threadsafe=q.put,
        done_callback=out.append, loop_factory=factory)
    while not out:
        q.get()()
    result: dict[str, float] = out[0].result()
    return result


def run_tk(make: Make, factory: Factory, mode: str) -> dict[str, float]:
    import tkinter

    from asyncio_guest import tk

    root = tkinter.Tk()

    def post(fn: Callable[[], object]) -> None:
        root.after(0, fn)

    result = tk.run(root, make, post, loop_factory=factory, mode=mode)
    assert result is not None
    return result


def qt_runner(binding: str) -> Callable[[Make, Factory, str],
                                        dict[str, float]]:
    def run_qt(make: Make, factory: Factory, mode: str) -> dict[str, float]:
        import importlib

        from asyncio_guest import qt

        core = importlib.import_module(f"{binding}.QtCore")
        widgets = importlib.import_module(f"{binding}.QtWidgets")
        app = widgets.QApplication.instance() or widgets.QApplication([])

        def post(fn: Callable[[], object]) -> None:
            core.QTimer.singleShot(0, fn)

        result = qt.run(make, post, loop_factory=factory, binding=binding,
                        mode=mode, app=app)
        assert result is not None
        return result
    return run_qt


def gtk_runner(version: str) -> Callable[[Make, Factory, str],
                                         dict[str, float]]:
    def run_gtk(make: Make, factory: Factory, mode: str) -> dict[str, float]:
        import gi

        gi.require_version("Gtk", version)
        from gi.repository import GLib

        from asyncio_guest import gtk

        def post(fn: Callable[[], object]) -> None:
            GLib.idle_add(fn)

        result = gtk.run(make, post, loop_factory=factory, mode=mode)
        assert result is not None
        return result
    return run_gtk


@dataclass
class Config:
    name: str                  # the row's label
    host: str                  # the host it stands for (peers compare)
    guest: Callable[[Make, Factory, str], dict[str, float]]
    modes: tuple[str, ...] = ("thread", "threadless")
    loops: tuple[str, ...] = ("asyncio", "uvloop")
    native: Callable[[Make, Factory], dict[str, float]] = run_native
    scenarios: Callable[..., Any] = workloads.scenarios
    peer: bool = False
    versions: Callable[[], dict[str, str]] = field(default=lambda: {})


def _qt_versions(binding: str) -> Callable[[], dict[str, str]]:
    def versions() -> dict[str, str]:
        import importlib

        core = importlib.import_module(f"{binding}.QtCore")
        v = getattr(core, "__version__", None) or getattr(
            core, "PYQT_VERSION_STR", "?")
        return {binding: str(v), "Qt": core.qVersion()}
    return versions


def _tk_versions() -> dict[str, str]:
    import tkinter

    return {"Tk": str(tkinter.TkVersion)}


def _gtk_versions(version: str) -> Callable[[], dict[str, str]]:
    def versions() -> dict[str, str]:
        import gi

        gi.require_version("Gtk", version)
        from gi.repository import GLib, Gtk

        return {"PyGObject": gi.__version__,
                f"GTK {version[0]}": "%d.%d.%d" % (
                    Gtk.get_major_version(), Gtk.get_minor_version(),
                    Gtk.get_micro_version()),
                "GLib": "%d.%d.%d" % (GLib.MAJOR_VERSION, GLib.MINOR_VERSION,
                                      GLib.MICRO_VERSION)}
    return versions


OURS = [
    Config("queue", "queue", run_queue, modes=("thread",)),
    Config("Tk", "tk", run_tk, versions=_tk_versions),
    Config("Qt (PySide6)", "qt", qt_runner("PySide6"),
           versions=_qt_versions("PySide6")),
    Config("GTK 3", "gtk", gtk_runner("3.0"), versions=_gtk_versions("3.0")),
]
# --extra: the other bindings / toolkit versions
EXTRA = [
    Config("Qt (PyQt6)", "qt", qt_runner("PyQt6"),
           versions=_qt_versions("PyQt6")),
    Config("Qt (PyQt5)", "qt", qt_runner("PyQt5"),
           versions=_qt_versions("PyQt5")),
    Config("GTK 4", "gtk", gtk_runner("4.0"), versions=_gtk_versions("4.0")),
]


def all_configs() -> list[Config]:
    try:
        import peers
    except ImportError:  # the peers' packages: requirements-bench.txt
        return OURS + EXTRA
    return OURS + EXTRA + peers.PEERS(Config)


def find(name: str) -> Config:
    for c in all_configs():
        if c.name == name:
            return c
    raise SystemExit(f"unknown configuration {name!r}")


# -- child: one configuration, one loop, one mode -----------------------------

def loop_factory(name: str) -> Factory:
    if name == "asyncio":
        return asyncio.new_event_loop
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None  # trio: its own


ROUNDS = 3


def pin(cpu: int) -> None:
    """Pin this thread (and the threads it starts later) to one CPU."""
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


#: The main figures, which the unpinned pass measures.
MAIN = {"iter", "wake", "pp_in", "pp_out"}


def child(name: str, mode: str, loop: str, port: int, quick: bool,
          cpu: int, main_only: bool = False) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pin(cpu)
    config = find(name)
    sizes = dict(workloads.SIZES)
    if quick:
        sizes.update(wake_samples=200, pp_count=500, pp_out_count=500,
                     many_conns=20, many_rounds=20, timer_count=50,
                     idle_seconds=0.5, flood_samples=50, iter_seconds=0.1)
    factory = loop_factory(loop)

    def make(only: set[str], sizes: dict[str, Any]) -> Make:
        return lambda post: config.scenarios(post, port, sizes, only)

    # The short scenarios run in ROUNDS rounds, native and guest taking
    # turns, and each figure is the median over the rounds: this VM's
    # wake-up cost drifts (the haltpoll cpuidle governor's poll window
    # grows and shrinks with the recent load), and taking turns exposes
    # both sides to the same drift.  A warm-up first: a process's first
    # connections and iterations run slower.
    short = MAIN if main_only else {"iter", "wake", "pp_in", "pp_out",
                                     "pp_many"}
    warm = dict(sizes, wake_samples=100, pp_count=500, pp_out_count=500,
                many_conns=10, many_rounds=20, iter_seconds=0.05)
    config.native(make(short, warm), factory)
    natives: list[dict[str, float]] = []
    guests: list[dict[str, float]] = []
    for _ in range(1 if quick else ROUNDS):
        natives.append(config.native(make(short, sizes), factory))
        guests.append(config.guest(make(short, sizes), factory, mode))
    native, guest = medians(natives), medians(guests)
    if not main_only:
        rest = {"timer", "idle", "flood"}
        native |= config.native(make(rest, sizes), factory)
        guest |= config.guest(make(rest, sizes), factory, mode)
    versions = config.versions()
    if loop == "uvloop":
        import uvloop

        versions["uvloop"] = uvloop.__version__
    print(json.dumps({"native": native, "guest": guest,
                      "versions": versions}))


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


# -- parent -------------------------------------------------------------------

def start_echo_server(cpu: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "echo_server.py"), str(cpu)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def machine_line() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"{platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes: checks the suite runs, not speed")
    ap.add_argument("--only", default="",
                    help="comma-separated row labels (default: ours + peers)")
    ap.add_argument("--extra", action="store_true",
                    help="also PyQt6, PyQt5 and GTK 4")
    ap.add_argument("--loops", default="asyncio,uvloop")
    ap.add_argument(
        "--cpu", type=int, default=(os.cpu_count() or 1) - 1,
        help="pin each configuration's process and the echo server to this "
        "CPU (-1: no pinning); default the last one")
    ap.add_argument(
        "--unpinned", choices=("yes", "no", "only"), default="yes",
        help="after the pinned pass, the main figures (iteration, wake, "
        "ping-pong a and b) again without pinning, as users run: each host "
        "in its default mode, and the peers (default: yes)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--child", nargs=3, metavar=("NAME", "MODE", "LOOP"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--main-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, port=args.port, quick=args.quick, cpu=args.cpu,
              main_only=args.main_only)
        return

    loops = [x for x in args.loops.split(",") if x]
    configs = [c for c in all_configs()
               if (c in OURS or c.peer or args.extra)
               and (not args.only or c.name in args.only.split(","))]
    import report

    defaults = report.default_modes()
    t_start = time.monotonic()
    runs: list[dict[str, Any]] = []
    unpinned: list[dict[str, Any]] = []
    passes = [(runs, args.cpu, False)] if args.unpinned != "only" else []
    if args.unpinned != "no":
        passes.append((unpinned, -1, True))
    for out, cpu, main_only in passes:
        echo, port = start_echo_server(cpu)
        try:
            for config in configs:
                for loop in config.loops:
                    if loop not in loops and loop != "trio":
                        continue
                    for mode in config.modes:
                        if main_only and mode not in (
                                "-", defaults.get(config.host, mode)):
                            continue
                        out.append(run_child(config, mode, loop, port,
                                             args.quick, cpu, main_only))
        finally:
            assert echo.stdin is not None
            echo.stdin.close()
            echo.wait()
    elapsed = time.monotonic() - t_start

    date = datetime.date.today().isoformat()
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, date + ("-quick" if args.quick else ""))
    data = {"date": date, "machine": machine_line(), "quick": args.quick,
            "cpu": args.cpu,
            "seconds": round(elapsed), "runs": runs, "unpinned": unpinned}
    with open(stem + ".json", "w") as f:
        json.dump(data, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(report.markdown(data))
    report.plot(data, stem + ".png")
    print(report.markdown(data))
    print(f"wrote {stem}.md, .json, .png in {elapsed:.0f} s")


def run_child(config: Config, mode: str, loop: str, port: int,
              quick: bool, cpu: int, main_only: bool = False
              ) -> dict[str, Any]:
    label = f"{config.name} [{mode}] on {loop}" + (
        " (unpinned)" if cpu < 0 else "")
    print(f"-- {label}", file=sys.stderr, flush=True)
    cmd = [sys.executable, __file__, "--child", config.name, mode, loop,
           "--port", str(port), "--cpu", str(cpu)] + (
               ["--quick"] if quick else []) + (
               ["--main-only"] if main_only else [])
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"name": config.name, "host": config.host, "mode": mode,
                "loop": loop, "peer": config.peer, "error": "timed out"}
    row: dict[str, Any] = {"name": config.name, "host": config.host,
                           "mode": mode, "loop": loop, "peer": config.peer,
                           "seconds": round(time.monotonic() - t0, 1)}
    try:
        row.update(json.loads(out.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        row["error"] = f"exit {out.returncode}: {tail}"
        print(f"   failed: {tail}", file=sys.stderr)
    return row


if __name__ == "__main__":
    main()
