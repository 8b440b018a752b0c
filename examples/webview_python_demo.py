"""webview_python (PyPI webview-python) calling async Python, with
asyncio_guest.webview_python: the page fetches three "slow" values at
once; each is an ``async def`` running on the guest loop, on the GTK
thread, while the page stays responsive.

    make compile   # installs webview_python into .venv/webview-python
    PYTHONPATH=.venv/webview-python python examples/webview_python_demo.py
    ... --auto     # runs by itself, prints what the page got, exits

Needs WebKitGTK 4.0 (Debian: libwebkit2gtk-4.0-37).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from asyncio_guest import webview_python as guest_wv

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body { font: 16px sans-serif; margin: 2em; } li { margin: .3em 0; }
</style></head><body>
<h1>webview_python + asyncio</h1>
<button id="go">fetch three values</button> <span id="clock"></span>
<ul id="out"></ul>
<script>
setInterval(() => { clock.textContent = new Date().toLocaleTimeString(); },
            100);
async function go() {
  out.innerHTML = "";
  const t0 = performance.now();
  const names = ["alpha", "beta", "gamma"];
  const values = await Promise.all(names.map((n, i) => slow_value(n, i)));
  for (const v of values) {
    const li = document.createElement("li"); li.textContent = v;
    out.appendChild(li);
  }
  try { await fails(); } catch (e) {
    const li = document.createElement("li");
    li.textContent = "error: " + e.name + ": " + e.message;
    out.appendChild(li);
  }
  await done({values, ms: Math.round(performance.now() - t0)});
}
document.getElementById("go").onclick = go;
if (%(auto)s) go();
</script></body></html>"""


async def main(window: guest_wv.Window, auto: bool) -> Any:
    finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def slow_value(name: str, i: int) -> str:
        t0 = time.monotonic()
        await asyncio.sleep(0.3 + 0.1 * i)  # concurrent: ~0.5 s for all
        return f"{name} after {time.monotonic() - t0:.2f} s"

    async def fails() -> None:
        raise ValueError("raised by Python")

    async def done(result: Any) -> None:
        if not finished.done():
            finished.set_result(result)

    for fn in (slow_value, fails, done):
        window.expose(fn)
    window.set_html(PAGE % {"auto": "true" if auto else "false"})
    if auto:
        return await asyncio.wait_for(finished, 20)
    await window.closed()
    return None


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--auto", action="store_true",
                    help="run by itself, print the page's results, exit")
    args = ap.parse_args()
    print(guest_wv.run(main, args.auto, title="webview_python demo"))
