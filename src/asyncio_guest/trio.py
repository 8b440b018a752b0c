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

__all__ = ["TrioHost", "start", "run"]

T = TypeVar("T")


class TrioHost(AsyncHost):
    """Trio's run on this thread as the host: ticks are posted with
    ``TrioToken.run_sync_soon`` and run with Ctrl-C allowed (Trio runs its
    callbacks protected from KeyboardInterrupt and delivers it at the main
    task's next checkpoint, which a busy guest coroutine never reaches);
    one that escapes a tick cancels the guest's main task and is kept for
    :func:`run` to raise after the teardown."""

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        super().__init__(token.run_sync_soon, name="asyncio_guest.trio")
        self.token = token
        self.interrupt: Optional[BaseException] = None

    def post(self, fn: Callable[[], object]) -> None:
        self.token.run_sync_soon(_unprotected, self, fn)

    post_soon = post

    def interrupted(self, exc: BaseException) -> None:
        if self.interrupt is None:
            self.interrupt = exc

    def tick_raised(self, exc: BaseException) -> None:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            self.interrupted(exc)  # the guest has cancelled its main task
        else:
            super().tick_raised(exc)


@trio.lowlevel.disable_ki_protection
def _unprotected(trio_host: TrioHost, fn: Callable[[], object]) -> None:
    try:
        fn()
    except BaseException as exc:  # Trio would fail with TrioInternalError
        trio_host.tick_raised(exc)


def _token() -> trio.lowlevel.TrioToken:
    try:
        return trio.lowlevel.current_trio_token()
    except RuntimeError:
        raise RuntimeError(
            "asyncio_guest.trio.start() must be called from inside trio.run()"
        ) from None


def start(
    async_fn: Any,
    *args: Any,
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]] = None,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> GuestRun:
    """Start ``async_fn(*args)`` as a guest of the Trio run on this thread.
    Call it from Trio code.  Returns at once."""
    return _start(async_fn, args, done_callback, loop_factory, debug)[1]


def _start(async_fn: Any, args: tuple[Any, ...],
           done_callback: Optional[Callable[["asyncio.Task[Any]"], object]],
           loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]],
           debug: Optional[bool]) -> tuple[TrioHost, GuestRun]:
    try:
        trio_host = TrioHost(_token())
    except BaseException:
        host.close_if_coroutine(async_fn)
        raise
    return trio_host, host.start(
        trio_host, async_fn, *args, done_callback=done_callback,
        loop_factory=loop_factory, debug=debug, mode="thread")


async def run(
    async_fn: Callable[..., Awaitable[T]] | Any,
    *args: Any,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
    debug: Optional[bool] = None,
) -> T:
    """Run ``async_fn(*args)`` (asyncio code) as a guest and return its
    result once the guest loop is torn down.  If the Trio task is
    cancelled (or Trio delivers Ctrl-C's KeyboardInterrupt to it), the
    guest's main task is cancelled and the teardown completes (shielded)
    before the exception goes on."""
    finished = trio.Event()
    box: list[asyncio.Task[Any]] = []

    def done(task: "asyncio.Task[Any]") -> None:
        box.append(task)
        finished.set()

    trio_host, guest = _start(async_fn, args, done, loop_factory, debug)
    try:
        await finished.wait()
    except BaseException:  # Cancelled, or Ctrl-C (Trio raises it here)
        guest.cancel()
        with trio.CancelScope(shield=True):
            await finished.wait()
        raise
    if trio_host.interrupt is not None:  # Ctrl-C in a busy tick
        raise trio_host.interrupt
    result: T = box[0].result()
    return result
