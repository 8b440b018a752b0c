"""webview_python (PyPI ``webview-python``) pages awaiting async Python,
its window hosted by the GTK host.

webview_python binds Python functions into a `webview
<https://github.com/webview/webview>`_ window (WebKitGTK on Linux).  Its
wheels hold no native library (at import it downloads one, which fails
offline); PyPI ``webviewpy`` ships webview 0.12 as a file of its package,
and :func:`load` points webview_python at it (nothing is written anywhere).
webview's GTK window lives on GLib's default context, so the GTK host
runs it and the guest together::

    from asyncio_guest import webview_python as guest_wv

    async def add(a, b):
        await asyncio.sleep(0.1)
        return a + b

    async def main(window):
        window.expose(add)
        window.set_html("<script>add(1, 2).then(console.log)</script>")
        await window.closed()

    guest_wv.run(main, title="Demo")

In the page, ``await name(...args)`` (webview's own convention) calls an
exposed function.  What this adds to webview_python's ``bind``: errors
reject with an ``Error`` whose ``name`` is the Python type's and
``message`` its text (``pyType``: the qualified type); a cancelled call or
a result that is not JSON rejects instead of leaving the promise pending;
the arity is checked before the function runs; a reply goes only to the
page that asked, while its window exists (a reply after ``webview_destroy``
crashes the process); leaving or reloading the page, or closing the
window, cancels its calls.  Origins, as in :mod:`asyncio_guest.webview`:
calls are served only while a page of the app's own origin
(``set_html``, or a URL the app loaded with :meth:`Window.navigate`) or of
``allowed_origins`` is shown, and only with the window's token, which
webview's init script gives the top frame alone (no iframe has it).

Install: ``pip install asyncio-guest[webview-python]`` (webview-python and
webviewpy, pinned) and WebKitGTK 4.0 (Debian: ``libwebkit2gtk-4.0-37``).
webview_python and pywebview both install a top-level ``webview``
package: one environment holds one of them.  WebKitGTK 4.0 (this) and
4.1 (:mod:`asyncio_guest.webview`) abort if loaded in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import importlib
import importlib.util
import json
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Optional, TypeVar

from . import gtk as _gtk
from ._glib_await import drain_pending
from ._callbacks import require_async
from .host import current_run
from .webview import _rpc
from .webview._origins import OriginPolicy, origin_of
from .webview._page import LogOnce

__all__ = ["Window", "run", "load", "LIBRARY_NAME"]

T = TypeVar("T")
logger = logging.getLogger("asyncio_guest.webview_python")

#: The file name webview_python looks for (x86-64 Linux).
LIBRARY_NAME = "libwebview.x86_64.so"
_BROWSER_CONTROLLER = 2  # webview_native_handle_kind_t: the WebKitWebView
_LOAD_STARTED = 0  # WebKitLoadEvent


def _webviewpy_library() -> str:
    spec = importlib.util.find_spec("webviewpy")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "asyncio_guest.webview_python needs PyPI webviewpy (its "
            "libwebview.so): pip install asyncio-guest[webview-python]")
    path = os.path.join(list(spec.submodule_search_locations)[0],
                        "platform", "linux", "x64", "libwebview.so")
    if not os.path.isfile(path):
        raise ImportError(f"webviewpy has no Linux x86-64 library: {path}")
    return path


@contextlib.contextmanager
def _library_found_at(path: str) -> Iterator[None]:
    """While webview_python imports: ``ctypes.util.find_library`` finds
    its library at ``path`` (it asks before downloading one)."""
    original = ctypes.util.find_library

    def find(name: str) -> Optional[str]:
        return path if name == LIBRARY_NAME else original(name)

    ctypes.util.find_library = find
    try:
        yield
    finally:
        ctypes.util.find_library = original


def load() -> Any:
    """webview_python's ``webview`` module, its library loaded from
    webviewpy.  ImportError (saying what to install) when either is
    missing, or when the ``webview`` importable here is another package
    (pywebview installs one too)."""
    module = sys.modules.get("webview")
    if module is None:
        path = _webviewpy_library()
        with _library_found_at(path):
            module = importlib.import_module("webview")
    if not hasattr(module, "Webview") or not hasattr(module, "_webview_ffi"):
        raise ImportError(
            f"the 'webview' package here ({getattr(module, '__file__', '?')})"
            " is not webview_python's (pywebview installs one of the same "
            "name): install asyncio-guest[webview-python] in an environment "
            "without pywebview")
    return module


def _gobject() -> Any:
    lib = ctypes.CDLL(ctypes.util.find_library("gobject-2.0")
                      or "libgobject-2.0.so.0")
    lib.g_signal_connect_data.restype = ctypes.c_ulong
    lib.g_signal_connect_data.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_int]
    return lib


def _webkit() -> Any:
    lib = ctypes.CDLL("libwebkit2gtk-4.0.so.37")  # what libwebview links
    lib.webkit_web_view_get_uri.restype = ctypes.c_char_p
    lib.webkit_web_view_get_uri.argtypes = [ctypes.c_void_p]
    return lib


_DESTROY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_LOAD_CHANGED = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int,
                                 ctypes.c_void_p)
_BIND = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p,
                         ctypes.c_void_p)

# The page's functions: each exposed name calls the one bound entry point
# with the window's token, and a rejection becomes an Error.
_GLUE = """(() => {
  const call = window.__asyncio_guest_call, token = %(token)s;
  if (!call) return;
  for (const name of %(names)s) {
    window[name] = async (...args) => {
      try { return await call(token, name, ...args); }
      catch (e) {
        if (e instanceof Error) throw e;
        const err = new Error(e && e.message);
        err.name = (e && e.name) || "Error";
        err.pyType = e && e.type;
        throw err;
      }
    };
  }
})();"""


class Window:
    """A webview window (webview_python's ``Webview``) whose pages can
    await the ``async def`` functions exposed with :meth:`expose`.  Create
    it on the GTK thread (:func:`run` does)."""

    def __init__(self, title: str = "asyncio-guest", width: int = 800,
                 height: int = 600, *, debug: bool = False,
                 allowed_origins: Iterable[str] = ()) -> None:
        if not isinstance(title, str):
            raise TypeError(f"title must be a str, not {type(title).__name__}")
        for label, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool) \
                    or value <= 0:
                raise ValueError(f"{label} must be a positive int, not "
                                 f"{value!r}")
        self._allowed = OriginPolicy.of(allowed_origins)
        self._own = OriginPolicy()
        wv = load()
        self._ffi = wv._webview_ffi._webview_lib
        #: webview_python's ``Webview`` (its ``bind`` etc. still work).
        self.webview: Any = wv.Webview(debug=bool(debug), size=wv.Size(
            width, height, wv.SizeHint.NONE))
        self.webview.title = title
        self._handle = self.webview._handle
        self._alive = True
        self._token = secrets.token_urlsafe(24)
        self._functions: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._generation = 0  # the page's: replies to an older one drop
        self._close_waiters: list[asyncio.Future[None]] = []
        self._refuse = LogOnce(logger, "webview_python")
        self._keep: list[Any] = []  # ctypes callbacks WebKit/GTK hold
        lib = self._ffi.lib
        lib.webview_get_window.restype = ctypes.c_void_p
        lib.webview_get_window.argtypes = [ctypes.c_void_p]
        lib.webview_set_html.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.webview_get_native_handle.restype = ctypes.c_void_p
        lib.webview_get_native_handle.argtypes = [ctypes.c_void_p,
                                                  ctypes.c_int]
        self._view = lib.webview_get_native_handle(self._handle,
                                                   _BROWSER_CONTROLLER)
        self._webkit = _webkit()
        gobject = _gobject()
        for obj, signal, proto, fn in (
                (lib.webview_get_window(self._handle), b"destroy", _DESTROY,
                 self._on_destroy),
                (self._view, b"load-changed", _LOAD_CHANGED,
                 self._on_load_changed)):
            callback = proto(fn)
            self._keep.append(callback)
            gobject.g_signal_connect_data(obj, signal, ctypes.cast(
                callback, ctypes.c_void_p), None, None, 0)
        entry = _BIND(self._on_call)
        self._keep.append(entry)
        self._ffi.webview_bind(self._handle, b"__asyncio_guest_call",
                               ctypes.cast(entry, ctypes.c_void_p), None)

    # -- what the page may call -------------------------------------------

    def expose(self, fn: Callable[..., Awaitable[Any]],
               name: Optional[str] = None) -> Callable[..., Awaitable[Any]]:
        """Let pages call ``fn`` as ``await <name>(...)`` (default
        ``fn.__name__``), on pages loaded after this call."""
        require_async(fn, "expose")
        name = getattr(fn, "__name__", None) if name is None else name
        if not isinstance(name, str) or not name.isidentifier() \
                or name.startswith("__"):
            raise ValueError(f"exposed name must be an identifier not "
                             f"starting with '__', not {name!r}")
        self._check_open()
        self._functions[name] = fn
        self._ffi.webview_init(self._handle, (_GLUE % {
            "token": json.dumps(self._token),
            "names": json.dumps([name])}).encode())
        return fn

    # -- loading --------------------------------------------------------------

    def set_html(self, html: str) -> None:
        """Show ``html`` (the app's own page)."""
        self._check_open()
        self._ffi.lib.webview_set_html(self._handle, html.encode())

    def navigate(self, url: str) -> None:
        """Load ``url``; its origin is the app's own from now on."""
        self._check_open()
        self._own = self._own.adding(url)
        self._ffi.webview_navigate(self._handle, url.encode())

    def eval(self, js: str) -> None:
        """Run JavaScript in the page (returns at once; no value)."""
        self._check_open()
        self._ffi.webview_eval(self._handle, js.encode())

    @property
    def uri(self) -> Optional[str]:
        """The URL of the page shown now."""
        if not self._alive:
            return None
        raw = self._webkit.webkit_web_view_get_uri(self._view)
        return None if raw is None else raw.decode("utf-8", "replace")

    async def closed(self) -> None:
        """Until the window is destroyed (by the user or :meth:`close`)."""
        if not self._alive:
            return
        fut = asyncio.get_running_loop().create_future()
        self._close_waiters.append(fut)
        await fut

    def close(self) -> None:
        """Destroy the window: its page's calls are cancelled."""
        if self._alive:
            self._on_destroy(None, None)  # nothing touches the view after
        if self._handle is not None:
            # webview_return only queues its reply (an idle callback): run
            # those while the view exists, not in webview_destroy's own
            # draining, after it has destroyed the view.
            drain_pending()
            handle, self._handle = self._handle, None
            self.webview._handle = None
            self._ffi.webview_destroy(handle)

    # -- internals --------------------------------------------------------

    def _check_open(self) -> None:
        if not self._alive:
            raise RuntimeError("the webview window has been destroyed")

    def _trusted(self) -> bool:
        uri = self.uri
        if uri is None:
            return False
        if origin_of(uri) == "about:blank":
            return True  # set_html: the app's own (webview_set_html)
        return (self._own | self._allowed).allows(uri)

    def _on_destroy(self, widget: Any, data: Any) -> None:
        if not self._alive:
            return
        self._alive = False
        self._cancel_calls("the webview window was closed")
        waiters, self._close_waiters = self._close_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        run = current_run()
        if run is not None and getattr(run.task, "_asyncio_guest_window",
                                       None) is self:
            run.cancel()

    def _on_load_changed(self, view: Any, event: int, data: Any) -> None:
        if event == _LOAD_STARTED:
            self._generation += 1
            self._cancel_calls("the page was reloaded or left")

    def _cancel_calls(self, why: str) -> None:
        for task in list(self._tasks):
            task.cancel(why)

    def _on_call(self, seq: bytes, req: bytes, arg: Any) -> None:
        try:
            self._serve(seq.decode(), req.decode("utf-8", "replace"))
        except Exception:  # never into webview's C++
            logger.exception("webview_python: a call failed")

    def _serve(self, seq: str, text: str) -> None:
        uri = self.uri
        if not self._trusted():
            self._refuse(f"page {uri}", f"a call while {uri} (not a trusted "
                         "origin) is shown was refused")
            return
        try:
            params = json.loads(text)
        except (ValueError, RecursionError):
            params = None
        if not (isinstance(params, list) and len(params) >= 2
                and params[0] == self._token and isinstance(params[1], str)):
            self._refuse(f"token {uri}", "a call without the window's token "
                         f"(from a frame of {uri}?) was refused")
            return
        name, args = params[1], params[2:]
        if _rpc.args_too_deep(args):
            self._reply(seq, self._generation, False, _rpc.error_payload(
                _rpc.too_deep_error(f"{name}(): the arguments are")))
            return
        fn = self._functions.get(name)
        if fn is None:
            self._reply(seq, self._generation, False, _rpc.error_payload(
                NameError(f"no Python function named {name!r} is exposed")))
            return
        refused = _rpc.check_args(fn, name, args, prefix="")
        if refused is not None:
            self._reply(seq, self._generation, False, refused)
            return
        run = current_run()
        if run is None or run.task.done():
            self._reply(seq, self._generation, False, _rpc.error_payload(
                RuntimeError(f"{name}(): no asyncio guest run is active")))
            return
        task = run.loop.create_task(self._call(fn, name, args, seq,
                                               self._generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, fn: Callable[..., Awaitable[Any]], name: str,
                    args: list[Any], seq: str, generation: int) -> None:
        try:
            result = await fn(*args)
        except asyncio.CancelledError:
            # Rejected, not left pending (the page may still be there).
            self._reply(seq, generation, False, _rpc.error_payload(
                asyncio.CancelledError(f"{name}() was cancelled")))
            raise
        except Exception as exc:
            self._reply(seq, generation, False, _rpc.error_payload(exc))
            return
        ok, body = _rpc.encode_result(name, result, prefix="")
        self._reply(seq, generation, ok, json.loads(body))

    def _reply(self, seq: str, generation: int, ok: bool,
               payload: Any) -> None:
        # Only to the page that asked, and only while the window (and so
        # webview's handle) exists.
        if not self._alive or generation != self._generation:
            return
        self._ffi.webview_return(self._handle, seq.encode(), 0 if ok else 1,
                                 json.dumps(payload).encode())


def run(async_fn: Callable[..., Awaitable[T]], *args: Any,
        title: str = "asyncio-guest", width: int = 800, height: int = 600,
        debug: bool = False, allowed_origins: Iterable[str] = (),
        loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
        mode: Optional[str] = None) -> Optional[T]:
    """Open a :class:`Window` and run ``async_fn(window, *args)`` as a
    guest of GTK's main loop (:func:`asyncio_guest.gtk.run`), which also
    runs the window.  Returns its result (the window is then destroyed);
    closing the window cancels it, and ``run`` returns None after the
    teardown."""
    require_async(async_fn, "run")
    window = Window(title, width, height, debug=debug,
                    allowed_origins=allowed_origins)

    async def main() -> T:
        task = asyncio.current_task()
        task._asyncio_guest_window = window  # type: ignore[union-attr]
        return await async_fn(window, *args)

    try:
        return _gtk.run(main, loop_factory=loop_factory, mode=mode)
    except asyncio.CancelledError:
        if window._alive:
            raise  # cancelled by something else than the window's closing
        return None  # the user closed the window (as gtk.run(window=...))
    finally:
        window.close()
