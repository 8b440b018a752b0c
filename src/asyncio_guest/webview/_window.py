"""The webview window (see the package's documentation)."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import os
from collections.abc import Awaitable, Callable, Iterable
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
gi.require_version("Soup", "3.0")  # WebKitGTK 4.1's
from gi.repository import (  # type: ignore[import-untyped, unused-ignore]  # noqa: E402
    Gio, GLib, Gtk, WebKit2)

from .. import gtk as _gtk  # noqa: E402
from .._glib_await import drain_pending  # noqa: E402
from . import _eval, _rpc, _scheme  # noqa: E402
from ._origins import DEFAULT_CSP, OriginPolicy, app_origin  # noqa: E402
from ._page import NAVIGATION, PageGuard  # noqa: E402

__all__ = ["Window", "JSError", "run", "NAVIGATION"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

HANDLER = _rpc.HANDLER

_BRIDGE_JS = (importlib.resources.files(__package__) / "bridge.js"
              ).read_text(encoding="utf-8")

# Navigations the policy applies to (a frame's own loads are "other").
_USER_NAVIGATIONS = (WebKit2.NavigationType.LINK_CLICKED,
                     WebKit2.NavigationType.FORM_SUBMITTED,
                     WebKit2.NavigationType.FORM_RESUBMITTED)

def _launch_default(uri: str) -> None:
    """Open ``uri`` in the desktop's default handler (the browser)."""
    Gio.AppInfo.launch_default_for_uri(uri, None)


class JSError(Exception):
    """JavaScript run by :meth:`Window.eval_js` threw (the message is
    WebKit's)."""


