"""asyncio-guest GTK demo: a smooth GTK 3 / GTK 4 GUI while asyncio does
real network I/O.

What you see:
* a Gtk.Spinner (animated by GTK itself) and a clock driven by a GLib timer,
  plus a label animated by an asyncio coroutine: all stay smooth throughout;
* "Download": a client fetches 4 MiB, in chunks, from an asyncio TCP server
  running in the same program, with a progress bar; "Cancel" stops it.

Everything asyncio runs on the GTK thread, so coroutines touch widgets
directly; GTK signals start coroutines through ``signal_handler``.

Run:  python examples/gtk_demo.py              (GTK 3, a window)
      python examples/gtk_demo.py --gtk 4      (GTK 4)
      python examples/gtk_demo.py --uvloop     (the guest on uvloop)
      python examples/gtk_demo.py --auto       (clicks through by itself,
                                                prints what happened, exits)
Needs a display (under CI: xvfb-run).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any, Optional

import gi

CHUNK = 64 * 1024
DOWNLOAD_BYTES = 4 * 1024 * 1024
FRAMES = "|/-\\"


async def serve(reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """'GET n\\n' -> n bytes in chunks, a little paced so that the progress
    bar has something to show."""
    try:
        while line := await reader.readline():
            if line.startswith(b"GET "):
                left = int(line[4:])
                while left > 0 and not writer.is_closing():
                    n = min(CHUNK, left)
                    writer.write(b"x" * n)
                    await writer.drain()
                    left -= n
                    await asyncio.sleep(0.01)
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client went away (a cancelled download), or shutdown
    finally:
        writer.close()


class Demo:
    def __init__(self, Gtk: Any, GLib: Any, guest_gtk: Any, title: str) -> None:
        self.Gtk = Gtk
        self.gtk4 = Gtk.get_major_version() >= 4
        self.events: list[str] = []
        self.frames = 0
        self.download_task: Optional[asyncio.Task[None]] = None
        self.port = 0

        self.window = Gtk.Window(title=title)
        self.window.set_default_size(420, 160)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        top = Gtk.Box(spacing=6)
        self.spinner = Gtk.Spinner()
        self.spinner.start()
        self.anim = Gtk.Label(label=FRAMES[0])
        self.clock = Gtk.Label(label="")
        self.status = Gtk.Label(label="starting")
        self.progress = Gtk.ProgressBar()
        buttons = Gtk.Box(spacing=6)
        self.download_button = Gtk.Button(label="Download")
        self.cancel_button = Gtk.Button(label="Cancel")
        self.download_button.connect(
            "clicked", guest_gtk.signal_handler(self.download))
        self.cancel_button.connect("clicked", self.cancel)
        for parent, children in ((top, (self.spinner, self.anim, self.clock)),
                                 (buttons, (self.download_button,
                                            self.cancel_button)),
                                 (box, (top, self.progress, self.status,
                                        buttons))):
            for child in children:
                if self.gtk4:
                    parent.append(child)
                else:
                    parent.pack_start(child, False, False, 0)
        if self.gtk4:
            self.window.set_child(box)
            self.window.present()
        else:
            self.window.add(box)
            self.window.show_all()
        GLib.timeout_add(100, self.tick_clock)  # a plain GLib timer

    def tick_clock(self) -> bool:
        self.clock.set_label(time.strftime("%H:%M:%S"))
        return True

    async def animate(self) -> None:
        while True:
            self.frames += 1
            self.anim.set_label(FRAMES[self.frames % len(FRAMES)])
            await asyncio.sleep(1 / 30)

    async def download(self) -> None:
        if self.download_task is not None:
            return
        self.download_task = asyncio.current_task()
        received = 0
        start = time.perf_counter()
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1",
                                                           self.port)
            writer.write(f"GET {DOWNLOAD_BYTES}\n".encode())
            while received < DOWNLOAD_BYTES:
                data = await reader.read(CHUNK)
                if not data:
                    break
                received += len(data)
                self.progress.set_fraction(received / DOWNLOAD_BYTES)
                self.status.set_label(f"downloading: {received // 1024} KiB")
            elapsed = time.perf_counter() - start
            self.status.set_label(
                f"downloaded {received // 1024} KiB in {elapsed:.2f} s")
            self.events.append(f"download complete: {received} bytes")
        except asyncio.CancelledError:
            self.status.set_label(f"cancelled at {received // 1024} KiB")
            self.events.append(f"download cancelled at {received} bytes")
            raise
        finally:
            if writer is not None:
                writer.close()
            self.download_task = None

    def cancel(self, _button: Any) -> None:
        # A plain GTK handler cancels a guest task directly.
        if self.download_task is not None:
            self.download_task.cancel()

    async def main(self, auto: bool) -> list[str]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.status.set_label(f"server on 127.0.0.1:{self.port}; click "
                              "Download")
        animation = asyncio.create_task(self.animate())
        try:
            if auto:
                await self.autopilot()
            else:
                await asyncio.Event().wait()  # until the window is closed
        finally:
            animation.cancel()
            server.close()
        return self.events

    async def autopilot(self) -> None:
        async def wait_idle() -> None:
            while self.download_task is not None:
                await asyncio.sleep(0.05)

        self.download_button.emit("clicked")
        await asyncio.sleep(0.3)
        self.cancel_button.emit("clicked")
        await wait_idle()
        self.download_button.emit("clicked")
        await asyncio.sleep(0.05)
        await wait_idle()
        self.events.append(f"animation frames drawn: {self.frames}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true",
                        help="click through the demo by itself, then exit")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the guest on uvloop")
    parser.add_argument("--gtk", choices=("3", "4"), default="3",
                        help="GTK major version (default 3)")
    args = parser.parse_args()
    gi.require_version("Gtk", f"{args.gtk}.0")
    from gi.repository import GLib, Gtk

    from asyncio_guest import gtk as guest_gtk

    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    title = (f"asyncio-guest: GTK {args.gtk} demo "
             f"({'uvloop' if args.uvloop else 'asyncio'})")
    demo = Demo(Gtk, GLib, guest_gtk, title)
    events = guest_gtk.run(demo.main, args.auto, loop_factory=loop_factory,
                           window=demo.window)
    if events is None:
        print("window closed")
        return 0
    for line in events:
        print(line)
    ok = (any(e.startswith("download cancelled") for e in events)
          and any(e.startswith("download complete") for e in events))
    return 0 if ok or not args.auto else 1


if __name__ == "__main__":
    sys.exit(main())
