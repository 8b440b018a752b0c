"""Stress scenarios (bench/stress.py) as guests of a real Tk root, on both
loops: 10,000 concurrent tasks, 1,000 socket pairs with traffic,
1,000,000 call_soon_threadsafe from 4 threads (none lost, duplicated or
reordered per thread), 100,000 random timers half cancelled (exactly the
others fire, none early).  Correctness only: the host's event lateness is
reported by `make stress`, not asserted."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir,
                                "bench"))
import stress  # noqa: E402

pytestmark = pytest.mark.timeout(180, method="thread")


@pytest.mark.parametrize("scenario", stress.SCENARIOS)
def test_stress(tk_root: Any, loop_factory: Any, scenario: str) -> None:
    result = stress.run_on_tk(scenario, loop_factory, tk_root)
    assert result["ok"], result
    assert result["probes"] > 0  # the host's own events kept running
    if scenario == "tasks":
        assert result["count"] == stress.N_TASKS
    elif scenario == "sockets":
        assert result["lines"] == 2 * stress.N_SOCKETS * stress.LINES
    elif scenario == "threadsafe":
        assert result["calls"] == stress.N_THREADSAFE
    else:
        assert 0.45 * stress.N_TIMERS < result["cancelled"] < \
            0.55 * stress.N_TIMERS
        assert result["fired"] == stress.N_TIMERS - result["cancelled"]
        assert result["early"] == 0
