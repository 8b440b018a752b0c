"""The contract on the hosts one process cannot hold together: each other
Qt binding, and GTK 4 (this process has PySide6 and GTK 3), each run in a
child pytest restricted to that host's cases."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
CHILD = os.environ.get("ASYNCIO_GUEST_CONTRACT_CHILD") == "1"

VARIANTS = [
    ("qt-PyQt6", "qt-", {"ASYNCIO_GUEST_QT": "PyQt6"}),
    ("qt-PyQt5", "qt-", {"ASYNCIO_GUEST_QT": "PyQt5"}),
    ("gtk-4", "gtk-", {"ASYNCIO_GUEST_GTK_VERSION": "4.0"}),
]


@pytest.mark.skipif(CHILD, reason="a child runs no children")
@pytest.mark.parametrize("name, select, env", VARIANTS,
                         ids=[v[0] for v in VARIANTS])
def test_contract_in_child(name: str, select: str, env: dict[str, str]) -> None:
    binding = env.get("ASYNCIO_GUEST_QT")
    if binding is not None:
        # Installed by requirements-dev.txt: missing is a failure.
        assert importlib.util.find_spec(binding) is not None, binding
    child_env = dict(os.environ, ASYNCIO_GUEST_CONTRACT_CHILD="1", **env)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         os.path.join(HERE, "test_contract.py"),
         os.path.join(HERE, "test_contract_processes.py"), "-k", select],
        env=child_env, capture_output=True, text=True, timeout=900)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, f"{name}: contract failed:\n{tail}"
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, tail
