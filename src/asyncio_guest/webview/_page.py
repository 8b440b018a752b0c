"""Which page may call Python, as the window's state machine (no WebKit):
the trusted origins, the page token Python issues, the navigation policy.

The rules (module doc of _origins for what an origin is):

* A page gets ``py`` when its origin is the app's own (what ``load_html``,
  ``load_file`` and ``serve`` show) or allowed (``allowed_origins``); an
  ``about:blank`` page only as a load Python started, or a reload of one.
  The bridge script itself checks the page's URL against the trusted
  prefixes at document start (a redirect may have brought another page).
* Each committed page is issued one token by Python, on the bridge's
  ``hello`` (posted at document start, before any frame of the page
  exists); Python sends it into the main frame only, so no other frame
  sees it.  A call must carry the current page's token and come while a
  trusted page is shown; anything else is refused before it is parsed,
  and logged once.
* Leaving the app: links, forms, ``window.open``, a script's
  ``location = ...`` and redirects to an origin that is not trusted follow
  ``navigation``: ``"browser"`` (the default: the desktop's browser opens
  it, the app's page stays), ``"block"``, or ``"allow"`` (it loads,
  without ``py``).  Links and forms are stopped before any request; a
  script's navigation and a redirect when the response arrives (WebKitGTK
  tells the page's navigation from a frame's only there), before the new
  page commits.  Frames navigate freely (without ``py``).  A load Python
  started (``load_url``) is the app's choice and is not stopped.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Optional

from ._origins import OriginPolicy, origin_of

logger = logging.getLogger("asyncio_guest.webview")

#: Window(navigation=...): what a link, a form or ``window.open`` that
#: leaves the trusted origins does.
NAVIGATION = ("browser", "block", "allow")

_HELLO = re.compile(r'\{"hello":"([A-Za-z0-9_-]{16,64})"\}\Z')


class LogOnce:
    """Warnings on ``logger``, each key once (refusals of what a page sent:
    logged, never raised into the app, and not once per message)."""

    def __init__(self, logger: logging.Logger, prefix: str) -> None:
        self.logger = logger
        self.prefix = prefix
        self.seen: set[str] = set()

    def __call__(self, key: str, message: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            self.logger.warning("%s: %s", self.prefix, message)


class PageGuard:
    """The trust state of one window's page."""

    def __init__(self, allowed_origins: Iterable[str], navigation: str,
                 open_external: Callable[[str], object]) -> None:
        if navigation not in NAVIGATION:
            raise ValueError(f"navigation must be one of {NAVIGATION}, not "
                             f"{navigation!r}")
        if not callable(open_external):
            raise TypeError("open_external must be callable, not "
                            f"{type(open_external).__name__}")
        self.allowed = OriginPolicy.of(allowed_origins)
        self.own = OriginPolicy()
        self.navigation = navigation
        self.open_external = open_external
        self.page_uri: Optional[str] = None  # the trusted page shown now
        self.token: Optional[str] = None  # issued to it
        self.python_load = False  # the load under way is Python's own
        self.refuse = LogOnce(logger, "webview")

    @property
    def trusted(self) -> OriginPolicy:
        return self.own | self.allowed

    def own_origin(self, uri: str) -> None:
        self.own = self.own.adding(uri)

    def prefixes(self) -> list[str]:
        """What the bridge script checks the page's URL against."""
        return self.trusted.url_prefixes() + ["about:blank"]

    def trusts(self, uri: Optional[str], by_python: bool) -> bool:
        if uri is None:
            return False
        if origin_of(uri) == "about:blank":
            return by_python or (self.page_uri == uri)
        return self.trusted.allows(uri)

    def committed(self, uri: Optional[str]) -> None:
        """A new document is shown: it has no token yet."""
        by_python, self.python_load = self.python_load, False
        self.page_uri = uri if self.trusts(uri, by_python) else None
        self.token = None

    def hello(self, uri: Optional[str], text: str) -> Optional[str]:
        """The bridge of the page shown now asks for its token: the
        ``welcome`` JavaScript to send into the main frame, or None."""
        match = _HELLO.match(text)
        if match is None or not self.serves(uri):
            return None
        if self.token is not None:
            self.refuse("hello again", f"a second hello from {uri} (another "
                        "frame?) was refused: the page has its token")
            return None
        self.token = secrets.token_urlsafe(24)
        return ("window.py && window.py.__asyncio_guest.welcome("
                f"{json.dumps(match[1])}, {json.dumps(self.token)})")

    def serves(self, uri: Optional[str]) -> bool:
        """Whether messages are served now: a trusted page is shown (its
        URL may have changed within the document: a fragment, pushState;
        not its origin)."""
        if self.page_uri is None or uri is None or (
                origin_of(uri) != origin_of(self.page_uri)):
            self.refuse(f"page {uri}", "a message while a page that is not "
                        f"trusted is shown ({uri}) was refused")
            return False
        return True

    def admits(self, uri: Optional[str], text: str) -> bool:
        """Whether the call message ``text`` may be parsed: it comes while
        a trusted page is shown and carries that page's token."""
        if not self.serves(uri):
            return False
        token = self.token
        if token is None or not text.startswith(
                '{"token":' + json.dumps(token) + ","):
            self.refuse(f"token {uri}", "a message without the page's token"
                        f" (from another frame of {uri}?) was refused")
            return False
        return True

    def leaves(self, uri: str) -> bool:
        """A link, form or new window to ``uri``: True if it is not to
        load here (the policy opened it in the browser, or blocked it)."""
        if self.trusts(uri, False) or self.navigation == "allow":
            return False
        self.refuse(f"navigation {uri}", f"navigation to {uri} (not a "
                    "trusted origin) was " + (
                        "opened in the browser"
                        if self.navigation == "browser" else "blocked"))
        if self.navigation == "browser":
            try:
                self.open_external(uri)
            except Exception as exc:  # no browser here: say so, go on
                logger.warning("webview: could not open %s in the browser:"
                               " %s", uri, exc)
        return True
