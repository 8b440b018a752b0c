"""One asyncio_guest.webview_python scenario in a process of its own (run
by tests/test_webview_python.py; not a test module).

    python webview_python_driver.py SCENARIO asyncio|uvloop

webview_python's ``webview`` package is on the path given by
$ASYNCIO_GUEST_WEBVIEW_PYTHON (make puts it in .venv/webview-python, apart
from pywebview's package of the same name).  Prints ``RESULT <json>`` last.
"""

from __future__ import annotations

import asyncio
import ctypes
import http.server
import json
import logging
import os
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.environ["ASYNCIO_GUEST_WEBVIEW_PYTHON"])
os.environ.setdefault("NO_AT_BRIDGE", "1")

from asyncio_guest import webview_python as guest_wv  # noqa: E402

out: dict[str, Any] = {"refusals": []}
LONG = 3600.0


class Refusals(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        out["refusals"].append(record.getMessage())


logging.getLogger("asyncio_guest.webview_python").addHandler(Refusals())


def loop_factory() -> Any:
    if sys.argv[2] == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    return None


def foreign_server(body: str) -> tuple[Any, str, list[str]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5  # a connection opened ahead and never used ends

        def do_GET(self) -> None:
            hits.append(self.path)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = False  # server_close() joins the request threads

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", hits


# -- basic: results, errors, arity, non-JSON, cancellation, concurrency ----

BASIC = """<body><script>
(async () => {
  const r = {}, err = async (p) => {
    try { await p; return "resolved"; }
    catch (e) { return [e.name, e.message, e instanceof Error, e.pyType]; } };
  r.add = await add(2, 3);
  r.boom = await err(boom());
  r.arity = await err(add(1));
  r.unjson = await err(unjson());
  r.deep = await err(deep(300));
  let v = []; for (let i = 0; i < 300; i++) v = [v];
  r.deep_args = await err(echo(v));
  r.missing = typeof not_exposed;
  r.cancelled = await err(stuck());
  const t0 = performance.now();
  r.many = await Promise.all([...Array(100).keys()].map(i => delayed(i)));
  r.many_ms = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < 300; i++) await echo(i);
  r.round_trip_ms = (performance.now() - t1) / 300;
  await report(r);
})();
</script></body>"""


def basic() -> None:
    async def main(win: Any) -> Any:
        got = asyncio.get_running_loop().create_future()
        finished: list[int] = []

        async def add(a: int, b: int) -> int:
            return a + b

        async def boom() -> None:
            raise ValueError("bad value from Python")

        async def unjson() -> Any:
            return {1, 2}

        async def deep(n: int) -> Any:
            value: list[Any] = []
            for _ in range(n):
                value = [value]
            return value

        async def stuck() -> None:
            asyncio.get_running_loop().call_later(
                0.05, lambda: [t.cancel() for t in list(win._tasks)
                               if t is not asyncio.current_task()])
            await asyncio.sleep(LONG)

        async def delayed(i: int) -> int:
            await asyncio.sleep((100 - i) * 0.001)  # the last ends first
            finished.append(i)
            return i * i

        async def echo(x: Any) -> Any:
            return x

        async def report(r: Any) -> None:
            got.set_result(r)

        for fn in (add, boom, unjson, deep, stuck, delayed, echo, report):
            win.expose(fn)
        win.set_html(BASIC)
        page = await asyncio.wait_for(got, 20)
        out["finished_order"] = finished
        out["loop"] = type(asyncio.get_running_loop()).__module__
        return page

    out["page"] = guest_wv.run(main, loop_factory=loop_factory())


# -- origins: a foreign page and a foreign iframe run nothing ---------------

ATTACK = """<body id="foreign"><script>
const h = window.webkit.messageHandlers.__webview__;
for (const token of ["made-up", "", null]) {
  h.postMessage(JSON.stringify({id: "1", method: "__asyncio_guest_call",
                                params: [token, "secret"]}));
}
if (typeof secret === "function") secret();
</script></body>"""

APP = """<body><script>
(async () => {
  await report({home: await secret()});
})();
</script>%s</body>"""


def origins(how: str) -> None:
    server, origin, hits = foreign_server(ATTACK)
    ran: list[str] = []

    async def main(win: Any) -> Any:
        reported = asyncio.get_running_loop().create_future()

        async def secret() -> str:
            ran.append("secret")
            return "the secret"

        async def report(r: Any) -> None:
            reported.set_result(r)

        win.expose(secret)
        win.expose(report)
        frame = f"<iframe src='{origin}/frame'></iframe>" if how == "iframe" \
            else ""
        win.set_html(APP % frame)
        out["home"] = await asyncio.wait_for(reported, 20)
        ran.clear()
        if how == "top":
            win.eval(f"location.href = {json.dumps(origin + '/top')}")
        end = time.monotonic() + 10
        while not hits and time.monotonic() < end:
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # the page's posts have been handled
        out["uri"] = win.uri
        return None

    guest_wv.run(main, loop_factory=loop_factory())
    out["ran"] = ran
    out["hits"] = hits
    server.shutdown()
    server.server_close()


# -- close: the user closes the window while a call runs ---------------------

def close() -> None:
    gtk = ctypes.CDLL("libgtk-3.so.0")
    gtk.gtk_window_close.argtypes = [ctypes.c_void_p]
    events: list[str] = []

    async def main(win: Any) -> Any:
        async def slow() -> None:
            events.append("started")
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                events.append("call cancelled")
                raise

        win.expose(slow)
        win.set_html("<body><script>slow();</script></body>")
        while "started" not in events:
            await asyncio.sleep(0.01)
        lib = win._ffi.lib
        window = lib.webview_get_window(win._handle)
        asyncio.get_running_loop().call_later(
            0.05, gtk.gtk_window_close, window)  # as the close button does
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            events.append("main cancelled")
            raise

    t0 = time.monotonic()
    out["result"] = guest_wv.run(main, loop_factory=loop_factory())
    out["seconds"] = time.monotonic() - t0
    out["events"] = events


if __name__ == "__main__":
    {"basic": basic, "close": close,
     "origins-top": lambda: origins("top"),
     "origins-iframe": lambda: origins("iframe")}[sys.argv[1]]()
    print("RESULT " + json.dumps(out), flush=True)
