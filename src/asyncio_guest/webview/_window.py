"""The webview window (see the package's documentation)."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar, overload

import gi  # type: ignore[import-untyped, unused-ignore]

try:
    gi.require_version("Gtk", "3.0")
except ValueError as _exc:  # GTK 4 already loaded in this process
    raise ImportError(
        "asyncio_guest.webview needs GTK 3 (WebKitGTK 4.1 is a GTK 3 "
        f"widget), and this process loaded another GTK: {_exc}"
    ) from _exc
try:
    gi.require_version("WebKit2", "4.1")
except ValueError as _exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        "asyncio_guest.webview needs WebKitGTK 4.1 for GTK 3 through "
        "PyGObject (Debian/Ubuntu: apt install gir1.2-webkit2-4.1)"
    ) from _exc
from gi.repository import (  # type: ignore[import-untyped, unused-ignore]  # noqa: E402
    GLib, Gtk, WebKit2)

from .. import gtk as _gtk  # noqa: E402
from . import _rpc  # noqa: E402

__all__ = ["Window", "JSError", "run"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

HANDLER = _rpc.HANDLER

_BRIDGE_JS = (importlib.resources.files(__package__) / "bridge.js"
              ).read_text(encoding="utf-8")


class JSError(Exception):
    """JavaScript run by :meth:`Window.eval_js` threw (the message is
    WebKit's)."""


class Window:
    """A GTK 3 window holding a WebKitGTK web view whose pages can await
    the ``async def`` functions exposed with :meth:`expose`.

    Create it on the GTK thread, before or during the guest run; calls
    from the page run as tasks of the guest loop that is running when they
    arrive (:func:`run` starts one).
    """

    def __init__(self, title: str = "asyncio-guest", width: int = 800,
                 height: int = 600) -> None:
        if not isinstance(title, str):
            raise TypeError(f"title must be a str, not {type(title).__name__}")
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        self._functions: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._load_waiters: list[asyncio.Future[None]] = []
        self._close_waiters: list[asyncio.Future[None]] = []
        self._loading = False
        self._destroyed = False
        self.content_manager: Any = WebKit2.UserContentManager()
        self.content_manager.connect(
            f"script-message-received::{HANDLER}", self._on_message)
        if not self.content_manager.register_script_message_handler(HANDLER):
            raise RuntimeError("WebKit refused the script message handler")
        self.content_manager.add_script(WebKit2.UserScript.new(
            _BRIDGE_JS % {"handler": HANDLER,
                          "token_expr": "crypto.randomUUID ? crypto.randomUUID()"
                          " : String(Math.random()).slice(2) + Date.now()"},
            WebKit2.UserContentInjectedFrames.TOP_FRAME,
            WebKit2.UserScriptInjectionTime.START, None, None))
        #: The ``WebKit2.WebView`` (to embed elsewhere, or configure).
        self.view: Any = WebKit2.WebView.new_with_user_content_manager(
            self.content_manager)
        self.view.connect("load-changed", self._on_load_changed)
        #: The ``Gtk.Window`` holding :attr:`view`.
        self.gtk_window: Any = Gtk.Window(title=title)
        self.gtk_window.set_default_size(width, height)
        self.gtk_window.add(self.view)
        self.gtk_window.connect("destroy", self._on_destroy)

    # -- what the page may call -------------------------------------------

    @overload
    def expose(self, fn: F, name: Optional[str] = None) -> F: ...

    @overload
    def expose(self, fn: None = None, *,
               name: Optional[str] = None) -> Callable[[F], F]: ...

    def expose(self, fn: Optional[F] = None,
               name: Optional[str] = None) -> F | Callable[[F], F]:
        """Let pages call ``fn`` as ``await py.<name>(...)`` (default name:
        ``fn.__name__``).  ``fn`` must be an ``async def`` function (or
        return an awaitable).  Returns ``fn``, so it is a decorator:
        ``@window.expose``, or ``@window.expose(name="other")``.  Exposing
        another function under a taken name replaces it."""
        if fn is None:
            return lambda f: self._expose(f, name)
        return self._expose(fn, name)

    def _expose(self, fn: F, name: Optional[str]) -> F:
        if not callable(fn):
            raise TypeError(f"expose() needs a callable, not {type(fn).__name__}")
        if name is None:
            name = getattr(fn, "__name__", None)
            if name is None:
                raise TypeError(
                    f"{type(fn).__name__} objects have no __name__: "
                    f"give one, expose(fn, name=...)")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"exposed name must be an identifier, not {name!r}")
        if name in ("on", "off", "then", "__asyncio_guest"):
            raise ValueError(f"{name!r} is reserved on the page's py object")
        self._functions[name] = fn
        return fn

    @property
    def exposed(self) -> dict[str, Callable[..., Awaitable[Any]]]:
        """The exposed functions, by name (a copy)."""
        return dict(self._functions)

    # -- loading ------------------------------------------------------------

    def load_html(self, html: str, base_uri: str = "about:blank") -> None:
        """Show ``html`` (relative links resolve against ``base_uri``)."""
        self._check_open()
        self._loading = True
        self.view.load_html(html, base_uri)

    def load_url(self, url: str) -> None:
        """Navigate to ``url``."""
        self._check_open()
        self._loading = True
        self.view.load_uri(url)

    async def loaded(self) -> None:
        """Until the page being loaded has finished loading (at once if
        none is)."""
        self._check_open()
        if not self._loading:
            return
        fut = asyncio.get_running_loop().create_future()
        self._load_waiters.append(fut)
        await fut

    async def closed(self) -> None:
        """Until the window is destroyed (closed by the user or by
        :meth:`close`)."""
        if self._destroyed:
            return
        fut = asyncio.get_running_loop().create_future()
        self._close_waiters.append(fut)
        await fut

    def show(self) -> None:
        """Show the window."""
        self._check_open()
        self.gtk_window.show_all()

    def close(self) -> None:
        """Destroy the window: the page's calls are cancelled."""
        if not self._destroyed:
            self.gtk_window.destroy()

    # -- Python to the page -------------------------------------------------

    async def eval_js(self, code: str) -> Any:
        """Evaluate JavaScript in the page (global scope) and return its
        value, through JSON (``undefined`` and functions become None); a
        promise is awaited first.  A JavaScript exception (or a rejected
        promise) raises :class:`JSError`."""
        if not isinstance(code, str):
            raise TypeError(f"eval_js() needs a str, not {type(code).__name__}")
        self._check_open()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(view: Any, result: Any) -> None:
            if fut.done():
                return
            try:
                value = view.call_async_javascript_function_finish(result)
            except GLib.Error as exc:
                fut.set_exception(JSError(exc.message))
                return
            text = _rpc.EVAL_UNDEFINED
            if value is not None and not value.is_undefined():
                text = value.to_string()
            if text == _rpc.EVAL_UNDEFINED:
                fut.set_result(None)
                return
            try:
                fut.set_result(json.loads(text))
            except RecursionError:
                fut.set_exception(JSError(
                    "the value is nested too deeply to convert"))

        # The value goes through JSON.stringify in the page: the JSON
        # Python gets is the page's own view of it.
        self.view.call_async_javascript_function(
            "const v = await (0, eval)(code);"
            "const j = JSON.stringify(v);"
            f"return j === undefined ? {json.dumps(_rpc.EVAL_UNDEFINED)} : j;",
            -1, GLib.Variant("a{sv}", {"code": GLib.Variant("s", code)}),
            None, None, None, done)
        return await fut

    def emit(self, event: str, data: Any = None) -> None:
        """Call the page's ``py.on(event, ...)`` handlers with ``data``
        (sent as JSON).  Returns at once; events keep their order."""
        if not isinstance(event, str):
            raise TypeError(f"event must be a str, not {type(event).__name__}")
        payload = json.dumps(data)  # TypeError here, in the caller
        self._check_open()
        self._run_js("window.py && window.py.__asyncio_guest.emit("
                     f"{json.dumps(event)}, {payload})")

    # -- internals ------------------------------------------------------------

    def _check_open(self) -> None:
        if self._destroyed:
            raise RuntimeError("the webview window has been destroyed")

    def _run_js(self, code: str) -> None:
        if not self._destroyed:
            self.view.evaluate_javascript(code, -1, None, None, None, None)

    def _on_load_changed(self, view: Any, event: Any) -> None:
        if event == WebKit2.LoadEvent.STARTED:
            # A new document replaces the one whose calls are running.
            self._loading = True
            self._cancel_calls("the page was reloaded or left")
        elif event == WebKit2.LoadEvent.FINISHED:
            self._loading = False
            waiters, self._load_waiters = self._load_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _on_destroy(self, *_: Any) -> None:
        self._destroyed = True
        self._cancel_calls("the webview window was closed")
        waiters = self._close_waiters + self._load_waiters
        self._close_waiters, self._load_waiters = [], []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _cancel_calls(self, why: str) -> None:
        for task in list(self._tasks):
            task.cancel(why)

    def _on_message(self, manager: Any, result: Any) -> None:
        value = result.get_js_value() if hasattr(result, "get_js_value") \
            else result
        try:
            text = value.to_string()
        except Exception:
            return  # not from our bridge: nothing to answer
        call = _rpc.parse_call(text)
        if call is None:
            return
        if isinstance(call, _rpc.Reply):
            self._reply(call.token, call.id, call.ok, call.payload)
            return
        token, call_id, name, args = call.token, call.id, call.name, call.args
        target_loop = _guest_loop()
        if target_loop is None:
            self._reply(token, call_id, False, _rpc.error_payload(RuntimeError(
                f"py.{name}(): no asyncio guest run is active to run it "
                "(not started yet, or ending)")))
            return
        fn = self._functions.get(name)
        if fn is None:
            self._reply(token, call_id, False, _rpc.error_payload(NameError(
                f"no Python function named {name!r} is exposed to this page"
                + (f" (exposed: {', '.join(sorted(self._functions))})"
                   if self._functions else ""))))
            return
        refused = _rpc.check_args(fn, name, args)
        if refused is not None:
            self._reply(token, call_id, False, refused)
            return
        task = target_loop.create_task(self._call(fn, name, args, token,
                                                  call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, fn: Callable[..., Awaitable[Any]], name: str,
                    args: list[Any], token: str, call_id: int) -> None:
        try:
            result = await fn(*args)
        except asyncio.CancelledError:
            # The page went away (or the run ends): nobody to answer.
            raise
        except Exception as exc:
            self._reply(token, call_id, False, _rpc.error_payload(exc))
            return
        ok, body = _rpc.encode_result(name, result)
        self._reply(token, call_id, ok, body, raw=True)

    def _reply(self, token: str, call_id: int, ok: bool, payload: Any,
               raw: bool = False) -> None:
        self._run_js(_rpc.settle_js(token, call_id, ok,
                                    payload if raw else json.dumps(payload)))


def _guest_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The loop to run a page's call on: the guest run of this (the GTK)
    thread, else a loop running here."""
    from ..host import current_run

    run = current_run()
    if run is not None:
        # A run whose main task is over is tearing down: no new calls.
        return None if run.done or run.task.done() else run.loop
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run(async_fn: Callable[..., Awaitable[T]], *args: Any,
        title: str = "asyncio-guest", width: int = 800, height: int = 600,
        loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
        debug: Optional[bool] = None, mode: Optional[str] = None
        ) -> Optional[T]:
    """Open a :class:`Window` and run ``async_fn(window, *args)`` as a
    guest of GTK's main loop (:func:`asyncio_guest.gtk.run`).

    Returns its result when it ends (the window is then destroyed).
    Closing the window cancels it and every call the page started; the
    teardown completes before ``run`` returns None.
    """
    if not callable(async_fn):
        raise TypeError(
            f"run() needs an async function, not {type(async_fn).__name__}")
    window = Window(title, width, height)
    window.show()
    try:
        return _gtk.run(async_fn, window, *args, loop_factory=loop_factory,
                        debug=debug, window=window.gtk_window, mode=mode)
    finally:
        window.close()
        # Let GTK and WebKit finish the destruction before returning.
        ctx = GLib.MainContext.default()
        while ctx.pending():
            ctx.iteration(False)
