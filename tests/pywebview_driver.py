"""One asyncio_guest.pywebview scenario in a process of its own (pywebview
keeps process-wide state and starts its GTK application once per start()).

    python pywebview_driver.py SCENARIO asyncio|uvloop

prints ``RESULT <json>`` as its last line; tests/test_pywebview.py checks
it, the exit status and that the process ends (no thread left hanging).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

os.environ.setdefault("NO_AT_BRIDGE", "1")
os.environ.setdefault("GTK_A11Y", "none")

import webview  # noqa: E402  (pywebview)

from asyncio_guest import pywebview as gp  # noqa: E402

LONG = 3600.0
out: dict[str, Any] = {}


def loop_factory() -> Any:
    if sys.argv[2] == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    return None


def raised(fn: Any, *args: Any, **kwargs: Any) -> str:
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


async def page_result(w: Any, timeout: float = 10.0) -> Any:
    """Wait for the page to put its JSON result in window.__result."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = await gp.call(w.evaluate_js, "window.__result || null")
        if got is not None:
            return got
        await asyncio.sleep(0.02)
    step = await gp.call(w.evaluate_js, "window.__p || null")
    raise TimeoutError(f"the page did not finish (last step: {step})")


# -- basic: results, errors, arity, plain methods, nesting, 100 in flight --

class Nested:
    async def upper(self, s: str) -> str:
        await asyncio.sleep(0)
        return s.upper()


class Api:
    def __init__(self) -> None:
        self.nested = Nested()
        self.finished: list[int] = []
        self.in_flight = self.most_in_flight = 0

    async def add(self, a: int, b: int) -> int:
        await asyncio.sleep(0.01)
        return a + b

    async def boom(self) -> None:
        await asyncio.sleep(0)
        raise ValueError("bad value from Python")

    async def where(self) -> list[Any]:
        loop = asyncio.get_running_loop()
        return [threading.current_thread() is threading.main_thread(),
                type(loop).__module__]

    async def delayed(self, i: int, n: int) -> int:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep((n - i) * 0.01)  # the first call waits longest
        self.in_flight -= 1
        self.finished.append(i)
        return i * i

    def plain(self) -> bool:  # not async: pywebview's thread, as before
        return threading.current_thread() is threading.main_thread()

    async def unserializable(self) -> Any:
        return {1, 2}

    async def deep(self, n: int) -> Any:
        value: list[Any] = []
        for _ in range(n):
            value = [value]
        return value

    async def take(self, value: Any) -> str:
        return "taken"


async def exposed_fn(x: str) -> str:
    await asyncio.sleep(0)
    return f"exposed {x}"


BASIC = """<!doctype html><script>
window.addEventListener('pywebviewready', async () => {
  const api = pywebview.api, r = {};
  const err = async (p) => { try { await p; return 'resolved'; }
                             catch (e) { return [e.name, e.message]; } };
  r.add = await api.add(2, 3);
  r.boom = await err(api.boom());
  r.arity = await err(api.add(1));
  window.__p = 'where'; r.where = await api.where(); window.__p = 'plain';
  r.plain = await api.plain();
  window.__p = 'nested'; r.nested = await api.nested.upper('abc'); window.__p = 'exposed';
  r.exposed = await pywebview.api.exposed_fn('x');
  window.__p = 'unser'; r.unserializable = await err(api.unserializable()); window.__p = 'deep';
  r.deep = await err(api.deep(300));
  let v = []; for (let i = 0; i < 300; i++) v = [v];
  r.deep_args = await err(api.take(v)); window.__p = 'many';
  const t0 = performance.now();
  r.many = await Promise.all([...Array(100).keys()].map(i => api.delayed(i, 100)));
  r.many_ms = performance.now() - t0;
  window.__result = r;
});
</script>"""


def basic() -> None:
    api = Api()
    w = webview.create_window("basic", html=BASIC, js_api=gp.api(api))
    w.expose(gp.function(exposed_fn))

    async def main() -> str:
        out["page"] = await page_result(w)
        out["finished_order"] = api.finished
        out["most_in_flight"] = api.most_in_flight
        # Once shown, destroy() only schedules the close (GLib idle), which
        # runs after this tick: main returns first, and start() returns its
        # result.  (Awaiting call(w.destroy) could let the window go first,
        # and main would be cancelled.)
        w.destroy()
        return "main result"

    out["start"] = gp.start(main, loop_factory=loop_factory())


# -- close: the window is closed while a call (and main) is in flight -------

CALL_SLOW = """<!doctype html><script>
window.addEventListener('pywebviewready', () => {
  document.title = 'loaded';
  pywebview.api.slow('%s');
});
</script>"""


class SlowApi:
    def __init__(self) -> None:
        self.started = threading.Event()

    async def slow(self, tag: str) -> str:
        self.started.set()
        out.setdefault("started", []).append(tag)
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            out.setdefault("cancelled", []).append(tag)
            raise
        return "never"

    async def echo(self, x: Any) -> Any:
        return x


