"""asyncio_guest.pywebview: async js_api methods of pywebview (its GTK
backend, the real WebKitGTK engine under Xvfb) run on the guest loop.

Each scenario runs in a process of its own (tests/pywebview_driver.py):
pywebview keeps process-wide state, and a process that ends by itself within
the timeout also shows that no thread was left hanging at exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

DRIVER = os.path.join(os.path.dirname(__file__), "pywebview_driver.py")


def scenario(name: str, loop: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, DRIVER, name, loop], capture_output=True, text=True,
        timeout=60)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"exit status {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
        f"stderr:\n{proc.stderr[-6000:]}")
    out: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    # every pywebview call thread ended before start() returned
    assert out["threads"] == [], out["threads"]
    return out


LOOPS = ["asyncio", "uvloop"]


@pytest.mark.parametrize("loop", LOOPS)
def test_async_methods_results_errors_and_100_in_flight(display: str,
                                                        loop: str) -> None:
    out = scenario("basic", loop)
    page = out["page"]
    assert page["add"] == 5
    assert page["boom"] == ["ValueError", "bad value from Python"]
    assert page["arity"][0] == "TypeError" and "'b'" in page["arity"][1]
    # on the GUI (main) thread, on the loop asked for
    assert page["where"] == [True, "uvloop" if loop == "uvloop"
                             else "asyncio.unix_events"]
    assert page["plain"] is False  # plain methods: pywebview's threads
    assert page["nested"] == "ABC"
    assert page["exposed"] == "exposed x"  # window.expose(function(...))
    assert page["unserializable"][0] == "TypeError"
    # past the bridge's depth limit, on every Python (json's own differs)
    assert page["deep"][0] == "TypeError", page["deep"]
    assert "returned a value nested more than 256 deep" in page["deep"][1]
    assert page["deep_args"][0] == "TypeError", page["deep_args"]
    assert "arguments are nested more than 256 deep" in page["deep_args"][1]
    assert page["many"] == [i * i for i in range(100)]
    # concurrent on the one loop: many calls in flight at once (pywebview
    # starts a thread per call, so how many depends on the machine's speed:
    # under ASan call 0 could end before call 99 had started)
    order = out["finished_order"]
    assert sorted(order) == list(range(100))
    assert out["most_in_flight"] >= 10, out["most_in_flight"]
    assert out["start"] == "main result"


@pytest.mark.parametrize("loop", LOOPS)
def test_closing_the_window_cancels_calls_and_main(display: str,
                                                   loop: str) -> None:
    out = scenario("close", loop)
    assert out["started"] == ["old"] and out["cancelled"] == ["old"]
    assert out["main cancelled"] is True
    assert out["start"] is None  # closed while main ran: None, like gtk.run
    assert out["start_s"] < 30


@pytest.mark.parametrize("loop", LOOPS)
def test_another_page_cancels_the_old_pages_calls(display: str,
                                                  loop: str) -> None:
    out = scenario("reload", loop)
    assert out["cancelled at second page"] == ["first"]
    assert out["page"] == {"echo": "second page"}
    assert out["start"] is None


@pytest.mark.parametrize("loop", LOOPS)
def test_a_page_the_window_navigated_to_cannot_run_the_api(
        display: str, loop: str) -> None:
    """The app's page calls the api, then follows a link to another
    origin, whose page (pywebview gives it pywebview.api too) calls the
    same method: refused (PermissionError) before it runs."""
    out = scenario("origins", loop)
    assert out["url"].startswith("http://127.0.0.1:"), out
    assert out["ran"] == ["home"], out
    assert out["page"]["name"] == "PermissionError", out
    assert "not trusted" in out["page"]["message"], out


def test_allowed_origins_may_run_the_api(display: str) -> None:
    out = scenario("origins_allowed", "asyncio")
    assert out["ran"] == ["home", "foreign"], out
    assert out["page"] == {"ok": "the secret"}, out


def test_main_raising_closes_the_windows_and_propagates(display: str) -> None:
    out = scenario("main_raises", "asyncio")
    assert out["raised"] == "ValueError: main failed"
    assert out["windows left"] == 0


def test_bad_input_is_refused_clearly(display: str) -> None:
    out = scenario("errors", "asyncio")
    assert out["no window"].startswith("RuntimeError: create a window")
    assert out["api(5)"].startswith("TypeError: api() needs an object")
    assert out["api(None)"].startswith("TypeError: ")
    assert out["function(5)"].startswith("TypeError: function() needs")
    for key in ("call before start", "running_loop before start",
                "running_loop after"):
        assert out[key].startswith("RuntimeError: ") and \
            "not running" in out[key], (key, out[key])
    assert out["gui=qt"].startswith("ValueError: ") and "GTK" in \
        out["gui=qt"]
    assert out["main=5"].startswith("TypeError: ")
    assert out["start inside start"].startswith("RuntimeError: ") and \
        "already running" in out["start inside start"]
    assert out["running_loop"] is True
    assert out["start"] is None


@pytest.mark.parametrize("loop", LOOPS)
def test_the_demo_runs_by_itself(display: str, loop: str) -> None:
    demo = os.path.join(os.path.dirname(__file__), os.pardir, "examples",
                        "pywebview_demo.py")
    argv = [sys.executable, demo, "--auto"] + (
        ["--uvloop"] if loop == "uvloop" else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-4000:]
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown["uname"].startswith("Linux ")
    assert shown["progress"].startswith("countdown: ")
    assert shown["end"] == "countdown done"
