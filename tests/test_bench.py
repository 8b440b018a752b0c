"""The benchmark suite still runs and writes its report (bench/suite.py
--quick on the queue host).  No speed is asserted: benchmarks are not
tests; this only keeps `make bench` from rotting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), os.pardir, "bench")


@pytest.mark.timeout(240)
def test_quick_suite_writes_a_report(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "suite.py"), "--quick",
         "--only", "queue", "--loops", "asyncio,uvloop",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=220)
    assert out.returncode == 0, out.stderr
    (js,) = tmp_path.glob("*-quick.json")
    data = json.loads(js.read_text())
    runs = data["runs"]
    assert [(r["name"], r["mode"], r["loop"]) for r in runs] == [
        ("queue", "thread", "asyncio"), ("queue", "thread", "uvloop")]
    keys = {"iter_us", "wake_med_us", "wake_p99_us", "pp_in_rps",
            "pp_out_rps", "pp_many_rps", "timer_late_med_ms",
            "timer_late_p99_ms", "idle_wakeups_hz", "idle_cpu_pct"}
    for r in runs:
        assert "error" not in r
        assert set(r["native"]) == keys
        # the guest also times host events under its flood
        assert set(r["guest"]) == keys | {
            "flood_host_med_ms", "flood_host_p99_ms", "flood_guest_pct"}
        assert r["guest"]["pp_in_rps"] > 0 and r["native"]["wake_med_us"] > 0
    md = js.with_suffix(".md").read_text()
    assert "## stdlib asyncio" in md and "## uvloop" in md
    assert "| queue [thread] |" in md and "## Targets (issue 5)" in md
    # the unpinned pass: the main figures, the host's default mode
    unpinned = data["unpinned"]
    assert [(r["name"], r["mode"], r["loop"]) for r in unpinned] == [
        ("queue", "thread", "asyncio"), ("queue", "thread", "uvloop")]
    main = {"iter_us", "wake_med_us", "wake_p99_us", "pp_in_rps",
            "pp_out_rps"}
    for r in unpinned:
        assert "error" not in r and set(r["native"]) == main
        assert set(r["guest"]) == main
    assert "# Unpinned: what users see" in md
    assert "## uvloop, unpinned" in md and "## Goals (issue 17)" in md


@pytest.mark.timeout(120)
def test_aiohttp_workload_writes_a_report(tmp_path, display):
    """bench/aiohttp_bench.py, one short round: the server natively and as
    a Tk guest (both loops), loaded by wrk; requests/s, p99, the host
    timer's lateness and the ticks' durations reported."""
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "aiohttp_bench.py"),
         "--rounds", "1", "--seconds", "1", "--only", "tk",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=110)
    assert out.returncode == 0, out.stderr
    (js,) = tmp_path.glob("*-aiohttp.json")
    data = json.loads(js.read_text())
    rows = {(r["host"], r["loop"]): r["median"] for r in data["rows"]}
    assert set(rows) == {("native", "asyncio"), ("native", "uvloop"),
                         ("tk", "asyncio"), ("tk", "uvloop")}
    for (host, _), m in rows.items():
        assert m["rps"] > 0 and m["p99_ms"] > 0 and m["timer_samples"] > 10
        assert ("tick_max_ms" in m) is (host != "native")
    md = js.with_suffix(".md").read_text()
    assert "| Tk | uvloop |" in md


@pytest.mark.timeout(120)
def test_the_qtasyncio_peer_runs(display):
    """PySide6.QtAsyncio's row (a peer without I/O: iteration, timers,
    idle, flood) ends and reports.  Its loop stops by quitting the
    application's exec(): with quit_qapp=False it never returned, and the
    suite's row timed out after 10 minutes."""
    env = dict(os.environ, DISPLAY=display)
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "suite.py"), "--child",
         "PySide6.QtAsyncio", "-", "asyncio", "--port", "1", "--cpu", "-1",
         "--quick"],
        capture_output=True, text=True, timeout=100, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(row["guest"]) >= {"iter_us", "timer_late_med_ms",
                                 "idle_wakeups_hz", "flood_guest_pct"}
    assert row["guest"]["iter_us"] > 0
    assert row["versions"]["PySide6 (QtAsyncio)"]
