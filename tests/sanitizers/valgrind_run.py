"""A short workload for `make valgrind`: guest runs on each host kind the
core serves without a display (the queue host in thread mode, GLib with
the native waker in both modes), on the stdlib loop and uvloop, each run
doing socket I/O, a timer, an executor job and a cancelled task.

    valgrind ... python tests/sanitizers/valgrind_run.py [runs]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from test_cycles import Outcome, QueueHost, work  # noqa: E402

import asyncio_guest  # noqa: E402


def main() -> None:
    import uvloop

    import gi

    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    from asyncio_guest import gtk as guest_gtk

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    ctx = GLib.MainContext.default()
    done = 0
    for factory in (None, uvloop.new_event_loop):
        for _ in range(runs):
            host = QueueHost()
            out = Outcome()
            asyncio_guest.start_guest_run(work, done_callback=out,
                                          loop_factory=factory,
                                          **host.kwargs())
            host.run(lambda: out.done, timeout=60)
            assert out.task.result() == 2
            done += 1
            for mode in ("thread", "threadless"):
                out = Outcome()
                guest_gtk.start(work, done_callback=out, loop_factory=factory,
                                mode=mode)
                while not out.done:
                    ctx.iteration(True)
                assert out.task.result() == 2
                done += 1
    print(f"valgrind_run: {done} guest runs completed")


if __name__ == "__main__":
    main()
