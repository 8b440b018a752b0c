"""Helpers shared by test_guest.py and test_guest_io.py (not a test module).

They build on the conftest fixtures (QueueHost, Outcome); nothing here pokes
at the guest loop's private attributes.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, Callable

import pytest

import asyncio_guest
from conftest import Outcome, QueueHost


PF_IO_WORKER = 0x10  # include/linux/sched.h


def tids() -> set[str]:
    """Thread ids of this process, without io_uring's kernel threads
    ("iou-sqp-N"): libuv 1.45 to 1.48 (uvloop 0.18 to 0.21) gives each loop a
    submission-queue polling thread that the kernel reaps on its own time.
    They are told by their PF_IO_WORKER flag (/proc stat field 9), which
    they have from the start (their "iou-" name comes a moment later)."""
    out = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                flags = int(f.read().rsplit(")", 1)[1].split()[6])
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        if flags & PF_IO_WORKER:
            continue
        out.add(tid)
    return out


def thread_name(tid: str) -> str | None:
    """The kernel's name of thread ``tid`` (None once it has exited)."""
    try:
        with open(f"/proc/self/task/{tid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def guest_threads() -> set[str]:
    """Threads named like the C backend thread ("asyncio-guest")."""
    return {t for t in tids() if thread_name(t) == "asyncio-guest"}


def qt_binding() -> str:
    """The Qt binding tests/test_qt.py tests in this process ($QT_API, else
    the first installed)."""
    import importlib.util

    from asyncio_guest import qt as guest_qt

    installed = [b for b in guest_qt.BINDINGS
                 if importlib.util.find_spec(b) is not None]
    if not installed:
        raise ImportError("no Qt binding installed")
    return guest_qt.resolve_binding(os.environ.get(guest_qt.ENV_VAR)
                                    or installed[0])


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``pred`` (for kernel-side effects such as a joined thread leaving
    /proc/self/task, which lags pthread_join by a few microseconds)."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True


def start(host: QueueHost, async_fn: Any, *args: Any, loop_factory: Any,
          **kw: Any) -> tuple[asyncio_guest.GuestRun, Outcome]:
    """start_guest_run on ``host``; ``kw`` may override the host's posts."""
    outcome = Outcome()
    run = asyncio_guest.start_guest_run(
        async_fn, *args, done_callback=outcome, loop_factory=loop_factory,
        **{**host.kwargs(), **kw})
    return run, outcome


def finish(host: QueueHost, run: asyncio_guest.GuestRun, outcome: Outcome,
           timeout: float = 10.0) -> Any:
    """Run the host until done_callback ran; check it ran once, on the host
    thread, with the loop closed; return the main task."""
    host.run(lambda: outcome.done, timeout=timeout)
    assert outcome.calls[0][1] == host.thread
    assert run.done
    assert run.loop.is_closed()
    return outcome.task


def tracking_post(
        host: QueueHost) -> tuple[Callable[[Any], None], dict]:
    """A threadsafe post that records what it was given and how deeply the
    posted calls nest."""
    depth = {"now": 0, "max": 0, "posted": []}

    def post(fn):
        depth["posted"].append(fn)

        def tracked():
            depth["now"] += 1
            depth["max"] = max(depth["max"], depth["now"])
            try:
                fn()
            finally:
                depth["now"] -= 1
        host.post(tracked)

    return post, depth


def guest_core(run: asyncio_guest.GuestRun) -> Any:
    """The C ``Guest`` of a run (package-private, for posts/state)."""
    return run._runner.core


def wait_idle(host: QueueHost, run: asyncio_guest.GuestRun,
              settle: float = 0.02, timeout: float = 5.0) -> None:
    """Run the host until the guest is idle: the backend thread polls and
    has posted nothing for ``settle`` seconds."""
    core = guest_core(run)
    end = time.monotonic() + timeout
    while True:
        host.run(lambda: core.state == "polling", timeout=timeout)
        posts = core.posts
        host.run_for(settle)
        if core.posts == posts and core.state == "polling" \
                and host.queue.empty():
            return
        if time.monotonic() > end:
            raise TimeoutError("the guest never became idle")


class Leaks:
    """Snapshot of fds and threads; ``check()`` asserts both came back."""

    def __init__(self) -> None:
        self.fds = fd_count()
        self.tids = tids()

    def check(self) -> None:
        assert wait_for(lambda: tids() <= self.tids), (
            "threads left behind", tids() - self.tids)
        assert fd_count() == self.fds, ("fds leaked", fd_count(), self.fds)


@pytest.fixture(autouse=True)
def no_live_run() -> Any:
    """Fail a test that leaves a guest run alive on this thread, and close
    that run (package internals, for isolation only) so that the next test
    can start its own instead of failing on 'already hosts a guest run'."""
    yield
    from asyncio_guest import _run

    me = threading.get_ident()
    leftover = [r for r in list(_run._live) if r.host_thread == me]
    for runner in leftover:
        runner._close_all()
    assert not leftover, "the test left a guest run alive"


async def progress_during(start_stream: Callable[[Callable[[int], None]], None],
                          timeout: float = 10.0) -> dict[str, float]:
    """A busy guest's progress while the host is busy too: a task spins
    (``await asyncio.sleep(0)``); its rate over 0.2 s, then its rate while
    ``start_stream(done)`` keeps the host busy until it calls
    ``done(count)`` with the number of host events it ran.  Returns
    ``events``, ``before`` and ``during`` (spins per second)."""
    spins = [0]
    stop = [False]

    async def spin() -> None:
        while not stop[0]:
            await asyncio.sleep(0)
            spins[0] += 1

    task = asyncio.create_task(spin())
    await asyncio.sleep(0.05)
    s0, t0 = spins[0], time.monotonic()
    await asyncio.sleep(0.2)
    s1, t1 = spins[0], time.monotonic()
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    start_stream(lambda n: None if done.done() else done.set_result(n))
    events = await asyncio.wait_for(done, timeout)
    s2, t2 = spins[0], time.monotonic()
    stop[0] = True
    await task
    return {"events": events, "before": (s1 - s0) / (t1 - t0),
            "during": (s2 - s1) / (t2 - t1)}
