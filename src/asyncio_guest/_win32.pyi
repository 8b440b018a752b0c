"""Type stubs for the native Win32 waker (src/asyncio_guest/_core/win32module.c;
built on Windows only)."""

from typing import Any, Callable

class Win32Waker:
    """Native Win32 waker: a hidden message-only window on this thread; the
    backend thread posts a message to it (no GIL), and the thread's message
    loop then calls ``callback()`` here."""

    def __init__(self, callback: Callable[[], object]) -> None: ...
    def post_soon(self) -> None: ...
    def close(self) -> None: ...
    @property
    def hwnd(self) -> int: ...
    @property
    def _ag_waker(self) -> Any: ...
