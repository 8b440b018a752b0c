"""asyncio_guest._core's own API, directly: the one wake seam
(Guest.threaded / Guest.threadless with a capsule from ``_ag_waker`` /
``_ag_watcher``), CallbackWaker, CallbackWatcher, and how core errors become
Python exceptions (glue.c's ag_py_error).

The hosts' suites drive the same objects through start_guest_run; here each
call is checked on its own, on a socket pair standing in for the loop's
backend fd (an epoll fd is readable when a pipe in it is; for the poller any
readable fd will do).
"""

from __future__ import annotations

import errno
import gc
import socket
import sys
import threading
import time
from typing import Any, Iterator

import pytest

from asyncio_guest import _core
from guest_helpers import guest_threads, wait_for


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def noop(*args: Any) -> None:
    pass


# -- the seam's refusals ---------------------------------------------------

def test_guest_cannot_be_called() -> None:
    with pytest.raises(TypeError, match=r"Guest\.threaded.*Guest\.threadless"):
        _core.Guest(0, noop, noop)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Guest.threaded"):
        _core.Guest()  # type: ignore[call-arg]


class NoCapsule:
    pass


class FakeCapsule:
    _ag_waker = "not a capsule"
    _ag_watcher = 42


def test_threaded_needs_an_ag_waker_and_names_the_type(pair: Any) -> None:
    a, _ = pair
    with pytest.raises(TypeError, match=r"Guest.threaded: NoCapsule has no "
                                        r"_ag_waker"):
        _core.Guest.threaded(a.fileno(), NoCapsule())
    with pytest.raises(TypeError, match="function has no _ag_waker"):
        _core.Guest.threaded(a.fileno(), noop)  # the old post= callable
    with pytest.raises(TypeError, match=r"FakeCapsule\._ag_waker is not an "
                                        r"asyncio_guest capsule"):
        _core.Guest.threaded(a.fileno(), FakeCapsule())
    # a watcher is not a waker, and the other way round
    watcher = _core.CallbackWatcher(noop, noop, noop)
    with pytest.raises(TypeError, match="CallbackWatcher has no _ag_waker"):
        _core.Guest.threaded(a.fileno(), watcher)
    waker = _core.CallbackWaker(noop, noop)
    with pytest.raises(TypeError, match="CallbackWaker has no _ag_watcher"):
        _core.Guest.threadless(a.fileno(), waker)
    with pytest.raises(TypeError, match=r"FakeCapsule\._ag_watcher is not"):
        _core.Guest.threadless(a.fileno(), FakeCapsule())
    with pytest.raises(ValueError, match="backend_fd must be >= 0"):
        _core.Guest.threaded(-1, waker)
    with pytest.raises(TypeError):
        _core.Guest.threadless(a.fileno(), watcher, signal_fd=3)  # type: ignore[call-arg]


