"""Which pages reach Python, and which files the app:// scheme serves: pure
functions (no WebKit), tested and fuzzed directly.

An *origin* here is what a page's URL is trusted by:

* ``http``/``https`` (and any other hierarchical scheme): ``scheme://host``
  plus ``:port`` when it is not the scheme's default, as browsers compare
  them (``https://Example.com:443/x`` is ``https://example.com``);
* ``app://<name>``: a folder the window serves (:func:`resolve_app_path`);
* ``file:///a/folder/``: the files below that folder (browsers give every
  file URL one opaque origin; trusting all of them would trust any file
  on the disk a link can reach);
* ``about:blank``: a page Python loaded itself (``load_html`` without a
  base URI) -- the window trusts it only for loads it started.

``data:`` and other opaque URLs have no origin that can be trusted.
"""

from __future__ import annotations

import os
import posixpath
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

#: The scheme of the app's own folders (``Window.serve``).
APP_SCHEME = "app"

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: Content types by file suffix for the app scheme: the web's own, fixed
#: (not the machine's /etc/mime.types, which differs between machines and
#: calls .js files "application/javascript" on some).
MIME_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json",
    ".map": "application/json", ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".avif": "image/avif", ".ico": "image/x-icon", ".wasm": "application/wasm",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
    ".otf": "font/otf", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".wav": "audio/wav", ".mp4": "video/mp4", ".webm": "video/webm",
    ".xml": "application/xml", ".pdf": "application/pdf",
}
DEFAULT_MIME = "application/octet-stream"

#: The Content-Security-Policy app:// pages get unless the app gives one:
#: scripts, styles and everything else only from the app itself (inline
#: ones included, as an app's own page uses them), no plugins, not
#: framed by other origins.
DEFAULT_CSP = ("default-src 'self' 'unsafe-inline' data: blob:; "
               "object-src 'none'; frame-ancestors 'self'; base-uri 'self'")


def origin_of(uri: str) -> Optional[str]:
    """The origin a page at ``uri`` is trusted by (module doc), or None
    for a URL that has none (``data:``, malformed, not a str)."""
    if not isinstance(uri, str):
        return None
    try:
        parts = urllib.parse.urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme == "about":
            return "about:blank" if parts.path == "blank" else None
        if scheme == "blob":  # blob:<origin>/<uuid>: its creator's origin
            inner = origin_of(parts.path)
            return inner if inner and not inner.startswith("file:") else None
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                return None
            path = urllib.parse.unquote(parts.path)
            if "\x00" in path or not path.startswith("/"):
                return None
            return "file://" + posixpath.dirname(
                posixpath.normpath(path)).rstrip("/") + "/"
        host = parts.hostname  # lowercased; None without a netloc
        port = parts.port  # ValueError when not a number / out of range
    except ValueError:
        return None
    if not scheme or not host or scheme in ("data", "javascript"):
        return None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{_host(host)}:{port}"
    return f"{scheme}://{_host(host)}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 address


def normalize_origin(origin: str) -> str:
    """``origin`` as :func:`origin_of` writes it; ValueError (naming it)
    for anything that is not one origin: a path, a query, a wildcard."""
    if not isinstance(origin, str):
        raise TypeError(
            f"an origin must be a str, not {type(origin).__name__}")
    if origin == "about:blank":
        return origin
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme.lower() == "file":
        if not parts.path.endswith("/") or parts.query or parts.fragment:
            raise ValueError(
                f"a file origin is a folder, written with a final slash "
                f"(file:///path/to/app/), not {origin!r}")
        found = origin_of(origin + "index.html")
    else:
        if parts.path not in ("", "/") or parts.query or parts.fragment \
                or "*" in origin or parts.username or parts.password:
            raise ValueError(
                f"not an origin (scheme://host[:port], no path): {origin!r}")
        found = origin_of(origin)
    if found is None:
        raise ValueError(f"not an origin: {origin!r}")
    return found


