"""Type stubs for the C core (src/asyncio_guest/_core/: module.c and one
type-*.c per type)."""

from typing import Any, Callable, Optional, Sequence, overload

TCL_VERSION: str

def monotonic_ns() -> int: ...

class TclWaker:
    """Native Tk waker: the backend thread queues a Tcl event to the
    interpreter's thread; its proc evaluates ``command``.  Made with ``fds``:
    a threadless watcher (Tcl file handlers and a timer)."""

    def __init__(self, interpaddr: int, command: str, *,
                 fds: Optional[Sequence[int]] = ...) -> None: ...
    @property
    def threadless(self) -> bool: ...
    @property
    def _ag_waker(self) -> Any: ...  # thread mode; AttributeError otherwise
    @property
    def _ag_watcher(self) -> Any: ...  # made with fds; AttributeError otherwise
    def post_soon(self) -> None: ...
    def close(self) -> None: ...

class CallbackWaker:
    """For each wake-up, the backend thread takes the GIL and calls
    ``post(tick)`` (``run_sync_soon_threadsafe``)."""

    def __init__(self, post: Callable[[Callable[[], object]], object],
                 tick: Callable[[], object]) -> None: ...
    @property
    def _ag_waker(self) -> Any: ...

class CallbackWatcher:
    """A threadless watcher of three callables, called on the host thread:
    ``watch(timeout)``, ``fire_soon()``, ``unwatch()``."""

    def __init__(self, watch: Callable[[Optional[float]], object],
                 fire_soon: Callable[[], object],
                 unwatch: Callable[[], object]) -> None: ...
    @property
    def _ag_watcher(self) -> Any: ...

class _Threadless:
    # Guest.threadless(backend_fd, watcher) on the class; a bool on a Guest.
    @overload
    def __get__(self, obj: None, owner: Any) -> Callable[[int, Any], "Guest"]: ...
    @overload
    def __get__(self, obj: "Guest", owner: Any) -> bool: ...

class Guest:
    """A backend thread (or the host's own watcher) in lockstep with the
    host.  ``Guest(...)`` raises TypeError: use the two constructors."""

    @classmethod
    def threaded(cls, backend_fd: int, waker: Any, *,
                 signal_fd: int = ...) -> "Guest": ...
    # waker: anything with an _ag_waker capsule (CallbackWaker, TclWaker,
    # _glib.GLibWaker, _win32.Win32Waker); watcher: anything with an
    # _ag_watcher capsule (CallbackWatcher, TclWaker or GLibWaker with fds).
    threadless: _Threadless
    def arm(self, timeout: Optional[float]) -> None: ...
    def begin_tick(self) -> bool: ...
    def wakeup(self) -> None: ...
    def readable(self) -> bool: ...
    def close(self) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def posts(self) -> int: ...
    @property
    def polls(self) -> int: ...

class WakeHook:
    """Calls ``func``, first waking ``guest``'s backend if it is polling."""

    __wrapped__: Callable[..., Any]
    def __init__(self, func: Callable[..., Any], guest: Guest) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

class UVLoopView:
    """Reads a uvloop loop's libuv state (ready work, timers) from C."""

    def __init__(self, loop: Any, backend_fd: int) -> None: ...
    def timeout(self) -> Optional[float]: ...
    def next_timer(self) -> Optional[int]: ...
    def time_ms(self) -> int: ...
