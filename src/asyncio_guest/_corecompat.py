"""TEMPORARY (until the C split lands): the new _core wake API over the old one."""
from __future__ import annotations
from typing import Any
from . import _core as _c


class CallbackWaker:
    def __init__(self, post: Any, tick: Any) -> None:
        if not callable(post) or not callable(tick):
            raise TypeError("CallbackWaker: post and tick must be callable")
        self.post, self.tick = post, tick


class _Inner:
    def __init__(self, watch: Any, fire_soon: Any, unwatch: Any) -> None:
        self.watch, self.fire_soon, self.unwatch = watch, fire_soon, unwatch


class CallbackWatcher:
    def __init__(self, watch: Any, fire_soon: Any, unwatch: Any) -> None:
        self._inner = _Inner(watch, fire_soon, unwatch)

    @property
    def _ag_watcher(self) -> Any:
        return self._inner


class Guest:
    @staticmethod
    def threaded(fd: int, waker: Any, *, signal_fd: int = -1) -> Any:
        if isinstance(waker, CallbackWaker):
            return _c.Guest(fd, waker.post, waker.tick, signal_fd=signal_fd)
        return _c.Guest(fd, waker, signal_fd=signal_fd)

    @staticmethod
    def threadless(fd: int, watcher: Any) -> Any:
        inner = getattr(watcher, "_ag_watcher", None) if not isinstance(
            watcher, _c.TclWaker) else None
        if isinstance(inner, _Inner):
            return _c.Guest(fd, inner)
        return _c.Guest(fd, watcher)


class _NS:
    def __getattr__(self, name: str) -> Any:
        return globals().get(name) or getattr(_c, name)


core: Any = _NS()
