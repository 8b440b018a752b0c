"""Screenshots of the demos for the docs (``make screenshots``), taken under
an Xvfb of their own: each GUI demo runs with ``--auto`` (it drives itself)
on the real X display -- Tk, GTK, Qt on its xcb platform, pygame on SDL's
x11 driver -- and the screen is grabbed mid-run (Pillow's ``ImageGrab``
over XCB), cropped to the window.  The console demos' output is saved as
text.  A demo that fails, or a blank grab, fails the target.

    python scripts/screenshots.py OUTDIR
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageGrab

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from xvfb import start_xvfb  # noqa: E402

#: name -> (demo and its arguments, extra environment, seconds to the grab)
WINDOWS = {
    "tk": (["examples/tk_demo.py", "--auto"], {}, 2.5),
    "qt": (["examples/qt_demo.py", "--auto"], {"QT_QPA_PLATFORM": "xcb"}, 3.0),
    "gtk": (["examples/gtk_demo.py", "--auto"], {}, 2.5),
    "pygame": (["examples/pygame_demo.py", "--auto"],
               {"SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy"}, 1.5),
}
CONSOLE = {
    "aio": ["examples/aio_demo.py"],
    "tornado": ["examples/tornado_demo.py", "--auto"],
    "trio": ["examples/trio_demo.py"],
}


def grab(display: str) -> "Image.Image | None":
    """The screen cropped to what is not background, or None if blank."""
    shot = ImageGrab.grab(xdisplay=display).convert("RGB")
    box = Image.eval(shot, lambda v: 255 if v else 0).convert("L").getbbox()
    return None if box is None else shot.crop(box)


def shoot(demo: "subprocess.Popen[str]", display: str, when: float,
          out: Path) -> None:
    """Grab every 0.1 s; save the last grab with a window on it taken
    ``when`` seconds in (or before the demo closed its window)."""
    start, kept = time.monotonic(), None
    while demo.poll() is None and time.monotonic() - start < when:
        kept = grab(display) or kept
        time.sleep(0.1)
    if kept is None:
        raise SystemExit(f"screenshots: {out.name}: no window was seen")
    kept.save(out)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    xvfb, display = start_xvfb("1024x768x24")
    try:
        env = dict(os.environ, DISPLAY=display, PYGAME_HIDE_SUPPORT_PROMPT="1")
        for name, (argv, extra, when) in WINDOWS.items():
            demo = subprocess.Popen([sys.executable, *argv], cwd=ROOT,
                                    env=dict(env, **extra),
                                    stdout=subprocess.PIPE, text=True)
            shoot(demo, display, when, out / f"{name}.png")
            if demo.wait(timeout=60):
                raise SystemExit(f"screenshots: {name}: exit {demo.returncode}")
            print(f"screenshots: {out / (name + '.png')}")
        done = subprocess.run(
            [sys.executable, "examples/webview_demo.py", "--auto",
             "--screenshot", str(out / "webview.png")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise SystemExit(f"screenshots: webview: {done.stderr}")
        print(f"screenshots: {out / 'webview.png'}")
        for name, argv in CONSOLE.items():
            done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            if done.returncode:
                raise SystemExit(f"screenshots: {name}: {done.stderr}")
            (out / f"{name}.txt").write_text(
                f"$ python {' '.join(argv)}\n{done.stdout}")
            print(f"screenshots: {out / (name + '.txt')}")
    finally:
        xvfb.terminate()
        xvfb.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
