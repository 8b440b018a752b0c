"""The fuzz targets (fuzz/) on their seeds and on every crash the fuzzer
ever found (fuzz/crashes/<target>/: a crash, once fixed, stays there as a
regression input), plus a few inputs written by hand, in the ordinary test
run.  The bounded fuzzing itself is ``make fuzz`` (part of ``make test``)."""

from __future__ import annotations

import importlib.util
import os

import pytest

FUZZ = os.path.join(os.path.dirname(__file__), "..", "fuzz")
TARGETS = ("rpc", "app_path")


def _target(name: str):
    spec = importlib.util.spec_from_file_location(
        f"fuzz_{name}", os.path.join(FUZZ, f"fuzz_{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.one


def _inputs(name: str) -> list[str]:
    found = []
    for folder in ("seeds", "crashes"):
        d = os.path.join(FUZZ, folder, name)
        found += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return found


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_and_saved_crashes_pass(name):
    one = _target(name)
    inputs = _inputs(name)
    assert len(inputs) >= 4, inputs  # the seeds are there
    for path in inputs:
        with open(path, "rb") as f:
            one(f.read())


HAND = {
    "rpc": [b"", b"\x00", b"\x01", b"\x00{", b"\x01\"id\":1}",
            b"\x00" + b"[" * 100000, b"\x01" + b'"id":1,"name":"x","args":'
            + b"[" * 5000 + b"]" * 5000 + b"}",
            b"\x00{\"hello\":\"" + b"a" * 32 + b"\"}",
            "\x00{\"token\":\"\ud800\"}".encode("utf-8", "surrogatepass")],
    "app_path": [b"", b"\x00/", b"\x01" + bytes(range(12)),
                 b"\x00/" + b"../" * 50 + b"etc/passwd",
                 b"\x00/%2e%2e%2f%2e%2e%2fsecret.txt", b"\x00/\xff\xfe"],
}


@pytest.mark.parametrize("name", TARGETS)
def test_hand_written_inputs_pass(name):
    one = _target(name)
    for data in HAND[name]:
        one(data)
