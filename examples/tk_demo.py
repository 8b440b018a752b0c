"""asyncio-guest Tk demo: a smooth GUI while asyncio does real network I/O.

What you see:
* a spinner animated by an asyncio coroutine (asyncio.sleep at 60 fps) and a
  clock driven by Tk's own ``after`` timer: both stay smooth throughout;
* "Download": a client fetches 4 MiB, in chunks, from an asyncio TCP server
  running in the same program, with a progress bar; "Cancel" stops it;
* "Ping x2000": 2,000 TCP round trips to the same server, then the rate.

Everything asyncio runs on the Tk thread, so coroutines touch widgets
directly; Tk callbacks start coroutines with ``async_handler``.

Run:  python examples/tk_demo.py          (a window)
      python examples/tk_demo.py --uvloop (the same on uvloop)
      python examples/tk_demo.py --auto   (clicks through by itself, prints
                                           what happened, exits; for CI)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tkinter as tk
from tkinter import ttk
from typing import Optional

from asyncio_guest import tk as guest_tk

CHUNK = 64 * 1024
DOWNLOAD_BYTES = 4 * 1024 * 1024


async def serve(reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """Tiny protocol: 'GET n\\n' -> n bytes in chunks (with a little pacing so
    the progress bar has something to show); 'PING\\n' lines -> 'PONG\\n'."""
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
            elif line == b"PING\n":
                writer.write(b"PONG\n")
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client went away (a cancelled download), or shutdown
    finally:
        writer.close()


class Demo:
    def __init__(self, root: tk.Tk) -> None:
        self.root = root
        self.port = 0
        self.download_task: Optional[asyncio.Task[None]] = None
        self.frames = 0
        self.events: list[str] = []
        self.done = asyncio.Event()

        root.title("asyncio-guest: Tk demo")
        top = ttk.Frame(root, padding=10)
        top.pack(fill="both", expand=True)
        self.canvas = tk.Canvas(top, width=80, height=80, highlightthickness=0)
        self.canvas.grid(row=0, column=0, rowspan=3, padx=(0, 12))
        self.arc = self.canvas.create_arc(8, 8, 72, 72, start=0, extent=270,
                                          style="arc", width=6,
                                          outline="#3a7bd5")
        self.clock = ttk.Label(top, font=("TkFixedFont", 14))
        self.clock.grid(row=0, column=1, sticky="w")
        self.fps = ttk.Label(top, text="spinner: - fps")
        self.fps.grid(row=1, column=1, sticky="w")
        self.status = ttk.Label(top, text="idle", wraplength=380)
        self.status.grid(row=3, column=0, columnspan=2, sticky="w",
                         pady=(10, 4))
        self.progress = ttk.Progressbar(top, length=380, maximum=DOWNLOAD_BYTES)
        self.progress.grid(row=4, column=0, columnspan=2, sticky="we")
        buttons = ttk.Frame(top)
        buttons.grid(row=5, column=0, columnspan=2, pady=10, sticky="w")
        self.download_button = ttk.Button(
            buttons, text="Download", command=guest_tk.async_handler(self.download))
        self.download_button.pack(side="left")
        self.cancel_button = ttk.Button(buttons, text="Cancel",
                                        command=self.cancel, state="disabled")
        self.cancel_button.pack(side="left", padx=6)
        self.ping_button = ttk.Button(
            buttons, text="Ping x2000", command=guest_tk.async_handler(self.ping))
        self.ping_button.pack(side="left")
        self.tick_clock()

    # Tk's own timer, untouched by asyncio: shows the host loop stays live.
    def tick_clock(self) -> None:
        self.clock.config(text=time.strftime("%H:%M:%S"))
        self.root.after(200, self.tick_clock)

    async def spin(self) -> None:
        """An asyncio coroutine animating a Tk canvas at 60 fps."""
        start = last = time.perf_counter()
        frames = 0
        while True:
            await asyncio.sleep(1 / 60)
            now = time.perf_counter()
            self.canvas.itemconfigure(self.arc, start=(now - start) * 360 % 360)
            frames += 1
            self.frames += 1
            if now - last >= 1:
                self.fps.config(text=f"spinner: {frames / (now - last):.0f} fps")
                frames, last = 0, now

    async def download(self) -> None:
        if self.download_task is not None:
            return
        self.download_task = asyncio.current_task()
        self.cancel_button.config(state="normal")
        self.progress.config(value=0)
        received = 0
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(f"GET {DOWNLOAD_BYTES}\n".encode())
            while received < DOWNLOAD_BYTES:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                self.progress.config(value=received)
                self.status.config(text=f"downloading: {received // 1024} KiB")
            elapsed = time.perf_counter() - started
            self.status.config(
                text=f"downloaded {received // 1024} KiB in {elapsed:.2f} s")
            self.events.append(f"download complete: {received} bytes")
        except asyncio.CancelledError:
            self.status.config(text=f"cancelled at {received // 1024} KiB")
            self.events.append(f"download cancelled at {received} bytes")
            raise
        finally:
            writer.close()
            self.download_task = None
            self.cancel_button.config(state="disabled")

    def cancel(self) -> None:
        """A plain Tk command: cancelling a task works from here too."""
        if self.download_task is not None:
            self.download_task.cancel()

    async def ping(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            writer.write(b"PING\n")
            await reader.readline()
        rate = n / (time.perf_counter() - started)
        writer.close()
        self.status.config(text=f"{n} round trips: {rate:,.0f} per second")
        self.events.append(f"ping: {rate:.0f} round trips/s")

    async def main(self, auto: bool) -> list[str]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.status.config(text=f"server on 127.0.0.1:{self.port}; click "
                           "Download or Ping")
        spinner = asyncio.create_task(self.spin())
        try:
            if auto:
                await self.autopilot()
            else:
                await asyncio.Event().wait()  # until the window is closed
        finally:
            spinner.cancel()
            server.close()
        return self.events

    async def autopilot(self) -> None:
        """--auto: click through the demo like a user would."""
        async def wait_idle() -> None:
            while self.download_task is not None:
                await asyncio.sleep(0.05)

        self.download_button.invoke()
        await asyncio.sleep(0.3)
        self.cancel_button.invoke()
        await wait_idle()
        self.download_button.invoke()
        await asyncio.sleep(0.05)
        await wait_idle()
        self.ping_button.invoke()
        while not any(e.startswith("ping") for e in self.events):
            await asyncio.sleep(0.05)
        self.events.append(f"spinner frames drawn: {self.frames}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true",
                        help="click through the demo by itself, then exit")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the guest on uvloop instead of asyncio's "
                        "own loop")
    args = parser.parse_args()
    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    root = tk.Tk()
    demo = Demo(root)
    root.title(f"asyncio-guest: Tk demo ({'uvloop' if args.uvloop else 'asyncio'})")
    events = guest_tk.run(root, demo.main, args.auto, loop_factory=loop_factory)
    if events is None:
        print("window closed")
        return 0
    for line in events:
        print(line)
    ok = (any(e.startswith("download cancelled") for e in events)
          and any(e.startswith("download complete") for e in events)
          and any(e.startswith("ping") for e in events))
    return 0 if ok or not args.auto else 1


if __name__ == "__main__":
    sys.exit(main())