class Window:
    """A GTK 3 window holding a WebKitGTK web view whose pages can await
    the ``async def`` functions exposed with :meth:`expose`.

    Create it on the GTK thread, before or during the guest run; calls
    from the page run as tasks of the guest loop that is running when they
    arrive (:func:`run` starts one).

    Args:
        allowed_origins: origins (``https://host[:port]``, ``app://name``,
            ``file:///folder/``) whose pages get ``py`` beside the app's own
            content (see the package documentation).
        navigation: ``"browser"``, ``"block"`` or ``"allow"``: what a link,
            form or ``window.open`` to another origin does.
        open_external: called with such a URL under ``"browser"``
            (default: the desktop's handler, ``Gio.AppInfo``).
    """

    def __init__(self, title: str = "asyncio-guest", width: int = 800,
                 height: int = 600, *, allowed_origins: Iterable[str] = (),
                 navigation: str = "browser",
                 open_external: Optional[Callable[[str], object]] = None
                 ) -> None:
        if not isinstance(title, str):
            raise TypeError(f"title must be a str, not {type(title).__name__}")
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        self._guard = PageGuard(allowed_origins, navigation,
                                open_external or _launch_default)
        self._bridge_prefixes: Optional[str] = None  # of the script in place
        self._functions: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._function_origins: dict[str, Optional[OriginPolicy]] = {}
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
        self._update_bridge()
        #: The ``WebKit2.WebView`` (to embed elsewhere, or configure).
        self.view: Any = WebKit2.WebView.new_with_user_content_manager(
            self.content_manager)
        self.view.connect("load-changed", self._on_load_changed)
        self.view.connect("decide-policy", self._on_decide_policy)
        self.view.connect("create", self._on_create)
        #: The ``Gtk.Window`` holding :attr:`view`.
        self.gtk_window: Any = Gtk.Window(title=title)
        self.gtk_window.set_default_size(width, height)
        self.gtk_window.add(self.view)
        self.gtk_window.connect("destroy", self._on_destroy)

    # -- what the page may call -------------------------------------------

    @overload
    def expose(self, fn: F, name: Optional[str] = None, *,
               origins: Optional[Iterable[str]] = None) -> F: ...

    @overload
    def expose(self, fn: None = None, *, name: Optional[str] = None,
               origins: Optional[Iterable[str]] = None) -> Callable[[F], F]:
        ...

    def expose(self, fn: Optional[F] = None, name: Optional[str] = None, *,
               origins: Optional[Iterable[str]] = None
               ) -> F | Callable[[F], F]:
        """Let pages call ``fn`` as ``await py.<name>(...)`` (default name:
        ``fn.__name__``).  ``fn`` must be an ``async def`` function (or
        return an awaitable).  Returns ``fn``, so it is a decorator:
        ``@window.expose``, or ``@window.expose(name="other")``.  Exposing
        another function under a taken name replaces it.

        ``origins``: only pages of these origins may call it (each must
        also be trusted by the window: its own content or
        ``allowed_origins``); by default every trusted page may.  To the
        others it is not there (``NameError``)."""
        scope = None if origins is None else OriginPolicy.of(origins)
        if fn is None:
            return lambda f: self._expose(f, name, scope)
        return self._expose(fn, name, scope)

    def _expose(self, fn: F, name: Optional[str],
                scope: Optional[OriginPolicy]) -> F:
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
        self._function_origins[name] = scope
        return fn

    @property
    def exposed(self) -> dict[str, Callable[..., Awaitable[Any]]]:
        """The exposed functions, by name (a copy)."""
        return dict(self._functions)

    # -- loading ------------------------------------------------------------

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The origins beyond the app's own whose pages get ``py`` (set it
        to change them; the current page keeps what it had until it is
        reloaded or left)."""
        return self._guard.allowed.origins

    @allowed_origins.setter
    def allowed_origins(self, origins: Iterable[str]) -> None:
        self._guard.allowed = OriginPolicy.of(origins)
        self._update_bridge()

    def load_html(self, html: str, base_uri: str = "about:blank") -> None:
        """Show ``html`` (relative links resolve against ``base_uri``).  The
        page is the app's own: it gets ``py``, and so does ``base_uri``'s
        origin from now on."""
        self._check_open()
        if not isinstance(html, str) or not isinstance(base_uri, str):
            raise TypeError("load_html() needs a str html and base_uri")
        if base_uri != "about:blank":
            self._guard.own_origin(base_uri)
        self._start_load(lambda: self.view.load_html(html, base_uri))

    def load_file(self, path: str) -> None:
        """Show the local file ``path``; its folder (and what is below it)
        is the app's own from now on."""
        self._check_open()
        path = os.path.abspath(os.fspath(path))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_file(): no such file: {path!r}")
        uri = GLib.filename_to_uri(path, None)
        self._guard.own_origin(uri)
        self._start_load(lambda: self.view.load_uri(uri))

    def serve(self, directory: str, name: str = "main", *,
              csp: Optional[str] = DEFAULT_CSP, load: bool = True) -> str:
        """Serve the folder ``directory`` as ``app://<name>/`` to this
        window (its origin is the app's own) and, if ``load``, show its
        ``index.html``.  Returns the folder's URL.

        Files get a Content-Type from their name, a missing one a 404, a
        path that leaves the folder (``..``, encoded or not, a symlink out)
        a 403; responses carry ``csp`` as Content-Security-Policy (default
        :data:`DEFAULT_CSP`; None for none)."""
        self._check_open()
        origin = app_origin(name)
        root = os.path.abspath(os.fspath(directory))
        if not os.path.isdir(root):
            raise NotADirectoryError(f"serve(): not a folder: {root!r}")
        if csp is not None and not isinstance(csp, str):
            raise TypeError(f"csp must be a str or None, not "
                            f"{type(csp).__name__}")
        _scheme.serve(self.view, origin.split("://", 1)[1], root, csp)
        self._guard.own_origin(origin + "/")
        url = origin + "/"
        if load:
            self._start_load(lambda: self.view.load_uri(url))
        return url

    def load_url(self, url: str) -> None:
        """Navigate to ``url``.  Its page gets ``py`` only if its origin is
        trusted (the app's own, or ``allowed_origins``)."""
        self._check_open()
        if not isinstance(url, str):
            raise TypeError(f"load_url() needs a str, not {type(url).__name__}")
        self._start_load(lambda: self.view.load_uri(url), own=False)

    def _start_load(self, load: Callable[[], None], own: bool = True) -> None:
        self._update_bridge()  # before the load: its page gets this one
        self._loading = True
        self._guard.python_load = own
        load()

    def _update_bridge(self) -> None:
        """The bridge script for the trusted prefixes as they are now
        (replaced only when they changed)."""
        prefixes = json.dumps(self._guard.prefixes())
        if prefixes == self._bridge_prefixes:
            return
        self._bridge_prefixes = prefixes
        self.content_manager.remove_all_scripts()
        self.content_manager.add_script(WebKit2.UserScript.new(
            _BRIDGE_JS % {"handler": HANDLER, "prefixes": prefixes},
            WebKit2.UserContentInjectedFrames.TOP_FRAME,
            WebKit2.UserScriptInjectionTime.START, None, None))

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
        return await _eval.evaluate(self.view, code, JSError)

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

    def _on_create(self, view: Any, action: Any) -> None:
        """window.open: no second window; a trusted page opens here, any
        other by the navigation policy."""
        uri = action.get_request().get_uri()
        if uri and not self._guard.leaves(uri):
            self.view.load_uri(uri)
        return None

    def _on_decide_policy(self, view: Any, decision: Any, kind: Any) -> bool:
        types = WebKit2.PolicyDecisionType
        if kind == types.NEW_WINDOW_ACTION:  # window.open, target=_blank
            uri = decision.get_navigation_action().get_request().get_uri()
            decision.ignore()
            if not self._guard.leaves(uri):
                self.view.load_uri(uri)  # in this window: no second one
            return True
        if kind == types.NAVIGATION_ACTION:
            action = decision.get_navigation_action()
            if action.get_navigation_type() in _USER_NAVIGATIONS and \
                    self._guard.leaves(action.get_request().get_uri()):
                decision.ignore()
                return True
            return False
        if kind == types.RESPONSE:
            uri = decision.get_request().get_uri()
            if not decision.is_mime_type_supported():
                decision.ignore()  # a download: this window saves nothing
                self._guard.refuse(f"download {uri}", f"download of {uri} "
                                   "refused (the window does not save files)")
                return True
            # The page's own navigation (a script's, or a redirect) to an
            # origin it may not go to: stopped here, before the new page
            # commits (the only point where WebKitGTK tells the main frame
            # from the others); the app's page stays.
            if decision.is_main_frame_main_resource() and \
                    not self._guard.python_load and self._guard.leaves(uri):
                decision.ignore()
                return True
        return False

    def _on_load_changed(self, view: Any, event: Any) -> None:
        if event == WebKit2.LoadEvent.STARTED:
            # A new document replaces the one whose calls are running.
            self._loading = True
            self._cancel_calls("the page was reloaded or left")
        elif event == WebKit2.LoadEvent.COMMITTED:
            self._guard.committed(view.get_uri())  # after any redirect
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
        # Who is asking, before anything else: a trusted page is shown, and
        # the message has the token Python issued it.  (WebKit does not say
        # which frame posted; no frame but the page's own has the token.)
        uri = self.view.get_uri()
        if not self._guard.serves(uri):
            return
        value = result.get_js_value() if hasattr(result, "get_js_value") \
            else result
        try:
            text = value.to_string()
        except Exception:
            return  # not from our bridge: nothing to answer
        if not isinstance(text, str):
            return
        if text.startswith('{"hello":'):
            welcome = self._guard.hello(uri, text)
            if welcome is not None:
                self._run_js(welcome)
            return
        if not self._guard.admits(uri, text):
            return
        token = self._guard.token
        call = _rpc.parse_call(text)
        if call is None or call.token != token:
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
        scope = self._function_origins.get(name)  # (uri: the page's)
        if scope is not None and not scope.allows(uri):
            fn = None  # not exposed to this origin
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
        debug: Optional[bool] = None, mode: Optional[str] = None,
        allowed_origins: Iterable[str] = (), navigation: str = "browser",
        open_external: Optional[Callable[[str], object]] = None
        ) -> Optional[T]:
    """Open a :class:`Window` and run ``async_fn(window, *args)`` as a
    guest of GTK's main loop (:func:`asyncio_guest.gtk.run`).

    Returns its result when it ends (the window is then destroyed).
    Closing the window cancels it and every call the page started; the
    teardown completes before ``run`` returns None.  ``allowed_origins``,
    ``navigation`` and ``open_external`` go to :class:`Window`.
    """
    if not callable(async_fn):
        raise TypeError(
            f"run() needs an async function, not {type(async_fn).__name__}")
    window = Window(title, width, height, allowed_origins=allowed_origins,
                    navigation=navigation, open_external=open_external)
    window.show()
    try:
        return _gtk.run(async_fn, window, *args, loop_factory=loop_factory,
                        debug=debug, window=window.gtk_window, mode=mode)
    finally:
        window.close()
        drain_pending()  # GTK and WebKit finish the destruction first
