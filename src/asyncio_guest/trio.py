"""Trio as the host loop: asyncio code (on asyncio's loop or uvloop) running
as a guest inside a Trio program, woken through ``TrioToken.run_sync_soon``.

::

    import trio
    from asyncio_guest import trio as guest_trio

    async def fetch():               # asyncio code
        reader, writer = await asyncio.open_connection(...)
        ...

    async def main():                # Trio code
        data = await guest_trio.run(fetch)

    trio.run(main)

Between ticks the guest stays asyncio's running loop on the Trio thread, so
synchronous asyncio calls made from Trio code (``loop.call_soon``,
``fut.set_result``) reach it and wake it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

import trio

from . import host
from .aio import AsyncHost
from .host import GuestRun

__all__ = ["start", "run"]

T = TypeVar("T")


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the Trio run on this thread.
    Call it from Trio code.  Returns at once."""
    try:
        token = trio.lowlevel.current_trio_token()
    except RuntimeError:
        raise RuntimeError(
            "asyncio_guest.trio.start() must be called from inside trio.run()"
        ) from None
    return host.start(
        AsyncHost(token.run_sync_soon, name="asyncio_guest.trio"),
        async_fn, *args, done_callback=done_callback,
        loop_factory=loop_factory, debug=debug, mode="thread")


async def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> T:
    """Run ``async_fn(*args)`` (asyncio code) as a guest and return its
    result once the guest loop is torn down.  If the Trio task is
    cancelled, the guest's main task is cancelled and the teardown completes
    (shielded) before the cancellation goes on."""
    finished = trio.Event()
    box: list[asyncio.Task[Any]] = []

    def done(task: "asyncio.Task[Any]") -> None:
        box.append(task)
        finished.set()

    guest = start(async_fn, *args, done_callback=done,
                  loop_factory=loop_factory, debug=debug)
    try:
        await finished.wait()
    except trio.Cancelled:
        guest.cancel()
        with trio.CancelScope(shield=True):
            await finished.wait()
        raise
    result: T = box[0].result()
    return result
