"""The contract scenarios that end a process, on every host of cases.py
(each scenario a program of its own: child.py).

* Ctrl-C: a real SIGINT (``os.kill``) to a program that runs its guest
  through the host's ``run``: (a) while everything is idle, (b) while a
  coroutine spins in a CPU loop inside a guest tick, (c) while a plain host
  timer callback spins.  Every way, the program must end by itself, with
  exactly one ``KeyboardInterrupt`` traceback on stderr and the exit status
  Python gives an uncaught ``KeyboardInterrupt`` (it dies of SIGINT: -2),
  after a clean teardown (the run's other task and the main coroutine ran
  their ``finally``, the loop is closed, no backend thread is left).  A
  child that does not end within ``HANG`` seconds of the signal is dumped
  (faulthandler, SIGABRT) and counts as hung.
* Abandonment: a program starts a run, runs its host until the guest is
  parked, stops the host loop and exits with the run alive.  It must exit
  by itself (status 0) with one ResourceWarning naming the abandoned run,
  its backend thread joined, every fd the run opened closed and the signal
  wake-up fd as it was.

Tk and GTK children each get an Xvfb of their own (on a shared display,
another client's windows coming and going send this one's window X
events, which wake its host and would hide a Ctrl-C that wakes nobody);
Qt runs offscreen; pygame on SDL's dummy driver.  The children run three
at a time, all submitted as the module starts.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Iterator, Optional

import pytest

from cases import CASES
from xvfb import spawn, start_xvfb

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "child.py")

#: Seconds a child may take to end after the SIGINT (a clean teardown
#: takes under 0.1 s here); more counts as a hang.
HANG = 5.0
#: Seconds a child may take to start and report "ready"/"busy".
STARTUP = 30.0
WORKERS = 3
LOOPS = ("asyncio", "uvloop")
NEEDS_DISPLAY = {"tk", "gtk"}

# The host's default mode gets all three; its other mode (where a different
# path, the backend thread or the host's watch, wakes it) an idle program.
CTRL_C = []
for _name, _cls in CASES.items():
    for _mode in _cls.modes:
        _default = _mode == _cls.modes[-1]  # threadless where there is one
        for _where in (("idle", "tick", "callback") if _default
                       else ("idle",)):
            for _loop in LOOPS:
                CTRL_C.append(f"{_name}-{_mode}-{_loop}-ctrl-c-{_where}")
ABANDON = [f"{name}-{mode}-{loop}-abandon" for name, cls in CASES.items()
           if cls.no_abandoning is None for mode in cls.modes
           for loop in LOOPS]


@contextlib.contextmanager
def _private_display() -> Iterator[str]:
    proc, display = start_xvfb("640x480x24")
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(5)


def _child_env(display: Optional[str]) -> dict[str, str]:
    env = dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1",
               SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env.pop("DISPLAY", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    if display is not None:
        env["DISPLAY"] = display
    return env


def _play(scenario: str) -> dict[str, Any]:
    name = scenario.split("-")[0]
    if name not in NEEDS_DISPLAY:
        return _play_on(scenario, None)
    with _private_display() as display:
        return _play_on(scenario, display)


def _play_on(scenario: str, display: Optional[str]) -> dict[str, Any]:
    name, mode, loop, what = scenario.split("-", 3)
    if what == "abandon":
        return _abandon(name, mode, loop, display)
    cue = "ready" if what.endswith("idle") else "busy"
    with tempfile.TemporaryFile("w+") as err:
        proc = spawn([sys.executable, CHILD, name, mode, loop, what],
                     stdout=subprocess.PIPE, stderr=err, text=True,
                     env=_child_env(display), cwd=HERE)
        lines: list[str] = []
        cued = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.strip() == cue:
                    cued.set()
            cued.set()  # end of output: no cue is coming

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        out: dict[str, Any] = {"sent": False, "hung": False}
        if cued.wait(STARTUP) and cue in lines and proc.poll() is None:
            time.sleep(0.05)  # the host settles into its wait / the spin
            os.kill(proc.pid, signal.SIGINT)
            out["sent"] = True
            if cue == "busy" and CASES[name].busy_interrupts == 2:
                try:  # asyncio.run: the first one cancelled the main task
                    proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGINT)
            try:
                proc.wait(HANG)
            except subprocess.TimeoutExpired:
                out["hung"] = True
        if proc.poll() is None:  # hung, or never cued: dump and kill it
            proc.send_signal(signal.SIGABRT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(5)
        assert proc.stdout is not None
        proc.stdout.close()
        err.seek(0)
        out.update(rc=proc.returncode, stdout=lines, stderr=err.read())
    return out


def _abandon(name: str, mode: str, loop: str,
             display: Optional[str]) -> dict[str, Any]:
    proc = spawn(
        [sys.executable, "-W", "default::ResourceWarning", CHILD, name,
         mode, loop, "abandon"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_child_env(display),
        cwd=HERE)
    try:
        out, err = proc.communicate(timeout=30)
        hung = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler dumps the stacks
        out, err = proc.communicate()
        hung = True
    return {"rc": proc.returncode, "stdout": out.splitlines(), "stderr": err,
            "hung": hung}


@pytest.fixture(scope="module")
def played(request: pytest.FixtureRequest) -> Any:
    """The selected scenarios, all submitted at once to a small pool (each
    test waits for its own)."""
    wanted = [item.callspec.params["scenario"]
              for item in request.session.items
              if getattr(item, "module", None) is request.module
              and hasattr(item, "callspec")
              and "scenario" in item.callspec.params]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    jobs = {s: pool.submit(_play, s) for s in wanted}
    yield jobs
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_host_left_out_says_why() -> None:
    """Only Trio cannot abandon a run (its host loop cannot stop under a
    live one), and it says why."""
    left_out = {name: cls.no_abandoning for name, cls in CASES.items()
                if cls.no_abandoning is not None}
    assert set(left_out) == {"trio"}
    assert all(len(why) > 20 for why in left_out.values())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", CTRL_C)
def test_ctrl_c_ends_the_program(played, scenario):
    """SCENARIO is host-mode-loop-ctrl-c-where (see child.py): one SIGINT
    ends the program with one KeyboardInterrupt traceback, Python's exit
    status for it, and a complete teardown."""
    out = played[scenario].result(timeout=170)
    stderr = out["stderr"]
    tail = f"stdout: {out['stdout']}\nstderr:\n{stderr[-4000:]}"
    assert out["sent"], f"the child never reached its cue\n{tail}"
    assert not out["hung"], (
        f"still running {HANG} s after SIGINT (stacks dumped below)\n{tail}")
    assert "RETURNED" not in out["stdout"], f"run() returned\n{tail}"
    # Python's own ending for an uncaught KeyboardInterrupt: it restores
    # SIG_DFL and kills itself with SIGINT (so a shell sees 130).
    assert out["rc"] == -signal.SIGINT, (
        f"exit status {out['rc']}, expected -SIGINT\n{tail}")
    for bad in ("Exception in Tkinter callback", "Error calling Python",
                "never retrieved", "Exception ignored", "Fatal Python",
                "was destroyed but it is pending"):
        assert bad not in stderr, f"{bad!r} on stderr\n{tail}"
    tracebacks = stderr.count("Traceback (most recent call last)")
    expected = (CASES[scenario.split("-")[0]].idle_interrupt_tracebacks
                if scenario.endswith("idle") else 1)
    assert tracebacks == expected, f"{tracebacks} tracebacks\n{tail}"
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", tail
    found = [line for line in out["stdout"] if line.startswith("TEARDOWN ")]
    assert len(found) == 1, tail
    report = json.loads(found[0][len("TEARDOWN "):])
    assert sorted(report["log"]) == ["main finally", "other finally"], tail
    assert report["run_done"] is True, tail
    assert report["loop_closed"] is True, tail
    assert report["guest_threads"] == [], tail
    assert report["current_run"] is False, tail


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", ABANDON)
def test_abandoned_run_is_closed_at_exit(played, scenario):
    """SCENARIO is host-mode-loop-abandon: the program ends by itself,
    status 0; stderr has exactly one ResourceWarning, naming the abandoned
    run (the program runs with -W default::ResourceWarning: Python hides
    that category by default); the backend thread that polled meanwhile
    is joined; every fd the run opened (those of its loop aside) is
    closed; and the signal wake-up fd is what it was before the run."""
    mode = scenario.split("-")[1]
    out = played[scenario].result(timeout=170)
    err = out["stderr"]
    tail = f"stdout:\n{out['stdout']}\nstderr:\n{err}"
    assert not out["hung"], f"the program did not exit\n{tail}"
    assert out["rc"] == 0, tail
    lines = out["stdout"]
    assert len(lines) == 4 and lines[0] == "parked", tail
    assert lines[1].startswith("threads while parked: "), tail
    assert lines[2] == "stopped pumping" and lines[3].startswith("LATE "), tail
    # thread mode had a backend thread to join; threadless none at all
    assert int(lines[1].rsplit(" ", 1)[1]) == (mode == "thread"), tail
    late = json.loads(lines[3][len("LATE "):])
    warnings = [line for line in err.splitlines() if "Warning" in line]
    ours = [line for line in warnings if "guest run" in line]
    assert len(ours) == 1, tail
    assert "ResourceWarning: guest run" in ours[0], tail
    assert "abandoned at exit" in ours[0], tail
    # Any other: a socket of the host's own (made before the run started,
    # forgotten by the program: the example host's), closed by the GC.
    for line in warnings:
        if line not in ours:
            match = re.search(r"unclosed <socket\.socket fd=(\d+)", line)
            assert match and int(match[1]) not in late["loop_fds"], tail
            assert int(match[1]) not in late["leftover_fds"], tail
    assert "Traceback" not in err and "Fatal" not in err, tail
    assert late["guest_threads"] == [], tail
    assert late["leftover_fds"] == {}, (
        f"fds the run opened are still open at exit: {late['leftover_fds']}"
        f"\n{tail}")
    assert late["wakeup_fd_after"] == late["wakeup_fd_before"], (
        "the signal wake-up fd was left pointing at the run's socket"
        f"\n{tail}")
