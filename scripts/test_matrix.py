"""The test suite on one more Python version (``make test-matrix``).

    python scripts/test_matrix.py NAME PYTHON [--heavy]

In build/matrix/NAME: a venv made by PYTHON, the C core built for it
(build_ext into build/matrix/NAME/lib, the package's Python files beside
it), then the suite's parts whose dependencies install there, each group
installed on its own so that one that has no wheel (and does not build)
is reported with pip's error instead of failing the others:

* core: the core, errors, I/O, re-entry, faults, build, Tk both modes,
  asyncio/Tornado/Trio hosts, the host contract on those, the webview's
  pure parts; both loops (uvloop);
* with ``--heavy`` also qt (PySide6, PyQt6, PyQt5), gtk (PyGObject, built
  from PyPI against the system GLib, with the webview and pywebview),
  pygame.

Warnings from our code are errors (``-W error::DeprecationWarning``).
Writes build/matrix/NAME/report.md (a table row per group: passed / failed
/ not available, and why) and exits non-zero if any test failed; a group
that cannot be installed is reported, not failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CORE_TESTS = ["tests/test_core.py", "tests/test_guest.py",
              "tests/test_guest_errors.py", "tests/test_guest_io.py",
              "tests/test_guest_reentry.py", "tests/test_faults.py",
              "tests/test_build.py", "tests/test_tk.py",
              "tests/test_tk_modes.py", "tests/test_async_hosts.py",
              "tests/test_sigint.py", "tests/test_webview_rpc.py",
              "tests/test_webview_origins.py", "tests/hosts/test_contract.py",
              "tests/hosts/test_contract_processes.py"]
#: group -> (pip requirements, test files, what names their tests carry,
#: whether any one requirement is enough: each Qt binding is tested on its
#: own, test_qt.py tests those installed)
GROUPS = {
    "qt": (["PySide6-Essentials>=6.5,<6.12", "PyQt6>=6.5", "PyQt5>=5.15"],
           ["tests/test_qt.py"], "qt", True),
    "gtk": (["PyGObject>=3.46,<3.51", "pywebview==6.2.1"],
            ["tests/test_gtk.py", "tests/test_gtk_wakers.py",
             "tests/test_webview.py", "tests/test_webview_security.py",
             "tests/test_pywebview.py"], "gtk or glib or webview", False),
    "pygame": (["pygame>=2.1.3"], ["tests/test_pygame.py"], "pygame", False),
}
CORE_REQS = ["pytest>=8", "pytest-timeout>=2.2", "uvloop>=0.17,<0.24",
             "tornado>=6.2", "trio>=0.22", "setuptools", "wheel"]


def sh(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def pip_error(out: str) -> str:
    """The line of pip's output that says why: a compiler's error, a build
    script's exception (a missing library), else pip's own ERROR line."""
    lines = out.splitlines()
    for pattern in (r"\.c:\d+:\d+: error:", r"^\s*\w*Error: ",
                    r"ERROR:|error:"):
        for line in lines:
            if re.search(pattern, line):
                return line.strip()[:200]
    return lines[-1].strip()[:200] if lines else "pip failed"


def main() -> int:
    name, python = sys.argv[1], sys.argv[2]
    heavy = "--heavy" in sys.argv[3:]
    home = ROOT / "build" / "matrix" / name
    venv, lib = home / "venv", home / "lib"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    made = sh([python, "-m", "venv", str(venv)])
    if made.returncode:
        raise SystemExit(f"test-matrix {name}: {python} -m venv: {made.stderr}")
    py = str(venv / "bin" / "python")
    version = sh([py, "-c", "import sys; print(sys.version.split()[0])"]).stdout.strip()
    done = sh([py, "-m", "pip", "install", "-q", *CORE_REQS])
    if done.returncode:
        raise SystemExit(f"test-matrix {name}: {pip_error(done.stdout + done.stderr)}")
    built = sh([py, "setup.py", "-q", "build_ext", "--build-lib", str(lib),
                "--build-temp", str(home / "tmp")], cwd=ROOT,
               env=dict(os.environ, AG_REQUIRE_TCL="1"))
    if built.returncode:
        raise SystemExit(f"test-matrix {name}: the build failed:\n{built.stderr}")
    package = ROOT / "src" / "asyncio_guest"
    for f in list(package.glob("*.py")) + list(package.glob("*.pyi")) + [package / "py.typed"]:
        shutil.copy(f, lib / "asyncio_guest")
    shutil.copytree(package / "webview", lib / "asyncio_guest" / "webview",
                    dirs_exist_ok=True)

    rows, files, missing, installed = [], list(CORE_TESTS), [], []
    for group, (reqs, tests, names, any_one) in GROUPS.items():
        if not heavy:
            rows.append((group, "not run", "light run (--heavy runs it)"))
            missing.append(names)
            continue
        got = []  # the packages that installed
        for req in reqs:
            package = re.split(r"[<>=]", req)[0]
            done = sh([py, "-m", "pip", "install", "-q", req])
            if done.returncode:
                rows.append((package if any_one else group, "not available",
                             pip_error(done.stdout + done.stderr)))
            else:
                got.append(package)
        if got and (any_one or len(got) == len(reqs)):
            files += tests
            installed.append(group if len(got) == len(reqs) else
                             f"{group} ({', '.join(got)})")
        else:
            missing.append(names)
    deselect = " or ".join(f"({m})" for m in missing)
    argv = [py, "-W", "error::DeprecationWarning", "-m", "pytest", "-q",
            "-p", "no:cacheprovider", "-W", "error::DeprecationWarning",
            *files]
    if deselect:
        argv += ["-k", f"not ({deselect})"]
    env = dict(os.environ, PYTHONPATH=str(lib))
    print(f"test-matrix {name} (Python {version}): {' '.join(argv[1:])}",
          flush=True)
    run = subprocess.run(argv, cwd=ROOT, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    (home / "pytest.log").write_text(run.stdout)
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(tail)
    verdict = "passed" if run.returncode == 0 else "FAILED"
    rows.insert(0, (" + ".join(["core", *installed]), verdict, tail))
    report = [f"## Python {version} ({name})", "",
              "| part | result | detail |", "|---|---|---|"]
    report += [f"| {a} | {b} | {c.replace('|', '/')} |" for a, b, c in rows]
    (home / "report.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
