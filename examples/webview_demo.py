"""JavaScript awaits async Python: a web page in WebKitGTK whose buttons
await Python coroutines doing real asyncio I/O, while a JavaScript
animation runs (and measures its own frame gaps).

    python examples/webview_demo.py            # a window; click around
    python examples/webview_demo.py --auto     # clicks by itself, prints, exits
    python examples/webview_demo.py --uvloop   # uvloop as the guest loop
    python examples/webview_demo.py --auto --screenshot docs/webview_demo.png

The buttons: fetch from an asyncio TCP server started by this program, run
a subprocess, stream progress events for two seconds, start 100 calls at
once, and call a coroutine that raises (the promise rejects with the
Python error).  Needs a display (xvfb-run without one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, Optional

from asyncio_guest import webview

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
body { font: 15px sans-serif; margin: 18px; background: #f7f7fa; }
button { margin: 4px 6px 4px 0; padding: 6px 12px; font-size: 14px; }
#spinner { width: 46px; height: 46px; border-radius: 50%;
  border: 6px solid #ccd; border-top-color: #36c; float: right; }
#bar { height: 12px; background: #ddd; width: 300px; }
#fill { height: 12px; background: #36c; width: 0; }
pre { background: #fff; border: 1px solid #ddd; padding: 8px; height: 180px;
  overflow: auto; }
</style></head><body>
<div id="spinner"></div>
<h2>JavaScript awaits async Python</h2>
<div>
  <button id="fetch">fetch from the asyncio server</button>
  <button id="proc">run a subprocess</button>
  <button id="stream">stream progress</button>
  <button id="many">100 calls at once</button>
  <button id="fail">a call that raises</button>
</div>
<p>progress: <span id="pct">0</span>%</p><div id="bar"><div id="fill"></div></div>
<p>animation: <span id="frames">0</span> frames, longest gap
  <span id="gap">0</span> ms</p>
<pre id="log"></pre>
<script>
const log = (s) => { const l = document.getElementById("log");
  l.textContent += s + "\\n"; l.scrollTop = l.scrollHeight; };
window.results = [];
const done = (what, value) => { window.results.push([what, value]);
  log(what + ": " + JSON.stringify(value)); };
// The animation: it must never stutter while Python works.
let angle = 0, last = null;
window.anim = {frames: 0, maxGap: 0};
function frame(t) {
  if (last !== null) {
    const gap = t - last;
    if (window.anim.frames > 5) anim.maxGap = Math.max(anim.maxGap, gap);
  }
  last = t; anim.frames++;
  angle = (angle + 6) % 360;
  document.getElementById("spinner").style.transform = `rotate(${angle}deg)`;
  document.getElementById("frames").textContent = anim.frames;
  document.getElementById("gap").textContent = anim.maxGap.toFixed(1);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
py.on("progress", (p) => {
  document.getElementById("pct").textContent = p;
  document.getElementById("fill").style.width = (3 * p) + "px";
});
const on = (id, fn) => document.getElementById(id).onclick = async () => {
  try { done(id, await fn()); }
  catch (e) { done(id, {rejected: e.name + ": " + e.message}); }
};
on("fetch", () => py.fetch_banner());
on("proc", () => py.run_subprocess());
on("stream", () => py.stream_progress(2.0));
on("many", async () => {
  const t = performance.now();
  const all = await Promise.all([...Array(100).keys()].map(i => py.echo(i)));
  return {calls: all.length, ms: +(performance.now() - t).toFixed(1)};
});
on("fail", () => py.divide(1, 0));
</script></body></html>
"""


async def serve_banner(reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
    """The local server: answers each line with a banner."""
    line = await reader.readline()
    writer.write(b"asyncio server says hello to " + line)
    await writer.drain()
    writer.close()


async def main(window: webview.Window, auto: bool,
               screenshot: Optional[str]) -> dict[str, Any]:
    server = await asyncio.start_server(serve_banner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    @window.expose
    async def fetch_banner() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"the page\n")
        banner = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return banner.decode().strip()

    @window.expose
    async def run_subprocess() -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import platform; print(platform.platform())",
            stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        return {"exit": proc.returncode, "stdout": out.decode().strip()}

    @window.expose
    async def stream_progress(seconds: float) -> str:
        for pct in range(0, 101, 5):
            window.emit("progress", pct)
            await asyncio.sleep(seconds / 20)
        return "streamed"

    @window.expose
    async def echo(i: int) -> int:
        await asyncio.sleep(0.001 * (i % 10))
        return i

    @window.expose
    async def divide(a: float, b: float) -> float:
        return a / b

    window.load_html(PAGE)
    await window.loaded()
    try:
        if not auto:
            await window.closed()
            return {}
        for button in ("fetch", "proc", "stream", "many", "fail"):
            await window.eval_js(f"document.getElementById('{button}').click()")
            if button == "stream":
                await asyncio.sleep(0.5)  # two streams at once would be odd
        deadline = time.monotonic() + 10
        while len(await window.eval_js("window.results")) < 5:
            if time.monotonic() > deadline:
                raise TimeoutError("the page did not get every result")
            await asyncio.sleep(0.05)
        results = dict(await window.eval_js("window.results"))
        results["animation"] = await window.eval_js("window.anim")
        if screenshot:
            await save_snapshot(window, screenshot)
        return results
    finally:
        server.close()
        await server.wait_closed()


async def save_snapshot(window: webview.Window, path: str) -> None:
    """The web view's visible area as a PNG (for the docs)."""
    from gi.repository import WebKit2

    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(view: Any, result: Any) -> None:
        try:
            fut.set_result(view.get_snapshot_finish(result))
        except Exception as exc:  # GLib.Error
            fut.set_exception(exc)

    window.view.get_snapshot(WebKit2.SnapshotRegion.VISIBLE,
                             WebKit2.SnapshotOptions.NONE, None, done)
    surface = await fut
    surface.write_to_png(path)


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--auto", action="store_true",
                    help="click every button, print the results, exit")
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--screenshot", metavar="PNG",
                    help="with --auto: save the page as a PNG")
    args = ap.parse_args()
    factory = None
    if args.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    results = webview.run(main, args.auto, args.screenshot,
                          title="asyncio-guest: JavaScript awaits Python",
                          width=760, height=600, loop_factory=factory)
    for key, value in (results or {}).items():
        print(f"{key}: {json.dumps(value)}")


if __name__ == "__main__":
    cli()
