"""A web page that awaits async Python: WebKitGTK hosted by the GTK host.

JavaScript in the page calls exposed ``async def`` functions and awaits
them; they run on the guest asyncio loop, on the GTK thread::

    from asyncio_guest import webview

    async def add(a, b):
        await asyncio.sleep(0.1)
        return a + b

    async def main(window):
        window.expose(add)
        window.load_html('<script>py.add(1, 2).then(console.log)</script>')
        await window.closed()          # until the user closes the window

    webview.run(main, title="Demo")

In the page (every page the window loads, before its own scripts):

* ``await py.name(...args)`` calls the exposed function ``name``.  The
  arguments go as JSON; the result comes back as JSON and resolves the
  promise.  An exception rejects it with an ``Error`` whose ``name`` is the
  Python exception's type name (``ValueError``...) and whose ``message`` is
  ``str(exc)``; ``pyType`` holds the qualified type name.  Calls run
  concurrently, as tasks; results arrive in any order.
* ``py.on(event, handler)`` / ``py.off(event, handler)``: handlers for
  :meth:`Window.emit`, which pushes ``(event, data)`` from Python.

Bad input from the page never reaches Python code: an unknown name
rejects with ``NameError``, arguments that are not JSON
(``JSON.stringify`` fails: a ``BigInt``, a cycle) with ``TypeError``
before anything is sent, a wrong number of arguments with ``TypeError``
(checked against the function's signature), a result that is not JSON
with ``TypeError``.  Reloading or leaving the page cancels the calls it
started; closing the window cancels them and ends :func:`run`.

Python to the page: ``await window.eval_js(code)`` returns the value of
the expression (through JSON; ``undefined`` is None) or raises
:class:`JSError`.

Which pages reach Python (``_page``, ``_origins``): only the app's own --
what ``load_html``, ``load_file`` and ``serve`` show -- and the origins
given as ``Window(allowed_origins=[...])`` get ``py``; any other page, and
every frame inside a page, does not, and what they post to the bridge is
refused before it is parsed (logged once, never raised).  Python issues
each page a token and serves only the current page's.  Links, forms and
``window.open`` to other origins follow ``Window(navigation=...)``:
``"browser"`` (default; ``open_external(url)``, by default the desktop's
browser), ``"block"``, or ``"allow"`` (loaded without ``py``).  Downloads
are refused (logged).  ``expose(fn, origins=[...])`` narrows one function
further.

``window.serve(folder, name="main")`` serves an app folder as
``app://main/...`` (MIME types from file names, 404 for a missing file,
403 for any path that leaves the folder, ``DEFAULT_CSP`` or the app's own
Content-Security-Policy); ``fetch()`` of app:// URLs works from the page.

Needs PyGObject with GTK 3 and WebKitGTK 4.1 (Debian:
``gir1.2-webkit2-4.1``).  Everything here runs on the GTK thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._origins import DEFAULT_CSP
from ._page import NAVIGATION
from ._rpc import HANDLER

__all__ = ["Window", "JSError", "run", "HANDLER", "DEFAULT_CSP",
           "NAVIGATION"]
_LAZY = ("Window", "JSError", "run")

if TYPE_CHECKING:
    from ._window import JSError, Window, run


def __getattr__(name: str) -> Any:
    # The window needs GTK 3 and WebKitGTK, imported (and GTK initialised)
    # only when it is used: the call protocol (_rpc) imports without them.
    if name in _LAZY:
        from . import _window
        return getattr(_window, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
