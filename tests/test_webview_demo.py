"""examples/webview_demo.py drives itself (--auto) in the real engine under
Xvfb, on both loops: every button's coroutine answers the page."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

DEMO = os.path.join(os.path.dirname(__file__), os.pardir, "examples",
                    "webview_demo.py")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_webview_demo_runs_by_itself(display: str, loop: str) -> None:
    argv = [sys.executable, DEMO, "--auto"] + (
        ["--uvloop"] if loop == "uvloop" else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-4000:]
    shown = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(": ")
        shown[key] = json.loads(value)
    assert "the page" in shown["fetch"], shown  # the local asyncio server
    assert shown["proc"]["exit"] == 0 and \
        shown["proc"]["stdout"].startswith("Linux"), shown
    assert shown["stream"] == "streamed"
    assert shown["many"]["calls"] == 100
    assert shown["fail"] == {"rejected": "ZeroDivisionError: division by zero"}
    assert shown["animation"]["frames"] > 0  # it ran (its gaps: the demo)
