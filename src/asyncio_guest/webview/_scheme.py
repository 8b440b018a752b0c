"""The app:// scheme: app folders served to the web views that serve them
(:meth:`Window.serve`), registered once per process with WebKit's default
context.  Which file a path names is decided by
:func:`._origins.resolve_app_path` (pure, fuzzed); this file only answers
WebKit's requests."""

from __future__ import annotations

import logging
import weakref
from typing import Any, Optional

from gi.repository import (  # type: ignore[import-untyped, unused-ignore]
    Gio, GLib, Soup, WebKit2)

from ._origins import APP_SCHEME, AppPathError, mime_type, resolve_app_path

logger = logging.getLogger("asyncio_guest.webview")

#: (web view, app name) -> (folder, Content-Security-Policy or None).  A
#: folder is served only to the view whose window serves it.
_folders: "weakref.WeakKeyDictionary[Any, dict[str, tuple[str, Optional[str]]]]" = (
    weakref.WeakKeyDictionary())
_registered = False

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed"}


def serve(view: Any, name: str, root: str, csp: Optional[str]) -> None:
    """Serve ``root`` as ``app://<name>/`` to ``view``."""
    _register()
    _folders.setdefault(view, {})[name] = (root, csp)


def _register() -> None:
    global _registered
    if _registered:
        return
    context = WebKit2.WebContext.get_default()
    context.register_uri_scheme(APP_SCHEME, _on_request)
    security = context.get_security_manager()
    # A secure context (as https), and fetch()/XHR of its URLs allowed.
    security.register_uri_scheme_as_secure(APP_SCHEME)
    security.register_uri_scheme_as_cors_enabled(APP_SCHEME)
    _registered = True


def _on_request(request: Any) -> None:
    try:
        _answer(request)
    except Exception:  # never into WebKit: answer, and say why
        logger.exception("app scheme: answering %s failed", request.get_uri())
        try:
            _respond(request, 500, b"internal error", "text/plain", None)
        except Exception:
            pass


def _answer(request: Any) -> None:
    uri = request.get_uri()
    view = request.get_web_view()
    name = GLib.Uri.parse(uri, GLib.UriFlags.ENCODED).get_host() or ""
    folders = _folders.get(view, {}) if view is not None else {}
    entry = folders.get(name.lower())
    if entry is None:
        _respond(request, 404, b"no such app", "text/plain", None)
        return
    root, csp = entry
    method = request.get_http_method() or "GET"
    if method not in ("GET", "HEAD"):
        _respond(request, 405, b"", "text/plain", csp)
        return
    try:
        path = resolve_app_path(root, request.get_path() or "/")
    except AppPathError as exc:
        if exc.status == 403:
            logger.warning("app scheme: refused %s (%s)", uri, exc.reason)
        _respond(request, exc.status, exc.reason.encode(), "text/plain", csp)
        return
    with open(path, "rb") as f:
        body = f.read()
    _respond(request, 200, b"" if method == "HEAD" else body, mime_type(path),
             csp)


def _respond(request: Any, status: int, body: bytes, content_type: str,
             csp: Optional[str]) -> None:
    stream = Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(body))
    response = WebKit2.URISchemeResponse.new(stream, len(body))
    response.set_status(status, _REASONS.get(status))
    response.set_content_type(content_type)
    headers = Soup.MessageHeaders.new(Soup.MessageHeadersType.RESPONSE)
    headers.append("Content-Type", content_type)
    headers.append("Cache-Control", "no-store")
    headers.append("X-Content-Type-Options", "nosniff")
    if csp:
        headers.append("Content-Security-Policy", csp)
    response.set_http_headers(headers)
    request.finish_with_response(response)
