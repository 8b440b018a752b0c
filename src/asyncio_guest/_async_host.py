"""What the async-framework hosts (asyncio, Tornado, Trio) share.

Such a host is itself an event loop on the thread; the guest is started
from one of its tasks, and ``run`` awaits the guest's outcome there.  The
host modules only differ in how they post a callable to their own thread and
how a host task waits for an event.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any, Optional

from . import _run
from ._run import GuestRun

Post = Callable[[Callable[[], object]], object]


def host_owns_wakeup_fd() -> bool:
    """An asyncio host with signal handlers owns signal.set_wakeup_fd: the
    guest must not take it.  (Only the main thread has one.)"""
    if threading.current_thread() is not threading.main_thread():
        return False
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd != -1


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
            host_uses_wakeup_fd=host_owns_wakeup_fd(),
            debug=debug,
        )
    )