@dataclass(frozen=True)
class OriginPolicy:
    """A set of origins (:func:`normalize_origin`); a file origin also
    covers the folders below it."""

    origins: frozenset[str] = frozenset()

    @classmethod
    def of(cls, origins: Iterable[str]) -> "OriginPolicy":
        if isinstance(origins, str):
            raise TypeError(
                "origins must be a list of origins, not one str "
                f"(write [{origins!r}])")
        return cls(frozenset(normalize_origin(o) for o in origins))

    def __or__(self, other: "OriginPolicy") -> "OriginPolicy":
        return OriginPolicy(self.origins | other.origins)

    def adding(self, uri: str) -> "OriginPolicy":
        """These origins and ``uri``'s (if it has one other than
        ``about:blank``, which is trusted per load, not per origin)."""
        origin = origin_of(uri)
        if origin is None or origin == "about:blank":
            return self
        return OriginPolicy(self.origins | {origin})

    def allows(self, uri: str) -> bool:
        """Whether the page at ``uri`` has one of these origins."""
        origin = origin_of(uri)
        if origin is None:
            return False
        if origin in self.origins:
            return True
        if origin.startswith("file://"):
            return any(o.startswith("file://") and origin.startswith(o)
                       for o in self.origins)
        return False


    def url_prefixes(self) -> list[str]:
        """What the URLs of these origins' pages start with (``about:blank``
        is matched whole), for the page's own check."""
        return sorted(o if o.endswith("/") or o == "about:blank" else o + "/"
                      for o in self.origins)


class AppPathError(Exception):
    """A request of the app scheme that is refused: ``status`` is the HTTP
    status the page gets (403 for a path that leaves the folder, 404 for
    a missing file, 400 for one that cannot be a path)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def resolve_app_path(root: str, url_path: str) -> str:
    """The file below the folder ``root`` that the app-scheme path
    ``url_path`` (the URL's path, percent-encoded) names, as a real path
    inside ``root``; a folder means its ``index.html``.

    Raises :class:`AppPathError`: 400 for a path that does not decode (bad
    UTF-8, a NUL), 403 for one that would leave the folder (a ``..`` or
    ``.`` segment, encoded or not, an encoded slash or a backslash, a
    symlink that points outside), 404 for a missing file."""
    if not isinstance(url_path, str) or not isinstance(root, str):
        raise AppPathError(400, "the path is not a str")
    try:
        decoded = urllib.parse.unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        raise AppPathError(400, "the path is not UTF-8") from None
    if "\x00" in decoded:
        raise AppPathError(400, "the path holds a NUL")
    segments = []
    for raw in url_path.split("/"):
        segment = urllib.parse.unquote(raw)
        if segment in (".", ".."):
            raise AppPathError(403, f"a {segment!r} segment")
        if "/" in segment or "\\" in segment:
            raise AppPathError(403, "an encoded slash or a backslash")
        if segment:
            segments.append(segment)
    base = os.path.realpath(root)
    candidate = os.path.join(base, *segments)
    if os.path.isdir(candidate):
        candidate = os.path.join(candidate, "index.html")
    real = os.path.realpath(candidate)
    if os.path.commonpath([base, real]) != base:
        raise AppPathError(403, "the path leaves the folder (a symlink)")
    if not os.path.isfile(real):
        raise AppPathError(404, "no such file")
    return real


def mime_type(path: str) -> str:
    """The Content-Type of an app-scheme file, from its name."""
    return MIME_TYPES.get(os.path.splitext(path)[1].lower(), DEFAULT_MIME)


def app_origin(name: str) -> str:
    """The origin of the app folder served as ``name``; ValueError for a
    name that cannot be a URL's host."""
    if not isinstance(name, str) or not name or not all(
            c.isascii() and (c.isalnum() or c == "-") for c in name) \
            or name.startswith("-") or name.endswith("-"):
        raise ValueError(
            f"an app name is letters, digits and inner hyphens (a URL "
            f"host): {name!r}")
    return f"{APP_SCHEME}://{name.lower()}"
