"""The two ways the GTK host is woken: the C GLib waker (asyncio_guest._glib,
the default) and the PyGObject idle-source waker written in Python.

tests/test_gtk.py runs with the defaults (native waker, threadless mode) in
this process; the whole of it runs again in thread mode, with the native
waker and with the Python one, in child pytests
(``test_gtk_suite_in_thread_mode``), GTK 4 child included.  Threadless
mode has tests of its own at the end.  The
tests below check the native waker itself: it is the one in use, it wakes a
context blocked in poll() from another thread without the GIL, it stops
when closed, it shares PyGObject's GLib, and bad input is refused clearly.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import gi

gi.require_version("GLib", "2.0")
from gi.repository import GLib  # noqa: E402

from asyncio_guest import _core, _glib, gtk as guest_gtk  # noqa: E402

from guest_helpers import guest_threads, tids  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WATCHDOG = 20.0


def iterate_until(ctx: Any, cond: Any, timeout: float = WATCHDOG) -> None:
    """Iterate ``ctx`` (blocking) until cond() is true; a GLib timeout is the
    hang guard."""
    expired: list[bool] = []
    src = GLib.timeout_source_new(int(timeout * 1000))
    src.set_callback(lambda *a: expired.append(True) or False)
    src.attach(ctx)
    try:
        while not cond() and not expired:
            ctx.iteration(True)
    finally:
        src.destroy()
    assert not expired, "timed out"


def test_native_waker_is_built_and_is_the_default(loop_factory: Any) -> None:
    assert guest_gtk.native_waker_available()
    assert os.environ.get(guest_gtk.ENV_VAR) in (None, "", "auto", "native")
    seen: dict[str, Any] = {}

    async def main() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    def done(task: Any) -> None:
        seen["result"] = task.result()

    run = guest_gtk.start(main, done_callback=done, loop_factory=loop_factory)
    guest = run._runner.core  # the C Guest
    iterate_until(GLib.MainContext.default(), lambda: run.done)
    assert seen["result"] == "ok"
    # The backend thread posted through C: the Python poster never ran.
    assert guest.posts >= 1
    assert isinstance(run._runner.wake_object, _glib.GLibWaker)


def test_python_waker_when_asked(loop_factory: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    posts: list[int] = []
    post = guest_gtk.GtkHost.post

    def counting_post(self: Any, fn: Any) -> None:
        posts.append(threading.get_ident())
        post(self, fn)

    monkeypatch.setattr(guest_gtk.GtkHost, "post", counting_post)

    async def main() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    run = guest_gtk.start(main, done_callback=lambda t: seen.update(r=t.result()),
                          loop_factory=loop_factory, waker="python")
    assert not isinstance(run._runner.wake_object, _glib.GLibWaker)
    iterate_until(GLib.MainContext.default(), lambda: run.done)
    assert seen["r"] == "ok"
    # the backend thread posted through PyGObject
    assert posts and threading.get_ident() not in posts


def test_bad_waker_values_are_refused(loop_factory: Any) -> None:
    async def main() -> None:
        pass

    with pytest.raises(ValueError, match="waker must be"):
        guest_gtk.start(main, waker="fast")
    other = GLib.MainContext()
    with pytest.raises(RuntimeError, match="thread-default"):
        guest_gtk.start(main, context=other, waker="native")
    # auto with another context picks the Python waker and works
    seen: dict[str, Any] = {}
    run = guest_gtk.start(main, context=other, loop_factory=loop_factory,
                          done_callback=lambda t: seen.update(done=True))
    assert not isinstance(run._runner.wake_object, _glib.GLibWaker)  # Python waker
    iterate_until(other, lambda: run.done)
    assert seen == {"done": True}


def test_native_waker_on_a_pushed_thread_default_context(
        loop_factory: Any) -> None:
    ctx = GLib.MainContext()
    ctx.push_thread_default()
    try:
        seen: dict[str, Any] = {}

        async def main() -> int:
            await asyncio.sleep(0.02)
            return 7

        run = guest_gtk.start(main, context=ctx, waker="native",
                              loop_factory=loop_factory,
                              done_callback=lambda t: seen.update(r=t.result()))
        assert isinstance(run._runner.wake_object, _glib.GLibWaker)
        iterate_until(ctx, lambda: run.done)
        assert seen == {"r": 7}
    finally:
        ctx.pop_thread_default()


def test_glib_waker_wakes_a_blocked_context_from_another_thread() -> None:
    """The backend's post (g_source_set_ready_time from another thread)
    ends a blocking iteration.  Posted here from a Python thread through
    the same C function, via a Guest whose backend fd becomes readable."""
    import socket

    ctx = GLib.MainContext.default()
    fired: list[int] = []
    waker = _glib.GLibWaker(lambda: fired.append(threading.get_ident()))
    a, b = socket.socketpair()
    try:
        guest = _core.Guest.threaded(a.fileno(), waker)
        guest.arm(None)
        t = threading.Timer(0.05, lambda: b.send(b"x"))
        t.start()
        iterate_until(ctx, lambda: bool(fired))
        assert fired == [threading.get_ident()]  # on this (the host) thread
        assert guest.posts == 1
        t.join()
        guest.close()
    finally:
        waker.close()
        a.close()
        b.close()


def test_glib_waker_close_stops_dispatch_and_refuses_posts() -> None:
    ctx = GLib.MainContext.default()
    fired: list[str] = []
    waker = _glib.GLibWaker(lambda: fired.append("busy"))
    waker.post_soon()
    waker.close()
    waker.close()  # idempotent
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        ctx.iteration(False)
    assert fired == []
    with pytest.raises(RuntimeError, match="closed"):
        waker.post_soon()


def test_glib_waker_priorities() -> None:
    """post_soon uses busy_priority: GLib runs a ready source of a better
    priority first."""
    ctx = GLib.MainContext.default()
    order: list[str] = []
    waker = _glib.GLibWaker(lambda: order.append("busy"), GLib.PRIORITY_DEFAULT,
                            GLib.PRIORITY_LOW)
    try:
        GLib.idle_add(lambda: order.append("idle") and False,
                      priority=GLib.PRIORITY_DEFAULT_IDLE)
        waker.post_soon()
        iterate_until(ctx, lambda: len(order) == 2)
        assert order == ["idle", "busy"]
    finally:
        waker.close()


def test_glib_waker_callback_errors_do_not_reach_glib() -> None:
    ctx = GLib.MainContext.default()
    calls: list[int] = []
    unraisable: list[Any] = []

    def callback() -> None:
        calls.append(1)
        raise ValueError("boom")

    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    waker = _glib.GLibWaker(callback)
    try:
        waker.post_soon()
        iterate_until(ctx, lambda: bool(calls))
        waker.post_soon()  # still usable
        iterate_until(ctx, lambda: len(calls) == 2)
    finally:
        sys.unraisablehook = old
        waker.close()
    assert [type(u.exc_value) for u in unraisable] == [ValueError, ValueError]


def test_glib_waker_bad_arguments() -> None:
    with pytest.raises(TypeError, match="callable"):
        _glib.GLibWaker(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _glib.GLibWaker(lambda: None, "high")  # type: ignore[arg-type]


def test_one_glib_in_the_process() -> None:
    """_glib and PyGObject use the same libglib (two would be two sets of
    main contexts)."""
    from gi import _gi  # noqa: F401  (loads PyGObject's libglib)

    with open("/proc/self/maps") as f:
        paths = {os.path.realpath(line.split()[-1]) for line in f
                 if os.path.basename(line.split()[-1]).startswith(
                     "libglib-2.0.so")}
    assert len(paths) == 1, paths
    # the version _glib reports is the running library's, not its headers'
    import ctypes
    lib = ctypes.CDLL(paths.pop())
    assert _glib.GLIB_VERSION == tuple(
        ctypes.c_uint.in_dll(lib, f"glib_{part}_version").value
        for part in ("major", "minor", "micro"))


@pytest.mark.parametrize("mode, waker", [("thread", "native"),
                                         ("thread", "python")])
def test_gtk_suite_in_thread_mode(mode: str, waker: str) -> None:
    """All of tests/test_gtk.py (GTK 3 here, GTK 4 in its own child) in
    thread mode, with each waker (this process runs it threadless)."""
    env = dict(os.environ, ASYNCIO_GUEST_GLIB_WAKER=waker,
               ASYNCIO_GUEST_MODE=mode)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         os.path.join(HERE, "test_gtk.py")],
        env=env, capture_output=True, text=True, timeout=600)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, tail


# -- threadless mode ------------------------------------------------------------

def test_threadless_is_the_default_and_starts_no_thread(
        loop_factory: Any) -> None:
    assert os.environ.get(guest_gtk.MODE_ENV_VAR) in (None, "", "auto",
                                                      "threadless")
    before = tids()
    before_py = {t.native_id for t in threading.enumerate()}
    seen: dict[str, Any] = {}

    async def main() -> str:
        seen["threads"] = tids()
        seen["guest_threads"] = guest_threads()
        seen["py_threads"] = {t.native_id for t in threading.enumerate()}
        # real I/O and a timer, all watched by GLib's own poll()
        r, w = await asyncio.open_connection(*seen["addr"])
        w.write(b"ping\n")
        seen["echo"] = await r.readline()
        w.close()
        t0 = time.monotonic()
        await asyncio.sleep(0.05)
        seen["slept"] = time.monotonic() - t0
        return "ok"

    async def echo(r: Any, w: Any) -> None:
        w.write(await r.readline())
        await w.drain()
        w.close()

    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    seen["addr"] = srv.getsockname()

    def serve() -> None:
        c, _ = srv.accept()
        c.sendall(c.recv(100))
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        run = guest_gtk.start(main, loop_factory=loop_factory,
                              done_callback=lambda k: seen.update(r=k.result()))
        assert run._runner.threadless
        iterate_until(GLib.MainContext.default(), lambda: run.done)
    finally:
        t.join()
        srv.close()
    assert seen["r"] == "ok" and seen["echo"] == b"ping\n"
    # libuv keeps whole milliseconds: uvloop may end a sleep ~0.4 ms early
    assert seen["slept"] >= 0.048
    # no backend thread; the serving thread is the only new Python thread
    assert seen["guest_threads"] == set()
    assert seen["py_threads"] - before_py == {t.native_id}
    if "gi.repository.WebKit2" not in sys.modules:
        # and the only new thread at all (a page loaded by an earlier test
        # leaves JavaScriptCore a cleanup thread that comes and goes)
        assert seen["threads"] - before == {str(t.native_id)}


def test_threadless_stale_deadline_is_fixed_by_host_code(
        loop_factory: Any) -> None:
    """Host code (a GLib timeout) schedules guest work while the watcher
    waits for a far deadline: the wake hook makes the watcher fire now."""
    seen: dict[str, Any] = {}
    fut_box: list[Any] = []

    async def main() -> float:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fut_box.append(fut)
        t0 = time.monotonic()
        GLib.timeout_add(30, lambda: fut.set_result("from host") and False)
        seen["value"] = await asyncio.wait_for(fut, 3600)
        return time.monotonic() - t0

    run = guest_gtk.start(main, loop_factory=loop_factory, mode="threadless",
                          done_callback=lambda t: seen.update(r=t.result()))
    iterate_until(GLib.MainContext.default(), lambda: run.done, timeout=10)
    assert seen["value"] == "from host"
    assert seen["r"] < 5.0


def test_threadless_needs_the_native_waker() -> None:
    async def main() -> None:
        pass

    with pytest.raises(RuntimeError, match="threadless mode needs"):
        guest_gtk.start(main, waker="python", mode="threadless")
    with pytest.raises(ValueError, match="mode must be"):
        guest_gtk.start(main, mode="fast")
    with pytest.raises(ValueError, match="1 or 2"):
        _glib.GLibWaker(lambda: None, fds=[])
    with pytest.raises(ValueError, match="bad fd"):
        _glib.GLibWaker(lambda: None, fds=[-3])
    w = _glib.GLibWaker(lambda: None, fds=[0])
    try:
        assert w.threadless
        with pytest.raises(AttributeError):
            w._ag_waker  # noqa: B018
        assert "watcher" in repr(w._ag_watcher)
        with pytest.raises(TypeError, match="GLibWaker has no _ag_waker"):
            _core.Guest.threaded(0, w)
    finally:
        w.close()
