"""pywebview's ``js_api`` with ``async def`` methods, run on a guest loop.

`pywebview <https://pywebview.flowrl.com>`_ calls each ``js_api`` method in
a new thread and sends back ``json.dumps`` of what it returns, so an
``async def`` method gives the page an error ("Object of type coroutine is
not JSON serializable").  This adapter keeps pywebview's API and its GTK
backend (Linux) and adds an asyncio guest loop on pywebview's GTK main
loop::

    import webview                      # pywebview
    from asyncio_guest import pywebview as guest_pywebview

    class Api:
        async def fetch(self, url):     # runs on the guest loop
            ...
        def version(self):              # plain methods: as before
            return "1.0"

    webview.create_window("App", "index.html",
                          js_api=guest_pywebview.api(Api()))
    guest_pywebview.start(main)         # instead of webview.start()

In the page, as with any pywebview API: ``await
pywebview.api.fetch(url)``.  Each call still arrives on a pywebview thread;
the adapter hands the coroutine to the guest loop and blocks that thread
(not the GUI) until it is done, so many calls run concurrently on the one
loop, and their results come back in any order.  An exception rejects the
page's promise with pywebview's error object (``name`` is the exception's
type name, ``message`` its text).  When a window closes, or loads another
page, the calls its ``js_api`` started are cancelled (the page sees a
rejection with ``name`` ``"CancelledError"`` where it still exists).

What pywebview's design leaves out, compared with
:mod:`asyncio_guest.webview`:

* Only the GTK backend (``gui="gtk"``): it is the one whose loop our GTK
  host can join.  Qt and the others are refused with ValueError.
* pywebview's window methods that wait for the GUI (``evaluate_js``,
  ``create_file_dialog``, ``load_url`` before the window is shown...)
  block their caller until the GUI thread answers.  Called on the GUI
  thread -- that is, from a coroutine or a GTK handler -- they never return.
  From a coroutine, await :func:`call` instead: ``await
  guest_pywebview.call(window.evaluate_js, "1 + 1")`` runs it in a worker
  thread.
* A call costs a thread (pywebview's) per call in flight, and pywebview's
  own JSON round trip; reloads cancel calls when the new page has loaded
  (pywebview's ``before_load``), not when it starts.
* Origins: pywebview gives ``pywebview.api`` to every page a window
  shows, whatever its origin, and does not say which page or frame
  called.  The adapter checks, before an async method runs, that the
  windows using the api show a page of their own origin or an allowed
  one (``api(obj, allowed_origins=[...])``), so a page the window
  navigated to cannot run them; a foreign iframe inside the app's page
  cannot be told from the page (pywebview's own bridge answers it), and
  plain methods are not checked (pywebview runs them itself).
  :mod:`asyncio_guest.webview` refuses both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
import time
import types
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Optional, TypeVar

from . import gtk as _guest_gtk
from .host import GuestRun
from .webview import _rpc
from .webview._origins import OriginPolicy, origin_of
from .webview._page import LogOnce

__all__ = ["api", "function", "start", "call", "running_loop"]

logger = logging.getLogger("asyncio_guest.pywebview")

_THREADS_GRACE = 5.0  # seconds start() waits for pywebview's call threads

T = TypeVar("T")

_lock = threading.Lock()
_running = False  # start() is running
_loop: Optional[asyncio.AbstractEventLoop] = None  # its guest loop
# pywebview's threads that ran our calls (weak: a finished one goes away)
_call_threads: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()


def _pywebview() -> Any:
    try:
        import webview  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "asyncio_guest.pywebview needs pywebview: pip install pywebview"
        ) from exc
    return webview


def running_loop() -> asyncio.AbstractEventLoop:
    """The guest loop of the running :func:`start` (RuntimeError if none)."""
    loop = _loop
    if loop is None or loop.is_closed():
        raise RuntimeError(
            "asyncio_guest.pywebview.start() is not running: async js_api "
            "methods run on its guest loop")
    return loop


class _Calls:
    """The calls in flight that one api object or function started, and
    the origins whose pages may make them."""

    def __init__(self, allowed: OriginPolicy = OriginPolicy()) -> None:
        self.pending: set[concurrent.futures.Future[Any]] = set()
        self.lock = threading.Lock()
        self.windows: set[int] = set()
        self.allowed = allowed
        self.refuse = LogOnce(logger, "pywebview")

    def check_origin(self, owner: object, name: str) -> None:
        """Refuse the call (PermissionError, which pywebview hands to the
        page) unless every window using ``owner`` shows a page of its own
        origin or an allowed one.  (pywebview does not say which window
        called; a window showing another page may be the caller.)"""
        for w in list(_pywebview().windows):
            if not (w._js_api is owner or owner in w._functions.values()):
                continue
            url = w.get_current_url()  # None: an html page (about:blank)
            if url is not None and not (
                    self.allowed.allows(url) or _home(w).allows(url)):
                self.refuse(url, f"{name}() refused: called while {url} "
                            "(not a trusted origin) is shown")
                raise PermissionError(
                    f"{name}(): refused: this page's origin is not trusted")

    def cancel_all(self, *_: Any) -> None:
        with self.lock:
            pending = list(self.pending)
        for cf in pending:
            cf.cancel()  # thread-safe; cancels the task on the loop

    def watch(self, owner: object) -> None:
        """Cancel our calls when a window using ``owner`` closes or loads
        another page (looked up at the first call: the window may be
        created after the api object)."""
        for w in list(_pywebview().windows):
            if w._js_api is owner or owner in w._functions.values():
                with self.lock:
                    if id(w) in self.windows:
                        continue
                    self.windows.add(id(w))
                w.events.closing += self.cancel_all
                w.events.before_load += self.cancel_all


def _home(w: Any) -> OriginPolicy:
    """A pywebview window's own origins: of the URL it was created with or
    loaded (``real_url``), and of the base its html pages get (pywebview's
    application folder)."""
    urls = [w.real_url]
    try:
        from webview.util import base_uri  # type: ignore[import-not-found, unused-ignore]
        urls.append(base_uri())
    except Exception:
        pass
    return OriginPolicy(frozenset(
        o for o in map(origin_of, filter(None, urls)) if o is not None))


def _blocking(fn: Callable[..., Awaitable[Any]], calls: _Calls,
              owner: Callable[[], object]) -> Callable[..., Any]:
    """A plain function for pywebview's call thread: runs ``fn`` on the
    guest loop and waits for its result."""
    sig = inspect.signature(fn)
    name = getattr(fn, "__name__", "call")

    def call(*args: Any, **kwargs: Any) -> Any:
        calls.check_origin(owner(), name)
        sig.bind(*args, **kwargs)  # wrong arity: TypeError before running
        loop = running_loop()
        calls.watch(owner())

        if _rpc.args_too_deep(args) or _rpc.args_too_deep(kwargs):
            raise _rpc.too_deep_error(f"{name}(): the arguments are")

        async def run() -> Any:
            result = await fn(*args, **kwargs)
            if _rpc.too_deep(result):
                raise _rpc.too_deep_error(f"{name}() returned a value")
            return result

        cf = asyncio.run_coroutine_threadsafe(run(), loop)
        with calls.lock:
            calls.pending.add(cf)
        with _lock:
            _call_threads.add(threading.current_thread())
        try:
            return cf.result()
        except concurrent.futures.CancelledError:
            # an Exception (asyncio's is a BaseException, which pywebview's
            # call thread would not catch: the page's promise would hang)
            raise concurrent.futures.CancelledError(
                f"{name}() was cancelled: its "
                f"page was closed or reloaded") from None
        finally:
            with calls.lock:
                calls.pending.discard(cf)

    _copy_names(call, fn)
    call.__signature__ = sig  # type: ignore[attr-defined]
    return call


def _copy_names(wrapper: Any, fn: Any) -> None:
    # not functools.wraps: its __wrapped__ would lead inspect to fn's
    # signature, which pywebview must not see for bound methods
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(fn, attr))
        except AttributeError:
            pass


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


def function(fn: Callable[..., Awaitable[Any]], *,
             allowed_origins: Iterable[str] = ()) -> Callable[..., Any]:
    """Wrap an ``async def`` function for pywebview's ``window.expose()``:
    ``window.expose(guest_pywebview.function(fetch))``.  Pages of the
    window's own origin (its URL, or its html) and of ``allowed_origins``
    may call it; any other page's call is refused (PermissionError)
    before ``fn`` runs."""
    if not callable(fn):
        raise TypeError(f"function() needs an async function, not "
                        f"{type(fn).__name__}")
    box: list[Any] = []
    wrapped = _blocking(fn, _Calls(OriginPolicy.of(allowed_origins)),
                        lambda: box[0])
    box.append(wrapped)
    return wrapped


def api(obj: object, *, allowed_origins: Iterable[str] = ()) -> object:
    """A ``js_api`` object for pywebview: ``obj``'s ``async def`` methods
    run on the guest loop, its other public attributes are ``obj``'s own
    (plain methods still run in pywebview's threads; nested objects are
    wrapped the same way).  Pass the result to ``webview.create_window(...,
    js_api=...)``.

    The async methods serve the pages of the window's own origin (the URL
    it was created with or loaded by ``load_url``, or its html) and of
    ``allowed_origins``; a call made while another page is shown is
    refused (PermissionError, the page's promise rejects) before the
    method runs, and logged once.  Plain methods are pywebview's own: it
    checks nothing."""
    if obj is None or isinstance(obj, (str, bytes, int, float, bool, type,
                                       types.FunctionType)):
        raise TypeError(f"api() needs an object with methods, not "
                        f"{type(obj).__name__}")
    return _wrap(obj, {}, OriginPolicy.of(allowed_origins))


class _ApiProxy:
    """What :func:`api` returns: ``obj``'s public attributes, with its
    async methods turned into blocking ones.  (A Python class: pywebview
    only looks into nested objects that have a ``__module__``.)"""

    def __init__(self, obj: object) -> None:
        self.__obj = obj

    def __repr__(self) -> str:
        return f"<asyncio_guest.pywebview.api({self.__obj!r})>"


def _wrap(obj: object, seen: dict[int, object], allowed: OriginPolicy,
          root: Optional[object] = None) -> object:
    """The proxy of ``obj``; ``root`` is the proxy pywebview holds as the
    window's js_api (nested objects' calls are cancelled with its window)."""
    if id(obj) in seen:
        return seen[id(obj)]
    calls = _Calls(allowed)
    proxy = _ApiProxy(obj)
    root_proxy = proxy if root is None else root
    seen[id(obj)] = proxy
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            attr = getattr(obj, name)
        except Exception:
            continue
        if _is_async(attr):
            blocking = _blocking(attr, calls, lambda: root_proxy)
            # pywebview exposes methods and functions and reads their
            # parameters minus the first: make a bound method
            params = [inspect.Parameter(
                "self", inspect.Parameter.POSITIONAL_ONLY)]
            params += list(inspect.signature(attr).parameters.values())

            def method(self: Any, *args: Any, _f: Any = blocking,
                       **kwargs: Any) -> Any:
                return _f(*args, **kwargs)

            _copy_names(method, blocking)
            method.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                params)
            setattr(proxy, name, types.MethodType(method, proxy))
        elif (not callable(attr) and hasattr(attr, "__module__")
              and not isinstance(attr, (str, bytes, int, float, bool,
                                        list, tuple, dict, set))):
            setattr(proxy, name, _wrap(attr, seen, allowed, root_proxy))
        else:
            setattr(proxy, name, attr)
    return proxy


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``await call(window.evaluate_js, code)``: run a pywebview function
    that waits for the GUI thread in a worker thread, so that a coroutine
    (which runs on the GUI thread) can wait for it without a deadlock."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def start(main: Optional[Callable[..., Awaitable[T]]] = None, *args: Any,
          loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
          debug: Optional[bool] = None, mode: Optional[str] = None,
          **start_kwargs: Any) -> Optional[T]:
    """``webview.start(gui="gtk", **start_kwargs)`` with a guest asyncio
    loop; returns when pywebview's loop ends (the last window closed).

    ``main(*args)``, if given, runs on the guest loop as soon as the GUI
    loop runs; its result is returned.  If it raises, the windows are
    closed and the exception propagates.  The async ``js_api`` methods run
    on the loop until the last window closes; then the calls still running
    are cancelled and the loop is torn down (as ``asyncio.run`` does).

    ``loop_factory`` (e.g. ``uvloop.new_event_loop``), ``debug`` and
    ``mode`` are :func:`asyncio_guest.gtk.start`'s.
    """
    global _loop, _running
    gui = start_kwargs.pop("gui", None)
    if gui not in (None, "gtk"):
        raise ValueError(
            f"asyncio_guest.pywebview supports pywebview's GTK backend only, "
            f"not gui={gui!r}")
    if main is not None and not callable(main):
        raise TypeError(f"start() needs an async function, not "
                        f"{type(main).__name__}")
    webview = _pywebview()
    if not webview.windows:
        raise RuntimeError("create a window (webview.create_window) before "
                           "start(), as with webview.start()")
    with _lock:
        if _running:
            raise RuntimeError("asyncio_guest.pywebview.start() is already "
                               "running")
        _running = True
    outcome: dict[str, Any] = {}
    stop: list[asyncio.Future[None]] = []

    async def guest() -> Optional[T]:
        global _loop
        _loop = asyncio.get_running_loop()
        ended = _loop.create_future()
        stop.append(ended)
        result = None
        try:
            if main is not None:
                result = await main(*args)
        except BaseException:
            for w in list(webview.windows):
                threading.Thread(target=w.destroy, daemon=True).start()
            raise
        outcome["main_returned"] = True
        await ended  # until the GUI loop ends
        return result

    def done(task: asyncio.Task[Any]) -> None:
        outcome["task"] = task

    run: Optional[GuestRun] = None
    try:
        run = _guest_gtk.start(guest, done_callback=done,
                               loop_factory=loop_factory, debug=debug,
                               mode=mode)
        webview.start(gui="gtk", **start_kwargs)
    finally:
        try:
            if run is not None:
                outcome["closed"] = _finish(
                    run, stop[0] if outcome.get("main_returned") else None)
        finally:
            _loop = None
            _running = False
    task = outcome["task"]
    if task.cancelled() and outcome["closed"]:
        return None  # the windows were closed while main() ran
    return task.result()  # type: ignore[no-any-return]


def _finish(run: GuestRun, ended: Optional[asyncio.Future[None]]) -> bool:
    """pywebview's loop has ended: let the guest's main task end, cancel
    what still runs, and iterate GLib until the teardown is complete.
    True if main() was still running (and was cancelled)."""
    from gi.repository import GLib  # type: ignore[import-untyped, unused-ignore]

    cancelled = False
    if not run.done:
        if ended is not None:
            ended.set_result(None)  # on the guest's (this) thread
        else:
            cancelled = True
            run.cancel()  # main() still running: the windows closed
    ctx = GLib.MainContext.default()
    while not run.done:
        ctx.iteration(True)
    # The cancelled calls' threads still answer their (gone) page through
    # pywebview, which may wait for an idle callback on this thread: serve
    # GLib until they have ended (a few ms), so that none outlives start().
    deadline = time.monotonic() + _THREADS_GRACE
    with _lock:
        threads = list(_call_threads)
        _call_threads.clear()
    for t in threads:
        while t.is_alive() and time.monotonic() < deadline:
            ctx.iteration(False)
            t.join(0.005)
    return cancelled
