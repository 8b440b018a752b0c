"""Turns bench/suite.py's figures into the markdown report and the plot.

    python bench/report.py bench/results/<date>.json   # rewrite .md and .png
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any, Optional

# key, column label, which way is better, shown as a ratio to native?
METRICS: list[tuple[str, str, str, bool]] = [
    ("iter_us", "iteration µs", "low", True),
    ("wake_med_us", "wake median µs", "low", True),
    ("wake_p99_us", "wake p99 µs", "low", True),
    ("pp_in_rps", "ping-pong (a) in-loop rt/s", "high", True),
    ("pp_out_rps", "ping-pong (b) outside server rt/s", "high", True),
    ("pp_many_rps", "ping-pong (c) 100 conns rt/s", "high", True),
    ("timer_late_med_ms", "timer late median ms", "low", False),
    ("timer_late_p99_ms", "timer late p99 ms", "low", False),
    ("idle_wakeups_hz", "idle wake-ups/s", "low", False),
    ("idle_cpu_pct", "idle CPU %", "low", False),
    ("flood_host_med_ms", "host event under flood median ms", "low", False),
    ("flood_host_p99_ms", "host event under flood p99 ms", "low", False),
    ("flood_guest_pct", "guest progress meanwhile %", "high", False),
]
# Differences smaller than this (or than 5 %) are ties in the peer
# comparison: below what these measurements can tell apart.
NOISE = {"idle_cpu_pct": 0.05, "idle_wakeups_hz": 0.5,
         "timer_late_med_ms": 0.02, "timer_late_p99_ms": 0.05,
         "flood_host_med_ms": 0.005, "flood_host_p99_ms": 0.01}
LOOP_TITLES = {"asyncio": "stdlib asyncio", "uvloop": "uvloop",
               "trio": "Trio (its own loop; native = trio.run)"}


def default_modes() -> dict[str, str]:
    """Each host's default mode (the one users get)."""
    try:
        from asyncio_guest import gtk, qt, tk
    except ImportError:
        return {}
    return {"tk": tk.DEFAULT_MODE, "qt": qt.DEFAULT_MODE,
            "gtk": gtk.DEFAULT_MODE, "queue": "thread"}


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def value(run: dict[str, Any], key: str) -> Optional[float]:
    v = run.get("guest", {}).get(key)
    if v is None:
        return None
    return max(0.0, v) if key == "idle_cpu_pct" else v


def ratio(run: dict[str, Any], key: str) -> Optional[float]:
    g, n = run.get("guest", {}).get(key), run.get("native", {}).get(key)
    if g is None or not n:
        return None
    return g / n


def cell(run: dict[str, Any], key: str, as_ratio: bool) -> str:
    v = value(run, key)
    if v is None:
        return "–"
    r = ratio(run, key) if as_ratio else None
    return fmt(v) + (f" ({r:.2f}×)" if r is not None else "")


