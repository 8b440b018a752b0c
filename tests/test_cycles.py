"""1,000 start -> run -> teardown cycles in one process: nothing grows.

Each cycle is a whole guest run that does real work (a socket pair read
and written, a timer, a task cancelled at teardown, an executor job), on
the queue host in thread mode (a backend thread started and joined per
cycle) and on Tk in threadless mode (file handlers and timers made and
deleted per cycle).  After a warm-up (allocator pools, import-time caches,
the executor's first threads), the fds, the threads and the resident set
must come back: fds and threads exactly, the objects the GC tracks within
a handful, RSS within a small allowance for
the allocator's noise (malloc arenas do not shrink page by page).
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import tkinter
from typing import Any

import pytest

import asyncio_guest
from conftest import Outcome, QueueHost
from guest_helpers import fd_count, tids, wait_for

CYCLES = 1000
WARMUP = 100
# Allowance for RSS growth over CYCLES runs after the warm-up.  A leak of one
# small object per cycle (a 64-byte struct, a 1 KiB buffer, a thread stack
# not unmapped: 8 MiB) would cost 64 KiB, 1 MiB, or gigabytes; 2 MiB
# tolerates malloc arena noise and still catches a leaked buffer per run.
RSS_ALLOWANCE = 2 * 1024 * 1024

pytestmark = pytest.mark.timeout(300, method="thread")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def work() -> int:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    try:
        reader, writer = await asyncio.open_connection(sock=a)
        loop.call_later(0.0005, b.send, b"x\n")
        line = await reader.readline()
        await asyncio.sleep(0)
        n = await loop.run_in_executor(None, len, line)
        # left running: cancelled by the teardown, as asyncio.run does
        loop.create_task(asyncio.sleep(3600))
        writer.close()
        await writer.wait_closed()
        return n
    finally:
        b.close()


def queue_cycle(loop_factory: Any) -> None:
    host = QueueHost()
    outcome = Outcome()
    asyncio_guest.start_guest_run(work, done_callback=outcome,
                                  loop_factory=loop_factory, **host.kwargs())
    host.run(lambda: outcome.done, timeout=10)
    assert outcome.task.result() == 2


def measure(cycle: Any) -> dict[str, Any]:
    for _ in range(WARMUP):
        cycle()
    gc.collect()
    before = {"fds": fd_count(), "threads": tids(), "rss": rss(),
              "objects": len(gc.get_objects())}
    for _ in range(CYCLES):
        cycle()
    gc.collect()
    # a joined thread leaves /proc/self/task a few microseconds later
    wait_for(lambda: tids() <= before["threads"])
    return {"fds": (before["fds"], fd_count()),
            "threads": (before["threads"], tids()),
            "rss": (before["rss"], rss()),
            "objects": (before["objects"], len(gc.get_objects()))}


def sanitizer_runtime() -> bool:
    """Whether ASan/TSan is loaded (`make test-sanitize`): freed memory then
    sits in the sanitizer's quarantine (256 MiB for ASan), so RSS says
    nothing about leaks there; the other checks still hold."""
    with open("/proc/self/maps") as f:
        maps = f.read()
    return "libasan" in maps or "libtsan" in maps


def check(m: dict[str, Any]) -> None:
    assert m["fds"][1] == m["fds"][0], ("fds", m["fds"])
    assert m["threads"][1] <= m["threads"][0], (
        "threads left behind", m["threads"][1] - m["threads"][0])
    objects = m["objects"][1] - m["objects"][0]
    print(f"\nobjects tracked by the GC: {m['objects'][0]} -> "
          f"{m['objects'][1]} ({objects:+d})", end="")
    # one Python object kept per run (a task, a handle, a closure) is 1,000
    assert objects < CYCLES // 10, ("Python objects kept", objects)
    grew = m["rss"][1] - m["rss"][0]
    if sanitizer_runtime():
        print(f"\nRSS +{grew / 2**20:.1f} MiB: not checked under a "
              f"sanitizer (its quarantine keeps freed memory)")
        return
    print(f"\nRSS {m['rss'][0] / 2**20:.1f} -> {m['rss'][1] / 2**20:.1f} MiB "
          f"over {CYCLES} cycles ({grew / CYCLES:+.0f} bytes per cycle)")
    assert grew < RSS_ALLOWANCE, (
        f"RSS grew {grew / 2**20:.2f} MiB over {CYCLES} cycles "
        f"({grew / CYCLES:.0f} bytes per cycle)")


def test_thousand_runs_queue_host_thread_mode(loop_factory: Any) -> None:
    check(measure(lambda: queue_cycle(loop_factory)))


def test_thousand_runs_tk_threadless(display: str, loop_factory: Any) -> None:
    from asyncio_guest import tk as guest_tk

    root = tkinter.Tk()
    root.withdraw()
    try:
        def cycle() -> None:
            outcome = Outcome()
            guest_tk.start(root, work, done_callback=outcome,
                           loop_factory=loop_factory, mode="threadless")
            while not outcome.done:
                root.dooneevent(0)
            assert outcome.task.result() == 2

        check(measure(cycle))
    finally:
        root.destroy()


@pytest.mark.parametrize("mode", ["thread", "threadless"])
def test_thousand_runs_glib(loop_factory: Any, mode: str) -> None:
    """The GLib host with the native waker: GSources (and, threadless, the
    unix-fd watches) made and destroyed per cycle."""
    import gi

    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    from asyncio_guest import gtk as guest_gtk

    ctx = GLib.MainContext.default()

    def cycle() -> None:
        outcome = Outcome()
        guest_gtk.start(work, done_callback=outcome,
                        loop_factory=loop_factory, mode=mode)
        while not outcome.done:
            ctx.iteration(True)
        assert outcome.task.result() == 2

    check(measure(cycle))
