"""One host of cases.py in a program of its own, for the contract scenarios
that end a process: Ctrl-C and abandonment (run by
test_contract_processes.py, one scenario per process; not a test module).

    python child.py CASE MODE LOOP WHAT

CASE is a name of cases.CASES, MODE ``thread`` or ``threadless``, LOOP
``asyncio`` or ``uvloop``.  WHAT is one of:

* ``ctrl-c-idle``: the main coroutine waits for an hour; once the guest
  has stayed parked (its backend thread polls, or the host watches its
  fds), and the host's window has been shown, for 300 ms in a row, a host
  timer prints ``ready``; the test then sends SIGINT.
* ``ctrl-c-tick``: the main coroutine prints ``busy`` and spins in a CPU
  loop, inside a guest tick.
* ``ctrl-c-callback``: a plain host timer callback prints ``busy`` and
  spins.

  Another task of the run waits too, with a ``finally`` that awaits.  When
  the host's ``run`` raises, the program prints one line::

      TEARDOWN {"log": [...], "run_done": ..., "loop_closed": ...,
                "guest_threads": [...], "current_run": ...}

  and lets the exception go: Python reports it and exits as it does for
  an uncaught KeyboardInterrupt.  Should ``run`` return, the program
  prints ``RETURNED`` and exits with status 3.

* ``abandon``: the program starts a run whose main coroutine never ends,
  runs the host loop until the guest is parked, stops it, prints
  ``parked``, ``threads while parked: N`` and ``stopped pumping``, and
  falls off the end of the script with the run alive.  An exit hook
  registered before asyncio_guest is imported (so it runs after
  asyncio_guest's own) prints::

      LATE {"guest_threads": [...], "leftover_fds": {...},
            "wakeup_fd_before": N, "wakeup_fd_after": N, ...}

  ``leftover_fds``: fds opened since the host was set up (not by the loop
  factory, which is reported as ``loop_fds``) and still open then.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
import warnings
from typing import Any

CASE, MODE, LOOP, WHAT = sys.argv[1:5]
# A program started from a terminal: Python's own SIGINT handler.  A shell
# that starts a job in the background without job control (`cmd &` in a
# script, as some CI runners do) makes SIGINT ignored, the children inherit
# that, and Python then installs no handler: every Ctrl-C case hung.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
os.environ["QT_QPA_PLATFORM"] = os.environ.get("AG_TEST_QT_PLATFORM", "offscreen")
os.environ.setdefault("NO_AT_BRIDGE", "1")
# pygame built from source (there is no wheel for Python 3.14) warns at
# import that it has no AVX2 blitters; the abandonment scenario counts
# the warnings a program prints, and this one is not about the run.
warnings.filterwarnings("ignore", "Your system is avx2 capable",
                        RuntimeWarning)
os.environ.setdefault("GTK_A11Y", "none")

state: dict[str, Any] = {"log": []}


def say(line: str) -> None:
    print(line, flush=True)


def open_fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the fd of the listing itself, closed meanwhile
    return out


def guest_threads() -> list[str]:
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "asyncio-guest":
                    found.append(tid)
        except OSError:
            pass  # exited meanwhile
    return found


def joined_threads() -> list[str]:
    """guest_threads(), once the joined ones have left /proc: pthread_join
    returns when the kernel clears the thread's tid, a moment before its
    task is released (and /proc/self/task/<tid> goes away)."""
    deadline = time.monotonic() + 2.0
    found = guest_threads()
    while found and time.monotonic() < deadline:
        time.sleep(0.01)
        found = guest_threads()
    return found


def wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def late_report() -> None:
    if WHAT != "abandon":
        return
    now = open_fds()
    mine = set(now) - set(state.get("before", now)) - set(
        state.get("loop_fds", ()))
    say("LATE " + json.dumps({
        "guest_threads": joined_threads(),
        "leftover_fds": {str(fd): now[fd] for fd in sorted(mine)},
        "loop_fds": state.get("loop_fds", []),
        "wakeup_fd_before": state.get("wakeup_before"),
        "wakeup_fd_after": wakeup_fd(),
    }))


atexit.register(late_report)  # before asyncio_guest registers its own

import asyncio  # noqa: E402

import asyncio_guest  # noqa: E402
from cases import CASES  # noqa: E402


def loop_factory() -> asyncio.AbstractEventLoop:
    before = open_fds()
    if LOOP == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    state["loop_fds"] = sorted(set(open_fds()) - set(before))
    return loop


def parked() -> bool:
    """The guest waits for nothing but its own hour-long deadline."""
    run = state.get("run")
    if run is None or not state.get("waiting"):
        return False
    guest = run._runner.core
    return bool(guest.state == ("armed" if guest.threadless else "polling"))


def spin() -> None:
    say("busy")
    while True:
        pass


async def other() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(0)  # a clean-up that awaits
        state["log"].append("other finally")


async def interrupted_main() -> None:
    state["run"] = asyncio_guest.current_run()
    state["loop"] = asyncio.get_running_loop()
    asyncio.create_task(other())
    await asyncio.sleep(0.01)
    try:
        if WHAT == "ctrl-c-tick":
            spin()
        elif WHAT == "ctrl-c-callback":
            case.later(0, spin)
        else:
            case.later(0, report_ready)
        state["waiting"] = True
        await asyncio.sleep(3600)
    finally:
        state["log"].append("main finally")


def report_ready() -> None:
    """A host timer: ``ready`` once the guest has been parked, and the
    host's window shown, for 300 ms in a row: by then the window's first
    events (map, expose) have been handled, and nothing but the signal can
    wake the host."""
    guest = state["run"]._runner.core
    quiet = parked() and case.shown()
    if not quiet or state.get("posts") != guest.posts:
        state["quiet since"] = time.monotonic()
        state["posts"] = guest.posts
    if quiet and time.monotonic() - state["quiet since"] >= 0.3:
        say("ready")
    else:
        case.later(0.01, report_ready)


async def abandoned_main() -> None:
    state["run"] = asyncio_guest.current_run()
    state["waiting"] = True
    await asyncio.sleep(3600)


def ctrl_c() -> None:
    try:
        case.run(interrupted_main, MODE, loop_factory)
    finally:
        run = state.get("run")
        say("TEARDOWN " + json.dumps({
            "log": state["log"],
            "run_done": None if run is None else run.done,
            "loop_closed": (None if "loop" not in state
                            else state["loop"].is_closed()),
            "guest_threads": joined_threads(),
            "current_run": asyncio_guest.current_run() is not None,
        }))
    say("RETURNED")
    sys.exit(3)


def mark() -> None:
    # libffi with static trampolines (Debian forky's, under Python 3.14 and
    # 3.15 there) opens its own shared object the first time it is used
    # (importing ctypes is enough) and keeps it open for the life of the
    # process: let that happen before the snapshot, not when the uvloop
    # driver (ctypes) or PyGObject first uses libffi during the run.
    import ctypes  # noqa: F401
    state["before"] = open_fds()
    state["wakeup_before"] = wakeup_fd()


def abandon() -> None:
    state["kept"] = case.abandon(abandoned_main, MODE, loop_factory, parked,
                                 mark)
    say("parked" if parked() else "never parked")
    say(f"threads while parked: {len(guest_threads())}")
    say("stopped pumping")


case = CASES[CASE]()
case.setup()
case.mode = MODE
if WHAT == "abandon":
    abandon()
else:
    ctrl_c()