def native_row(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for key, _, _, _ in METRICS:
        vs = [r["native"][key] for r in runs
              if key in r.get("native", {})]
        if key == "idle_cpu_pct":
            vs = [max(0.0, v) for v in vs]
        out.append(fmt(statistics.median(vs)) if vs else "–")
    return out


def label(run: dict[str, Any]) -> str:
    mode = "" if run["mode"] == "-" else f" [{run['mode']}]"
    peer = " (peer)" if run["peer"] else ""
    return f"{run['name']}{mode}{peer}"


def markdown(data: dict[str, Any]) -> str:
    runs = data["runs"]
    lines = [f"# Benchmarks, {data['date']}"
             + (" (--quick: sizes cut down, not for comparison)"
                if data.get("quick") else ""), ""]
    lines += [f"Machine: {data['machine']}.  ",
              f"Versions: {versions(runs)}.  ",
              f"`make bench` (bench/suite.py), {data['seconds']} s."
              + (f"  \nNote: {data['note']}." if data.get("note") else ""),
              ""]
    lines += [
        "Every row ran in a process of its own: the scenarios first natively "
        "on the same loop (`asyncio.Runner`; `trio.run` for Trio), then as a "
        "guest.  In brackets: guest / native of that process — above 1 is "
        "faster for rates (rt/s), slower for times (µs).  The *native* row "
        "is the median of those native runs.  Qt runs on its offscreen "
        "platform, Tk and GTK on Xvfb.  "
        + (f"Each process pinned to CPU {data['cpu']} (docs/design.md, "
           "Benchmarks).  " if data.get("cpu", -1) >= 0 else "")
        + "Scenarios: bench/workloads.py; "
        "`[mode]`: thread = backend thread + host wake-up, threadless = the "
        "host watches the loop's fd and deadline.", ""]
    lines += tables(runs, "")
    lines += targets(runs) + peers(runs)
    unpinned = data.get("unpinned") or []
    if unpinned:
        lines += [
            "# Unpinned: what users see", "",
            "The main figures again, each process left to the scheduler as "
            "a user's program is (the pinned figures above keep one CPU, so "
            "a thread hop there is a same-CPU switch; here it is often a "
            "wake-up of the other CPU, ~45 µs on this VM: docs/design.md, "
            "Benchmarks).  Each host in its default mode, and the peers.", ""]
        lines += tables(unpinned, ", unpinned")
        lines += peers(unpinned, ", unpinned")
    lines += goals(runs, unpinned)
    return "\n".join(lines) + "\n"


def tables(runs: list[dict[str, Any]], suffix: str) -> list[str]:
    lines: list[str] = []
    for loop, title in LOOP_TITLES.items():
        rows = [r for r in runs if r["loop"] == loop]
        if not rows:
            continue
        lines += [f"## {title}{suffix}", ""]
        lines.append("| configuration | " + " | ".join(
            m[1] for m in METRICS) + " |")
        lines.append("|---" * (len(METRICS) + 1) + "|")
        good = [r for r in rows if "error" not in r]
        if good and loop != "trio":
            lines.append("| **native** | " + " | ".join(native_row(good))
                         + " |")
        for r in rows:
            if "error" in r:
                lines.append(f"| {label(r)} | failed: {r['error']} |"
                             + " |" * (len(METRICS) - 1))
                continue
            if loop == "trio":
                lines.append(f"| {r['name']}, native | " + " | ".join(
                    native_row([r])) + " |")
            lines.append(f"| {label(r)} | " + " | ".join(
                cell(r, k, rt) for k, _, _, rt in METRICS) + " |")
        lines.append("")
    return lines


def versions(runs: list[dict[str, Any]]) -> str:
    merged: dict[str, str] = {}
    for r in runs:
        merged.update(r.get("versions", {}))
    try:
        import asyncio_guest

        merged["asyncio-guest"] = asyncio_guest.__version__
    except ImportError:
        pass
    return ", ".join(f"{k} {v}" for k, v in sorted(merged.items()))


# (key, test on the guest figure or ratio, text) for each mode
TARGETS: list[tuple[str, str, dict[str, float], str]] = [
    ("pp_in_rps", "ratio≥", {"thread": 0.90, "threadless": 0.90},
     "ping-pong (a)"),
    ("pp_many_rps", "ratio≥", {"thread": 0.90, "threadless": 0.90},
     "ping-pong (c)"),
    ("pp_out_rps", "ratio≥", {"thread": 0.55, "threadless": 0.90},
     "ping-pong (b)"),
    ("wake_med_us", "ratio≤", {"thread": 2.0, "threadless": 1.1},
     "wake median"),
    ("idle_wakeups_hz", "value≤", {"thread": 0.0, "threadless": 0.0},
     "idle wake-ups/s"),
    ("flood_host_p99_ms", "value≤", {"thread": 2.0, "threadless": 2.0},
     "host event p99 ms"),
]


def check(run: dict[str, Any], key: str, test: str,
          limit: float) -> Optional[tuple[float, bool]]:
    v = ratio(run, key) if test.startswith("ratio") else value(run, key)
    if v is None:
        return None
    ok = v >= limit if test.endswith("≥") else v <= limit
    return v, ok


def targets(runs: list[dict[str, Any]]) -> list[str]:
    ours = [r for r in runs if not r["peer"] and "error" not in r]
    if not ours:
        return []
    lines = ["## Targets (issue 5)", "",
             "Ratios are guest / native.  ✓ met, ✗ missed.", "",
             "| configuration | loop | " + " | ".join(
                 f"{t[3]} {t[1][-1]} {t[2]['thread']:g} (thread) / "
                 f"{t[2]['threadless']:g} (threadless)"
                 if t[2]["thread"] != t[2]["threadless"] else
                 f"{t[3]} {t[1][-1]} {t[2]['thread']:g}"
                 for t in TARGETS) + " |",
             "|---|---" + "|---" * len(TARGETS) + "|"]
    met = total = 0
    for r in ours:
        cells = []
        for key, test, limits, _ in TARGETS:
            c = check(r, key, test, limits[r["mode"]])
            if c is None:
                cells.append("–")
                continue
            total += 1
            met += c[1]
            cells.append(f"{fmt(c[0])} {'✓' if c[1] else '✗'}")
        lines.append(f"| {label(r)} | {r['loop']} | " + " | ".join(cells)
                     + " |")
    lines += ["", f"{met} of {total} met.", ""]
    return lines


def peers(runs: list[dict[str, Any]], suffix: str = "") -> list[str]:
    """Each peer against our default mode for the same host and loop, on
    the figures both have (ratios where the metric has one, so each side is
    measured against its own process's native run)."""
    defaults = default_modes()
    lines = [f"## Against the peers{suffix}", "",
             "Each peer against asyncio-guest on the same host and loop, in "
             "that host's default mode (Tk: "
             f"{defaults.get('tk', '?')}, Qt: {defaults.get('qt', '?')}, "
             f"GTK: {defaults.get('gtk', '?')}); Trio guest mode against "
             "our Tk row on the stdlib loop.  Compared: guest / native "
             "ratios where there is one, else the figure; differences "
             "within 5 % (or within noise: 0.05 % CPU, 0.02-0.05 ms of "
             "timer lateness, 0.01 ms of host latency) are left out.", "",
             "| peer | loop | against | we are better on | the peer is "
             "better on |", "|---|---|---|---|---|"]
    any_peer = False
    for p in runs:
        if not p["peer"] or "error" in p:
            continue
        loop = "asyncio" if p["loop"] == "trio" else p["loop"]
        ours = [r for r in runs if not r["peer"] and "error" not in r
                and r["host"] == p["host"] and r["loop"] == loop
                and r["mode"] == defaults.get(r["host"], r["mode"])]
        if not ours:
            continue
        o = ours[0]
        any_peer = True
        win, lose = [], []
        for key, name, better, as_ratio in METRICS:
            a = ratio(o, key) if as_ratio else value(o, key)
            b = ratio(p, key) if as_ratio else value(p, key)
            if a is None or b is None:
                continue
            if key.startswith("timer_"):
                a, b = abs(a), abs(b)  # early is no better than late
            if abs(a - b) <= max(0.05 * max(abs(a), abs(b)),
                                 NOISE.get(key, 0.0)):
                continue  # within noise: neither is better
            ours_better = a < b if better == "low" else a > b
            text = f"{name} {fmt(a)} vs {fmt(b)}"
            (win if ours_better else lose).append(text)
        lines.append(f"| {p['name']} | {p['loop']} | {label(o)} on {loop} | "
                     f"{'; '.join(win) or '–'} | {'; '.join(lose) or '–'} |")
    return lines + [""] if any_peer else []


# Issue 17's goals: (text, which runs, key, test, limit); "default" runs
# are each host in its default mode.
GOALS: list[tuple[str, str, str, str, str, float]] = [
    ("pinned", "uvloop wake median, thread mode", "uvloop thread",
     "wake_med_us", "ratio≤", 2.0),
    ("pinned", "uvloop wake median, threadless", "uvloop threadless",
     "wake_med_us", "ratio≤", 1.5),
    ("pinned", "uvloop in-loop ping-pong", "uvloop", "pp_in_rps", "ratio≥",
     0.95),
    ("pinned", "Qt wake median, stdlib loop", "asyncio qt", "wake_med_us",
     "ratio≤", 1.5),
    ("unpinned", "wake median, stdlib loop, default mode", "asyncio default",
     "wake_med_us", "ratio≤", 2.0),
    ("unpinned", "wake median, uvloop, default mode", "uvloop default",
     "wake_med_us", "ratio≤", 2.5),
    ("unpinned", "in-loop ping-pong, default mode", "default", "pp_in_rps",
     "ratio≥", 0.95),
]


def _selected(run: dict[str, Any], which: str) -> bool:
    defaults = default_modes()
    for word in which.split():
        if word in ("asyncio", "uvloop") and run["loop"] != word:
            return False
        if word in ("thread", "threadless") and run["mode"] != word:
            return False
        if word in ("qt", "tk", "gtk", "queue") and run["host"] != word:
            return False
        if word == "default" and run["mode"] != defaults.get(run["host"]):
            return False
    return True


def goals(runs: list[dict[str, Any]], unpinned: list[dict[str, Any]]
          ) -> list[str]:
    """Issue 17's goals, each checked on every configuration it covers."""
    lines = ["## Goals (issue 17)", "",
             "Ratios are guest / native of the same process.  ✓ met, "
             "✗ missed.", "", "| pass | goal | configurations |",
             "|---|---|---|"]
    met = total = 0
    for when, text, which, key, test, limit in GOALS:
        pool = runs if when == "pinned" else unpinned
        cells = []
        for r in pool:
            if r["peer"] or "error" in r or not _selected(r, which):
                continue
            c = check(r, key, test, limit)
            if c is None:
                continue
            total += 1
            met += c[1]
            cells.append(f"{label(r)} {r['loop']} {fmt(c[0])} "
                         f"{'✓' if c[1] else '✗'}")
        if cells:
            lines.append(f"| {when} | {text} {test[-1]} {limit:g} | "
                         + "; ".join(cells) + " |")
    if not total:
        return []
    return lines + ["", f"{met} of {total} met.", ""]


def plot(data: dict[str, Any], path: str) -> None:
    """One panel per headline figure; a bar per configuration, coloured by
    loop; ratios against native have a line at 1."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import to_rgba
    except ImportError:
        print("matplotlib missing (requirements-bench.txt): no plot",
              file=sys.stderr)
        return
    runs = [r for r in data["runs"] if "error" not in r]
    panels = [("wake_med_us", True, "wake latency median, guest/native"),
              ("wake_p99_us", True, "wake latency p99, guest/native"),
              ("pp_in_rps", True, "ping-pong (a) in-loop, guest/native"),
              ("pp_out_rps", True, "ping-pong (b) outside, guest/native"),
              ("pp_many_rps", True, "ping-pong (c) 100 conns, guest/native"),
              ("iter_us", True, "empty iteration cost, guest/native"),
              ("timer_late_p99_ms", False, "timer lateness p99, ms"),
              ("flood_host_p99_ms", False,
               "host event under guest flood p99, ms")]
    labels = [f"{label(r)} · {r['loop']}" for r in runs]
    colours = {"asyncio": "tab:blue", "uvloop": "tab:orange",
               "trio": "tab:green"}
    fig, axes = plt.subplots(2, 4, figsize=(22, 3 + 0.28 * len(runs)),
                             sharey=True)
    for ax, (key, as_ratio, title) in zip(axes.flat, panels):
        vals = [(ratio(r, key) if as_ratio else value(r, key)) or 0.0
                for r in runs]
        ax.barh(range(len(runs)), vals, color=[
            to_rgba(colours.get(r["loop"], "grey"), 0.45 if r["peer"] else 1)
            for r in runs])
        if as_ratio:
            ax.axvline(1.0, color="black", linewidth=0.8)
        if key == "flood_host_p99_ms":
            ax.axvline(2.0, color="red", linewidth=0.8, linestyle="--")
            ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(runs)), labels, fontsize=8)
    axes[1][0].set_yticks(range(len(runs)), labels, fontsize=8)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"asyncio-guest benchmarks {data['date']} — "
                 f"{data['machine']} (pale bars: peers)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    path = sys.argv[1]
    with open(path) as f:
        data = json.load(f)
    stem = path[:-len(".json")]
    with open(stem + ".md", "w") as f:
        f.write(markdown(data))
    plot(data, stem + ".png")


if __name__ == "__main__":
    main()
