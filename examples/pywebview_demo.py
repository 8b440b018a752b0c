"""A pywebview app whose js_api has ``async def`` methods.

    python examples/pywebview_demo.py            # a window (needs a display)
    python examples/pywebview_demo.py --auto     # self-driving, then exits
    python examples/pywebview_demo.py --uvloop

The page awaits ``pywebview.api.run(cmd)`` (an asyncio subprocess) and
``pywebview.api.countdown(n)`` (which pushes progress to the page with
``evaluate_js`` while it sleeps), with a CSS animation running meanwhile.
The methods run on asyncio_guest's guest loop inside pywebview's GTK loop;
nothing blocks the window.  ``--auto`` clicks both buttons from Python,
checks what the page shows and closes the window (exit status 0 if all
went right).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Optional

import webview  # pywebview

from asyncio_guest import pywebview as guest_pywebview

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
 body { font: 15px sans-serif; margin: 24px; }
 button { font-size: 15px; margin: 4px 8px 4px 0; }
 #spinner { width: 40px; height: 40px; border: 6px solid #ccd;
            border-top-color: #36c; border-radius: 50%;
            animation: spin 0.8s linear infinite; margin: 12px 0; }
 @keyframes spin { to { transform: rotate(360deg); } }
 pre { background: #f4f4f8; padding: 8px; min-height: 1.5em; }
</style></head><body>
<h3>pywebview + asyncio_guest</h3>
<div id="spinner"></div>
<button id="run">uname -a (asyncio subprocess)</button>
<button id="count">count down 5 (progress from Python)</button>
<pre id="out">waiting for pywebview...</pre>
<script>
const out = document.getElementById('out');
window.progress = (n) => { out.textContent = 'countdown: ' + n; };
window.addEventListener('pywebviewready', () => {
  out.textContent = 'ready';
  document.getElementById('run').onclick = async () => {
    out.textContent = 'running...';
    try { out.textContent = await pywebview.api.run(['uname', '-a']); }
    catch (e) { out.textContent = e.name + ': ' + e.message; }
  };
  document.getElementById('count').onclick = async () => {
    out.textContent = await pywebview.api.countdown(5);
  };
});
</script></body></html>"""


class Api:
    def __init__(self) -> None:
        self.window: Any = None

    async def run(self, argv: list[str]) -> str:
        """Run a command without blocking anything; its output."""
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE)
        stdout, _ = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
        return stdout.decode().strip()

    async def countdown(self, n: int) -> str:
        """Sleep n times 0.2 s, telling the page each step."""
        for i in range(n, 0, -1):
            await guest_pywebview.call(self.window.evaluate_js,
                                       f"progress({i})")
            await asyncio.sleep(0.2)
        return "countdown done"


async def drive(window: Any) -> str:
    """--auto: click both buttons in the page and check what it shows."""
    async def js(code: str) -> Any:
        return await guest_pywebview.call(window.evaluate_js, code)

    async def shown(prefix: str) -> str:
        for _ in range(250):
            text = await js("document.getElementById('out').textContent")
            if text.startswith(prefix):
                return str(text)
            await asyncio.sleep(0.02)
        raise TimeoutError(f"the page never showed {prefix!r}")

    await shown("ready")
    await js("document.getElementById('run').click()")
    uname = await shown("Linux")
    await js("document.getElementById('count').click()")
    seen = await shown("countdown: ")
    done = await shown("countdown done")
    print(json.dumps({"uname": uname, "progress": seen, "end": done}))
    # Shown windows: destroy() only schedules the close (a GLib idle that
    # runs after this coroutine returns), so it need not go through call().
    window.destroy()
    return "ok"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--auto", action="store_true",
                        help="click the buttons from Python, then exit")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the guest on uvloop")
    args = parser.parse_args(argv)
    api = Api()
    api.window = webview.create_window(
        "asyncio_guest + pywebview", html=PAGE,
        js_api=guest_pywebview.api(api), width=640, height=360)
    loop_factory = None
    if args.uvloop:
        import uvloop
        loop_factory = uvloop.new_event_loop
    if not args.auto:
        guest_pywebview.start(loop_factory=loop_factory)
        return 0
    result = guest_pywebview.start(drive, api.window,
                                   loop_factory=loop_factory)
    return 0 if result == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
