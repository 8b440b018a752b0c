"""A host adapter written from the public API only (asyncio_guest.host).

``MiniLoop`` stands for "your toolkit": a small select()-based event loop
with a thread-safe ``call_soon_threadsafe``, fd readers and one timer.
``MiniHost`` is the whole adapter (both modes); the docs' "Writing a host
adapter" page walks through it.  Run: python examples/custom_host.py
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import queue
import selectors
import socket
import time
from typing import Any, Callable, Optional, Sequence

from asyncio_guest import host


class MiniLoop:
    """The toolkit: callables from any thread, fd readers, timers."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self.timers: list[tuple[float, int, Callable[[], object]]] = []
        self.ids = itertools.count()
        self.running = False
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self.sel.register(self._r, selectors.EVENT_READ, lambda: self._r.recv(512))

    def call_soon_threadsafe(self, fn: Callable[[], object]) -> None:
        self.calls.put(fn)
        self._w.send(b"x")

    def call_later(self, delay: float, fn: Callable[[], object]) -> list[Any]:
        entry = [time.monotonic() + delay, next(self.ids), fn]
        heapq.heappush(self.timers, entry)  # type: ignore[misc]
        return entry  # cancel: entry[2] = None

    def run_once(self) -> None:
        timeout = max(0.0, self.timers[0][0] - time.monotonic()) if self.timers else None
        if not self.calls.empty():
            timeout = 0.0
        for key, _ in self.sel.select(timeout):
            key.data()
        while self.timers and self.timers[0][0] <= time.monotonic():
            fn = heapq.heappop(self.timers)[2]
            if fn is not None:
                fn()
        for _ in range(self.calls.qsize()):  # not those queued meanwhile
            self.calls.get()()

    def run(self) -> None:
        self.running = True
        while self.running:
            self.run_once()

    def close(self) -> None:
        self.sel.close()
        self._r.close()
        self._w.close()


class MiniWatcher(host.PyWatcher):
    """Threadless mode: the toolkit's own select() watches the guest."""

    def __init__(self, loop: MiniLoop, tick: host.Tick, fds: Sequence[int]) -> None:
        super().__init__(tick, fds)
        self.loop, self.watching = loop, False
        self.timer: Optional[list[Any]] = None

    def fire(self) -> None:
        if self.tick is not None:
            self.tick()

    def watch(self, timeout: Optional[float]) -> None:
        if not self.watching:
            self.watching = True
            for fd in self.fds:
                self.loop.sel.register(fd, selectors.EVENT_READ, self.fire)
        self._stop_timer()
        if timeout is not None:
            self.timer = self.loop.call_later(timeout, self.fire)

    def fire_soon(self) -> None:
        self._stop_timer()
        self.timer = self.loop.call_later(0, self.fire)

    def unwatch(self) -> None:
        if self.watching:
            self.watching = False
            for fd in self.fds:
                self.loop.sel.unregister(fd)
        self._stop_timer()

    def post_soon(self) -> None:
        self.loop.call_soon_threadsafe(self.fire)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer[2], self.timer = None, None


class MiniHost(host.Host):
    """The adapter: how to wake, watch and run the toolkit's loop."""

    name = "MiniHost"
    default_mode = "threadless"

    def __init__(self, loop: MiniLoop) -> None:
        super().__init__()
        self.loop = loop

    def post(self, fn: Callable[[], object]) -> None:  # thread mode
        self.loop.call_soon_threadsafe(fn)

    def watcher(self, tick: host.Tick, fds: Sequence[int]) -> MiniWatcher:
        return MiniWatcher(self.loop, tick, fds)  # threadless mode

    def run_loop(self, until: Callable[[], bool]) -> None:  # for host.run()
        self.loop.run()

    def quit(self) -> None:
        self.loop.running = False

    def pump(self) -> None:
        self.loop.run_once()


async def main(name: str) -> str:
    await asyncio.sleep(0.05)  # a timer
    await asyncio.to_thread(time.sleep, 0.01)  # a thread's call_soon_threadsafe
    return f"hello from {name}, on {type(asyncio.get_running_loop()).__name__}"


if __name__ == "__main__":
    for mode in ("thread", "threadless"):
        toolkit = MiniLoop()
        print(mode, "->", host.run(MiniHost(toolkit), main, "asyncio", mode=mode))
        toolkit.close()
