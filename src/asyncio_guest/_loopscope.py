"""What makes a guest loop look like a loop that runs: its running-loop
scope, the wake hooks on its scheduling methods, and the methods it refuses.

All of it is set on the loop *instance* (or on this thread's asyncio state)
for the length of one run and taken off at its end; the loop's own class is
left alone.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, Optional

from asyncio.constants import DEBUG_STACK_DEPTH

from . import _core


def close_if_coroutine(obj: Any) -> None:
    """A call refused before it ran closes the coroutine object it was given
    (so no "never awaited" warning); an async function is not called."""
    if asyncio.iscoroutine(obj):
        obj.close()


class RunningLoopScope:
    """Sets the guest as this thread's running loop, with its async
    generator hooks and debug coroutine tracking, and restores what was
    there."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._saved: Optional[tuple[Any, Any, int]] = None

    def enter(self) -> None:
        loop = self._loop
        self._saved = (
            asyncio._get_running_loop(),
            sys.get_asyncgen_hooks(),
            sys.get_coroutine_origin_tracking_depth(),
        )
        asyncio._set_running_loop(loop)
        sys.set_asyncgen_hooks(
            firstiter=loop._asyncgen_firstiter_hook,
            finalizer=loop._asyncgen_finalizer_hook,
        )
        if loop.get_debug():
            # What run_forever() sets in debug mode.
            sys.set_coroutine_origin_tracking_depth(DEBUG_STACK_DEPTH)

    def leave(self) -> None:
        if self._saved is None:
            return
        running, hooks, depth = self._saved
        self._saved = None
        asyncio._set_running_loop(running)
        sys.set_asyncgen_hooks(*hooks)
        sys.set_coroutine_origin_tracking_depth(depth)


#: Loop methods refused while the loop runs as a guest.
REFUSED = ("stop", "run_forever", "run_until_complete", "close")


class LoopHooks:
    """The instance attributes one run sets on its loop, removed together.

    Wake hooks: asyncio's C Task and Future look ``call_soon`` up on the
    loop object, so instance attributes catch them too."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._names: list[str] = []

    def set(self, name: str, value: Any) -> None:
        setattr(self._loop, name, value)
        self._names.append(name)

    def wake(self, names: Iterable[str], core: Any) -> None:
        """Wrap each named method with a C ``WakeHook``: called by host code
        while the backend waits, it wakes the backend first."""
        for name in names:
            self.set(name, _core.WakeHook(getattr(self._loop, name), core))

    def run_as_guest(self, is_running: Callable[[], bool]) -> None:
        """``is_running()`` as the run says; stop/run/close refused."""
        self.set("is_running", is_running)
        for name in REFUSED:
            self.set(name, functools.partial(_refuse, name))

    def remove(self) -> None:
        for name in self._names:
            self._loop.__dict__.pop(name, None)
        self._names.clear()


def _refuse(name: str, *args: Any, **kwargs: Any) -> None:
    """loop.stop/run_forever/run_until_complete/close during a guest run: a
    clear error, before the loop does anything (uvloop would wrap a
    coroutine given to run_until_complete in a task first)."""
    for arg in args:
        close_if_coroutine(arg)
    if name == "stop":
        raise RuntimeError(
            "loop.stop() cannot stop a guest run; cancel its main task "
            "instead (GuestRun.cancel())"
        )
    raise RuntimeError(
        f"loop.{name}(): this loop is running as a guest "
        "(asyncio_guest); it cannot be run or closed until its guest run "
        "ends (cancel it with GuestRun.cancel())"
    )
