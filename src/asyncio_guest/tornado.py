"""Tornado as the host loop.

Tornado runs on an asyncio loop itself; the guest (for instance uvloop) runs
inside a Tornado application, woken through ``IOLoop.add_callback`` (which
is thread-safe).  In Tornado handlers ``asyncio.get_running_loop()`` stays
Tornado's loop; use :func:`run_in_guest` to await work on the guest loop.

::

    from asyncio_guest import tornado as guest_tornado

    class Handler(tornado.web.RequestHandler):
        async def get(self):
            self.write(await guest_tornado.run_in_guest(GUEST, fetch()))

    async def main():
        global GUEST
        GUEST = guest_tornado.start(serve_forever,
                                    loop_factory=uvloop.new_event_loop)
        app.listen(8888)
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from tornado.ioloop import IOLoop

from . import host
from .aio import AsyncHost, await_outcome, run_in_guest
from .host import GuestRun

__all__ = ["start", "run", "run_in_guest"]

T = TypeVar("T")


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
    io_loop: Optional[IOLoop] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the Tornado IOLoop of this
    thread (or ``io_loop``).  Call it on that loop's thread, from a
    coroutine or callback of it.  Returns at once."""
    if io_loop is None:
        if asyncio._get_running_loop() is None:
            raise RuntimeError(
                "asyncio_guest.tornado.start(): no running IOLoop on this "
                "thread (call it from a coroutine running under Tornado)")
        io_loop = IOLoop.current()
    if not isinstance(io_loop, IOLoop):
        raise TypeError(f"io_loop must be a tornado IOLoop, got "
                        f"{type(io_loop).__name__}")
    return host.start(
        AsyncHost(io_loop.add_callback, name="asyncio_guest.tornado"),
        async_fn, *args, done_callback=done_callback,
        loop_factory=loop_factory, debug=debug, mode="thread")


async def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> T:
    """Run ``async_fn(*args)`` as a guest of the current IOLoop and return
    its result once the guest loop is torn down (see
    :func:`asyncio_guest.aio.run` for cancellation)."""
    io_loop = IOLoop.current()
    done: asyncio.Future[asyncio.Task[Any]] = (
        asyncio.get_running_loop().create_future())
    guest = start(async_fn, *args, done_callback=done.set_result,
                  loop_factory=loop_factory, debug=debug, io_loop=io_loop)
    result: T = await await_outcome(guest, done)
    return result
