"""What the async-framework hosts (asyncio, Tornado, Trio) share.

Such a host is itself an event loop on the thread; the guest is started
from one of its tasks, and ``run`` awaits the guest's outcome there.  The
host modules only differ in how they post a callable to their own thread and
how a host task waits for an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Optional

from . import _run
from ._run import GuestRun

Post = Callable[[Callable[[], object]], object]


def start(
    async_fn: Any,
    args: tuple[Any, ...],
    *,
    post: Post,
    post_soon: Optional[Post],
    done_callback: Optional[Callable[["asyncio.Task[Any]"], object]],
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]],
    debug: Optional[bool],
) -> GuestRun:
    return GuestRun(
        _run._Runner(
            async_fn,
            args,
            post=post,
            post_soon=post_soon,
            done_callback=done_callback or _run.report_main_task,
            loop_factory=loop_factory,
            host_uses_wakeup_fd=_run.wakeup_fd_in_use(),
            debug=debug,
        )
    )


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
        await asyncio.shield(done)  # the teardown, whatever happens
        raise
    return task.result()
