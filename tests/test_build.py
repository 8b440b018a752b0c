"""setup.py finds Tcl without ever hanging, and builds without it when it
must (the build itself, without Tcl and GLib, is tested by make
test-degraded, which runs the Tk and GTK suites against it)."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_setup() -> Any:
    spec = importlib.util.spec_from_file_location("ag_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def setup_py(monkeypatch: pytest.MonkeyPatch) -> Any:
    for var in ("AG_NO_TCL", "AG_REQUIRE_TCL", "TCL_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    module = load_setup()
    module.TCL_CONFIG_TIMEOUT = 1
    return module


def debian_wrapper(tmp_path: Path) -> str:
    """Debian's /usr/lib/tcl8.6/tclConfig.sh on a machine without
    dpkg-architecture: it sources itself (forever, at 100 % CPU, where it
    was seen; dash here runs out of stack instead)."""
    path = tmp_path / "tclConfig.sh"
    path.write_text(f'#! /bin/sh\n. "{path}"\n')
    return str(path)


def endless(tmp_path: Path) -> str:
    """A tclConfig.sh that never ends."""
    path = tmp_path / "endless" / "tclConfig.sh"
    path.parent.mkdir()
    path.write_text("#! /bin/sh\nwhile :; do :; done\n")
    return str(path)


def test_a_tclconfig_that_never_ends_is_given_up(setup_py: Any,
                                                 tmp_path: Path) -> None:
    real = f"/usr/lib/{os.uname().machine}-linux-gnu/tcl8.6/tclConfig.sh"
    start = time.monotonic()
    found = setup_py.tcl_config([debian_wrapper(tmp_path), endless(tmp_path),
                                 real])
    assert time.monotonic() - start < 5
    includes, stubs = found
    assert stubs.endswith(".a") and os.path.isfile(stubs)


def test_without_a_usable_tclconfig_the_build_goes_on_without_tcl(
        setup_py: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup_py.tcl_config([debian_wrapper(tmp_path), endless(tmp_path),
                                str(tmp_path / "missing.sh")]) is None
    err = capsys.readouterr().err
    assert "endless/tclConfig.sh: did not finish in 1 s" in err
    assert "tclConfig.sh: killed by signal" in err or "exit status" in err
    assert "building without the native Tk waker" in err
    assert "apt-get install tcl8.6-dev" in err


def test_ag_require_tcl_makes_it_an_error(setup_py: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("AG_REQUIRE_TCL", "1")
    with pytest.raises(SystemExit, match="no usable tclConfig.sh .*did not "
                                         "finish in 1 s.*tcl8.6-dev"):
        setup_py.tcl_config([endless(tmp_path)])


def test_the_real_search_finds_this_machines_tcl(setup_py: Any) -> None:
    includes, stubs = setup_py.tcl_config()
    assert any(Path(d, "tcl.h").is_file() for d in includes) or includes == []
    assert os.path.isfile(stubs)