def close() -> None:
    api = SlowApi()
    w = webview.create_window("close", html=CALL_SLOW % "old",
                              js_api=gp.api(api))

    async def main() -> str:
        try:
            while not api.started.is_set():
                await asyncio.sleep(0.01)
            # as the user closing the window; the window may be gone (and
            # main cancelled) before this await returns
            await gp.call(w.destroy)
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            out["main cancelled"] = True
            raise
        return "never"

    t0 = time.monotonic()
    out["start"] = gp.start(main, loop_factory=loop_factory())
    out["start_s"] = time.monotonic() - t0


# -- reload: another page cancels the old page's calls ----------------------

SECOND = """<!doctype html><script>
window.addEventListener('pywebviewready', async () => {
  window.__result = {echo: await pywebview.api.echo('second page')};
});
</script>"""


def reload() -> None:
    api = SlowApi()
    w = webview.create_window("reload", html=CALL_SLOW % "first",
                              js_api=gp.api(api))

    async def main() -> None:
        while not api.started.is_set():
            await asyncio.sleep(0.01)
        await gp.call(w.load_html, SECOND)
        out["page"] = await page_result(w)
        out["cancelled at second page"] = list(out.get("cancelled", []))
        await gp.call(w.destroy)

    out["start"] = gp.start(main, loop_factory=loop_factory())


# -- main raises: the windows close and start() re-raises -------------------

def main_raises() -> None:
    w = webview.create_window("raises", html="<p>x</p>")

    async def main() -> None:
        await gp.call(w.evaluate_js, "1")  # the page is up
        raise ValueError("main failed")

    out["raised"] = raised(gp.start, main, loop_factory=loop_factory())
    out["windows left"] = len(webview.windows)


# -- bad input --------------------------------------------------------------

def errors() -> None:
    async def nothing() -> None:
        pass

    out["no window"] = raised(gp.start, nothing)
    out["api(5)"] = raised(gp.api, 5)
    out["api(None)"] = raised(gp.api, None)
    out["function(5)"] = raised(gp.function, 5)
    proxy: Any = gp.api(Api())
    out["call before start"] = raised(proxy.add, 1, 2)
    out["running_loop before start"] = raised(gp.running_loop)
    w = webview.create_window("errors", html="<p>x</p>")
    out["gui=qt"] = raised(gp.start, nothing, gui="qt")
    out["main=5"] = raised(gp.start, 5)

    async def main() -> None:
        out["start inside start"] = raised(gp.start, nothing)
        out["running_loop"] = gp.running_loop() is asyncio.get_running_loop()
        await gp.call(w.destroy)

    out["start"] = gp.start(main, loop_factory=loop_factory())
    out["running_loop after"] = raised(gp.running_loop)


# -- origins: a page the window navigated to cannot run the api ------------

FOREIGN = """<!doctype html><body id="foreign"><script>
window.addEventListener('pywebviewready', async () => {
  try { window.__result = {ok: await pywebview.api.secret('foreign')}; }
  catch (e) { window.__result = {name: e.name, message: e.message}; }
});
</script></body>"""

HOME = """<!doctype html><body><a id="out" href="%s">out</a><script>
window.addEventListener('pywebviewready', async () => {
  window.__home = await pywebview.api.secret('home');
  document.getElementById('out').click();
});
</script></body>"""


class SecretApi:
    def __init__(self) -> None:
        self.ran: list[str] = []

    async def secret(self, who: str) -> str:
        self.ran.append(who)
        return "the secret"


def origins(allowed: bool) -> None:
    import http.server

    class Foreign(http.server.BaseHTTPRequestHandler):
        timeout = 5  # a connection opened ahead and never used ends

        def do_GET(self) -> None:
            body = FOREIGN.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = False  # server_close() joins the request threads

    server = Server(("127.0.0.1", 0), Foreign)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    foreign = f"http://127.0.0.1:{server.server_address[1]}"
    api = SecretApi()
    w = webview.create_window("origins", html=HOME % (foreign + "/"),
                              js_api=gp.api(api, allowed_origins=(
                                  [foreign] if allowed else [])))

    async def main() -> None:
        out["page"] = await page_result(w)
        out["url"] = await gp.call(w.get_current_url)
        await gp.call(w.destroy)

    out["start"] = gp.start(main, loop_factory=loop_factory())
    out["ran"] = api.ran
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    {"basic": basic, "close": close, "reload": reload,
     "main_raises": main_raises, "errors": errors,
     "origins": lambda: origins(False),
     "origins_allowed": lambda: origins(True)}[sys.argv[1]]()
    out["threads"] = [t.name for t in threading.enumerate()
                      if t is not threading.main_thread()]
    print("RESULT " + json.dumps(out), flush=True)
