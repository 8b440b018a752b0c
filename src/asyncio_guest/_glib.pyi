"""Type stubs for the native GLib waker (src/asyncio_guest/_core/glibmodule.c,
on glue.c's native waker skeleton)."""

from typing import Any, Callable, Optional, Sequence

GLIB_VERSION: tuple[int, int, int]

class GLibWaker:
    """Native GLib waker on this thread's thread-default GMainContext: the
    backend thread makes a persistent GSource ready (no GIL); its dispatch
    calls ``callback()`` on the context's thread."""

    def __init__(
        self,
        callback: Callable[[], object],
        priority: int = ...,
        busy_priority: int = ...,
        *,
        fds: Optional[Sequence[int]] = ...,
    ) -> None: ...
    def post_soon(self) -> None: ...
    def close(self) -> None: ...
    @property
    def threadless(self) -> bool: ...
    @property
    def _ag_waker(self) -> Any: ...  # thread mode
    @property
    def _ag_watcher(self) -> Any: ...  # made with fds
    @property
    def context_address(self) -> int: ...
