"""asyncio as the host loop: a second asyncio loop (say uvloop) as a guest.

Useful to mix loops (a uvloop guest inside a program whose main loop is
asyncio's, or the reverse) and to keep one loop's work from delaying the
other's timers.  Host callbacks keep seeing the host loop as the running
loop; the guest loop is current only inside its ticks.

::

    import asyncio, uvloop
    from asyncio_guest import aio

    async def crunch(n):            # runs on the guest uvloop
        ...

    async def main():               # runs on the host asyncio loop
        result = await aio.run(crunch, 10, loop_factory=uvloop.new_event_loop)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Optional, TypeVar

from . import _async_host
from ._run import GuestRun

__all__ = ["start", "run", "run_in_guest"]

T = TypeVar("T")


def _host_loop(what: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"asyncio_guest.aio.{what}() must be called from a coroutine or "
            "callback running on the host asyncio loop"
        ) from None


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` on a new loop, as a guest of the asyncio
    loop running on this thread.  Returns at once.

    ``done_callback(task)`` runs on the host loop's thread after the
    teardown (default: log a failed main task).
    """
    host = _host_loop("start")
    return _async_host.start(
        async_fn, args, post=host.call_soon_threadsafe,
        post_soon=host.call_soon, done_callback=done_callback,
        loop_factory=loop_factory, debug=debug)


async def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> T:
    """Run ``async_fn(*args)`` as a guest and return its result (or raise
    its exception) once the guest loop is torn down.

    If the awaiting host task is cancelled, the guest's main task is
    cancelled too, and the teardown completes before the cancellation goes
    on.
    """
    host = _host_loop("run")
    done: asyncio.Future[asyncio.Task[Any]] = host.create_future()
    guest = start(async_fn, *args, done_callback=done.set_result,
                  loop_factory=loop_factory, debug=debug)
    result: T = await _async_host.await_outcome(guest, done)
    return result


async def run_in_guest(guest: GuestRun, coro: Coroutine[Any, Any, T]) -> T:
    """Await, from the host loop, a coroutine run as a task of the guest
    loop (both loops live on this thread)."""
    host = _host_loop("run_in_guest")
    if not asyncio.iscoroutine(coro):
        raise TypeError(f"run_in_guest: expected a coroutine, got "
                        f"{type(coro).__name__}")
    if guest.done:
        coro.close()
        raise RuntimeError("run_in_guest: the guest run is over")
    result: asyncio.Future[T] = host.create_future()
    task = guest.loop.create_task(coro)

    def relay(t: "asyncio.Task[T]") -> None:
        if result.done():
            return
        if t.cancelled():
            result.cancel()
        elif t.exception() is not None:
            result.set_exception(t.exception())  # type: ignore[arg-type]
        else:
            result.set_result(t.result())

    task.add_done_callback(relay)
    try:
        return await result
    except asyncio.CancelledError:
        task.cancel()
        raise
