"""Type stubs for the native GLib waker (src/asyncio_guest/_core/glibmodule.c)."""

from typing import Callable, Optional, Sequence

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
    def context_address(self) -> int: ...
