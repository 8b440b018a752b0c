"""asyncio_guest.webview_python: webview_python (PyPI webview-python,
its webview 0.12 library from webviewpy, WebKitGTK 4.0) pages awaiting
async Python on the GTK host, under Xvfb.

Each scenario runs in a process of its own (tests/webview_python_driver.py):
webview_python's top-level ``webview`` package lives apart from pywebview's
(``make`` installs it into .venv/webview-python), and WebKitGTK 4.0 and
4.1 (the other webview tests) abort in one process.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "webview_python_driver.py")
PACKAGE = os.environ.get("ASYNCIO_GUEST_WEBVIEW_PYTHON", os.path.join(
    HERE, "..", ".venv", "webview-python"))
LOOPS = ["asyncio", "uvloop"]
WEBKIT40 = "libwebkit2gtk-4.0.so.37"
WEBKIT40_PACKAGE = "libwebkit2gtk-4.0-37"


def _load_error() -> str | None:
    """Why WebKitGTK 4.0 does not load here, or None when it does."""
    try:
        ctypes.CDLL(WEBKIT40)
    except OSError as exc:
        return str(exc)
    return None


def _unavailable() -> str | None:
    """Why WebKitGTK 4.0 cannot be had here, or None when it can.

    Its absence is a skip only where the system has no package for it
    (Debian 13 dropped the 4.0 API); where it has one, `make system-deps`
    installs it, and its absence is a failure (scenario())."""
    if LOAD_ERROR is None:
        return None
    if shutil.which("apt-cache") is None:
        return f"{WEBKIT40} is not installed (not a Debian system)"
    policy = subprocess.run(["apt-cache", "policy", WEBKIT40_PACKAGE],
                            capture_output=True, text=True).stdout
    if "Candidate: " in policy and "Candidate: (none)" not in policy:
        return None  # packaged: missing is the failure scenario() reports
    return (f"WebKitGTK 4.0 ({WEBKIT40_PACKAGE}) is not packaged by this "
            "system, and webview_python's library links it")


LOAD_ERROR = _load_error()
_MISSING = _unavailable()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))


def scenario(name: str, loop: str, display: str) -> dict[str, Any]:
    # Installed by make (.venv/webview-python): missing is a failure.
    assert os.path.isdir(os.path.join(PACKAGE, "webview")), (
        f"webview_python is not installed in {PACKAGE} (run make compile)")
    if LOAD_ERROR is not None:
        pytest.fail(f"{LOAD_ERROR}: this system packages {WEBKIT40_PACKAGE} "
                    "(run make system-deps)")
    env = dict(os.environ, DISPLAY=display, PYTHONFAULTHANDLER="1",
               ASYNCIO_GUEST_WEBVIEW_PYTHON=PACKAGE)
    proc = subprocess.run([sys.executable, DRIVER, name, loop],
                          capture_output=True, text=True, timeout=90, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"exit status {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
        f"stderr:\n{proc.stderr[-6000:]}")
    for bad in ("CRITICAL", "Traceback", "Fatal"):
        assert bad not in proc.stderr, proc.stderr[-4000:]
    out: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return out


@pytest.mark.parametrize("loop", LOOPS)
def test_pages_await_async_python(display: str, loop: str) -> None:
    out = scenario("basic", loop, display)
    page = out["page"]
    assert out["loop"] == ("uvloop" if loop == "uvloop"
                           else "asyncio.unix_events")
    assert page["add"] == 5
    assert page["boom"] == ["ValueError", "bad value from Python", True,
                            "builtins.ValueError"]
    assert page["arity"][0] == "TypeError" and "'b'" in page["arity"][1]
    assert page["unjson"][0] == "TypeError"  # rejected, not left pending
    # past the bridge's depth limit, on every Python (json's own differs)
    assert page["deep"][0] == "TypeError", page["deep"]
    assert "returned a value nested more than 256 deep" in page["deep"][1]
    assert page["deep_args"][0] == "TypeError", page["deep_args"]
    assert "arguments are nested more than 256 deep" in page["deep_args"][1]
    assert page["cancelled"][0] == "CancelledError"  # rejected too
    assert page["missing"] == "undefined"
    assert page["many"] == [i * i for i in range(100)]
    order = out["finished_order"]
    assert sorted(order) == list(range(100))
    assert order.index(99) < order.index(0)  # concurrent on the one loop
    assert page["round_trip_ms"] > 0
    assert out["refusals"] == []


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("how", ["top", "iframe"])
def test_a_foreign_page_or_frame_runs_nothing(display: str, loop: str,
                                              how: str) -> None:
    """The app's page calls secret(); then a foreign page (the window
    navigated to it) or a foreign iframe in the app's page posts forged
    calls (made-up tokens) and calls secret(): nothing runs, refused and
    logged once."""
    out = scenario(f"origins-{how}", loop, display)
    assert out["home"] == {"home": "the secret"}
    assert out["hits"], "the foreign page was never loaded"
    assert out["ran"] == [], f"a foreign page ran Python: {out['ran']}"
    assert len(out["refusals"]) == 1, out["refusals"]
    if how == "top":
        assert out["uri"].endswith("/top")
        assert "not a trusted origin" in out["refusals"][0]
    else:
        assert "token" in out["refusals"][0]


@pytest.mark.parametrize("loop", LOOPS)
def test_closing_the_window_cancels_calls_and_main(display: str,
                                                   loop: str) -> None:
    out = scenario("close", loop, display)
    assert out["events"] == ["started", "call cancelled", "main cancelled"]
    assert out["result"] is None
    assert out["seconds"] < 30


def test_the_demo_runs_by_itself(display: str) -> None:
    demo = os.path.join(HERE, "..", "examples", "webview_python_demo.py")
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=PACKAGE)
    proc = subprocess.run([sys.executable, demo, "--auto"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "alpha after" in proc.stdout and "gamma after" in proc.stdout
