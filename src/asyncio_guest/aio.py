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

from . import host
from .host import GuestRun

__all__ = ["start", "run", "run_in_guest", "AsyncHost", "await_outcome"]

T = TypeVar("T")


def _host_loop(what: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"asyncio_guest.aio.{what}() must be called from a coroutine or "
            "callback running on the host asyncio loop"
        ) from None


class AsyncHost(host.Host):
    """An event-loop framework on this thread (asyncio, Tornado, Trio) as
    the host: ``post`` is its thread-safe "call soon" (asyncio's
    ``call_soon_threadsafe``, Trio's ``TrioToken.run_sync_soon``),
    ``post_soon`` its same-thread one.  The guest is started from one of
    its tasks; the task awaits the outcome (:func:`await_outcome`) instead
    of :func:`asyncio_guest.host.run`."""

    name = "asyncio_guest.aio"

    def __init__(self, post: Callable[[Callable[[], object]], object],
                 post_soon: Optional[Callable[[Callable[[], object]],
                                              object]] = None,
                 name: Optional[str] = None) -> None:
        super().__init__()
        self._post = post
        self._post_soon = post_soon or post
        if name is not None:
            self.name = name
        # The host framework may own the wake-up fd (asyncio's
        # add_signal_handler, Trio's run): then the guest leaves it.
        self.uses_wakeup_fd = host.wakeup_fd_in_use()

    def threadless_unavailable(self) -> Optional[str]:
        return "a host that watches fds; an async-framework host posts"

    def post(self, fn: Callable[[], object]) -> None:
        self._post(fn)

    def post_soon(self, fn: Callable[[], object]) -> None:
        self._post_soon(fn)


async def await_outcome(guest: GuestRun,
                        done: "asyncio.Future[asyncio.Task[Any]]") -> Any:
    """Wait in a host task for ``done`` (set by the guest's done_callback)
    and return the main task's result.  If the host task is cancelled, the
    guest's main task is cancelled too, and the teardown completes before
    the cancellation goes on."""
    try:
        task = await asyncio.shield(done)
    except asyncio.CancelledError:
        guest.cancel()
        # The teardown, whatever happens: a second cancellation of the host
        # task must not cut it short (the guest would be left running on a
        # host loop about to close).
        while not done.done():
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                continue
        raise
    return task.result()


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
    try:
        loop = _host_loop("start")
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    return host.start(
        AsyncHost(loop.call_soon_threadsafe, loop.call_soon),
        async_fn, *args, done_callback=done_callback,
        loop_factory=loop_factory, debug=debug, mode="thread")


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
    done: asyncio.Future[asyncio.Task[Any]] = (
        _host_loop("run").create_future())
    guest = start(async_fn, *args, done_callback=done.set_result,
                  loop_factory=loop_factory, debug=debug)
    result: T = await await_outcome(guest, done)
    return result


async def run_in_guest(guest: GuestRun, coro: Coroutine[Any, Any, T]) -> T:
    """Await, from the host loop, a coroutine run as a task of the guest
    loop (both loops live on this thread)."""
    loop = _host_loop("run_in_guest")
    if not asyncio.iscoroutine(coro):
        raise TypeError(f"run_in_guest: expected a coroutine, got "
                        f"{type(coro).__name__}")
    if guest.done:
        coro.close()
        raise RuntimeError("run_in_guest: the guest run is over")
    result: asyncio.Future[T] = loop.create_future()
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