def test_callback_types_need_callables() -> None:
    with pytest.raises(TypeError, match="post and tick must be callable"):
        _core.CallbackWaker(42, noop)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not function and NoneType"):
        _core.CallbackWaker(noop, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fire_soon must be callable"):
        _core.CallbackWatcher(noop, "x", noop)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unwatch must be callable"):
        _core.CallbackWatcher(noop, noop, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _core.CallbackWaker(noop)  # type: ignore[call-arg]


def test_capsules_are_named_and_fresh() -> None:
    waker = _core.CallbackWaker(noop, noop)
    cap = waker._ag_waker
    assert type(cap).__name__ == "PyCapsule"
    assert "asyncio_guest._core.waker" in repr(cap)
    assert waker._ag_waker is not cap
    watcher = _core.CallbackWatcher(noop, noop, noop)
    assert "asyncio_guest._core.watcher" in repr(watcher._ag_watcher)


# -- CallbackWaker: post(tick) from the backend thread ----------------------

def test_threaded_callback_waker_posts_tick_from_the_backend_thread(
        pair: Any) -> None:
    a, b = pair
    host = threading.get_ident()
    posted: list[tuple[int, Any]] = []

    def tick() -> None:
        pass

    def post(fn: Any) -> None:
        posted.append((threading.get_ident(), fn))

    before = guest_threads()
    guest = _core.Guest.threaded(a.fileno(), _core.CallbackWaker(post, tick))
    try:
        assert guest.threadless is False and guest.state == "idle"
        assert _core.Guest.threadless is not guest.threadless  # the classmethod
        assert wait_for(lambda: len(guest_threads() - before) == 1)
        assert guest.begin_tick()  # IDLE: a tick the host posted itself
        guest.arm(None)
        assert wait_for(lambda: guest.state == "polling")
        assert posted == []
        b.send(b"x")
        assert wait_for(lambda: bool(posted))
        (thread, fn), = posted
        assert thread != host and fn is tick
        assert guest.posts == 1 and guest.state == "posted"
        assert guest.readable()
        assert guest.begin_tick()
        assert guest.state == "idle"
    finally:
        guest.close()
    assert guest.state == "closed"
    assert wait_for(lambda: guest_threads() == before)


def test_the_guest_keeps_its_waker_alive(pair: Any) -> None:
    """The capsule owns the waker: dropping every other reference to it
    changes nothing."""
    a, b = pair
    posted: list[Any] = []
    guest = _core.Guest.threaded(
        a.fileno(), _core.CallbackWaker(posted.append, noop))
    gc.collect()
    try:
        guest.arm(None)
        b.send(b"x")
        assert wait_for(lambda: bool(posted))
        assert posted == [noop]
    finally:
        guest.close()


def test_raising_post_is_unraisable_and_retried(pair: Any) -> None:
    a, b = pair
    calls: list[float] = []
    unraisable: list[Any] = []

    def post(fn: Any) -> None:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ValueError("host is down")

    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    guest = _core.Guest.threaded(a.fileno(), _core.CallbackWaker(post, noop))
    try:
        guest.arm(0.0)
        assert wait_for(lambda: len(calls) == 3)
        time.sleep(0.05)
        assert len(calls) == 3  # delivered once, then no more
        assert calls[2] - calls[0] >= 0.025  # 10 ms, then 20 ms
        assert guest.posts == 1
    finally:
        guest.close()
        sys.unraisablehook = old
    assert [type(u.exc_value) for u in unraisable] == [ValueError, ValueError]
    assert unraisable[0].object is post


@pytest.mark.parametrize("first", ["box", "waker"])
def test_a_cycle_through_the_tick_is_collected(pair: Any, first: str) -> None:
    """The usual shape: the tick refers back to the Guest.  The GC sees the
    waker through the Guest's capsule, closes the backend thread first and
    then drops the waker, whatever it clears first ("waker": the GC meets
    the waker first, while its thread runs, and must leave it be)."""
    a, _ = pair
    before = guest_threads()
    gc.disable()  # not before the test collects
    try:
        for _ in range(20):
            if first == "box":
                box: Any = []  # box -> guest -> capsule -> waker -> box
                guest = _core.Guest.threaded(
                    a.fileno(), _core.CallbackWaker(noop, box.append))
                box.append(guest)
            else:
                # An empty dict is tracked only once it holds the guest, so
                # the waker comes first in the GC's list.
                box = {}
                waker = _core.CallbackWaker(noop, box.get)
                guest = _core.Guest.threaded(a.fileno(), waker)
                box["guest"] = guest
                del waker
            guest.arm(None)
        del box, guest
        assert wait_for(lambda: len(guest_threads() - before) == 20)
    finally:
        gc.enable()
    gc.collect()
    assert wait_for(lambda: guest_threads() == before)


# -- CallbackWatcher: threadless --------------------------------------------

class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail: set[str] = set()

    def _record(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        if name in self.fail:
            raise ValueError(name)

    def watch(self, timeout: Any) -> None:
        self._record("watch", timeout)

    def fire_soon(self) -> None:
        self._record("fire_soon")

    def unwatch(self) -> None:
        self._record("unwatch")

    def watcher(self) -> Any:
        return _core.CallbackWatcher(self.watch, self.fire_soon, self.unwatch)


def test_threadless_callback_watcher(pair: Any) -> None:
    a, _ = pair
    rec = Recorder()
    before = guest_threads()
    guest = _core.Guest.threadless(a.fileno(), rec.watcher())
    try:
        assert guest.threadless is True
        assert guest_threads() == before  # no thread
        guest.arm(None)
        assert rec.calls == [("watch", None)] and guest.state == "armed"
        guest.wakeup()  # a stale deadline: fire now
        guest.wakeup()  # once
        assert rec.calls[1:] == [("fire_soon", None)]
        assert guest.state == "posted"
        assert guest.begin_tick()
        assert rec.calls[2:] == [("unwatch", None)]
        assert guest.state == "idle" and guest.posts == 1
        guest.arm(0.5)
        name, timeout = rec.calls[3]
        assert name == "watch" and 0.4 < timeout <= 0.5
        assert guest.polls == 2
    finally:
        guest.close()  # armed: unwatch
    assert rec.calls[4:] == [("unwatch", None)]
    assert guest.state == "closed"


def test_watcher_errors(pair: Any) -> None:
    a, _ = pair
    rec = Recorder()
    guest = _core.Guest.threadless(a.fileno(), rec.watcher())
    unraisable: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        rec.fail = {"watch"}
        with pytest.raises(ValueError, match="watch"):
            guest.arm(None)
        assert guest.state == "idle"  # a failed watch does not arm
        rec.fail = {"fire_soon"}
        guest.arm(None)
        with pytest.raises(ValueError, match="fire_soon"):
            guest.wakeup()
        rec.fail = {"unwatch"}
        assert guest.begin_tick()  # raised by unwatch: reported, not raised
        assert [type(u.exc_value) for u in unraisable] == [ValueError]
    finally:
        sys.unraisablehook = old
        guest.close()


# -- errors: the core's codes and real errno values --------------------------

def test_closed_guest_and_lockstep_messages(pair: Any) -> None:
    a, _ = pair
    guest = _core.Guest.threaded(a.fileno(), _core.CallbackWaker(noop, noop))
    guest.arm(None)
    assert wait_for(lambda: guest.state == "polling")
    with pytest.raises(RuntimeError, match=r"^Guest.arm: the backend thread "
                                           r"is polling.*lockstep violated"):
        guest.arm(None)
    assert guest.begin_tick() is False  # not this tick's turn
    guest.close()
    guest.close()  # idempotent
    with pytest.raises(RuntimeError, match=r"^Guest.arm: the guest is closed$"):
        guest.arm(None)
    assert guest.begin_tick() is False  # closed: skip the tick
    guest.wakeup()  # nothing to wake


def test_os_errors_stay_os_errors() -> None:
    """A real errno is an OSError with that errno (the core's own codes lie
    elsewhere: EBADF no longer reads as "the guest is closed")."""
    with pytest.raises(OSError) as info:
        _core.Guest.threaded(1 << 40, _core.CallbackWaker(noop, noop))
    assert info.value.errno == errno.EBADF
    assert not isinstance(info.value, RuntimeError)
