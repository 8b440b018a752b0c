"""asyncio-guest pygame demo: a 60 fps game loop while asyncio does real I/O.

What you see:
* a ball bouncing across the window, moved and drawn by *your* loop (the
  classic ``for event in pygame.event.get(): ...; clock.tick(60)``);
* "D": a client downloads 4 MiB, in chunks, from an asyncio TCP server that
  runs in the same program, drawing a progress bar as it goes;
  "Escape" or "C" cancels the download; closing the window (or "Q") quits,
  after asyncio's clean-up.

asyncio runs as a guest of the loop: every event goes through
``guest_pygame.process(event)`` first, which runs the asyncio loop when the
event is the guest's.  Coroutines run on the main thread, between frames,
so they may touch pygame state directly.

Run:  python examples/pygame_demo.py          (a window)
      python examples/pygame_demo.py --uvloop (the same on uvloop)
      python examples/pygame_demo.py --auto   (SDL's dummy driver; presses
                                               the keys by itself, prints
                                               what happened, exits; for CI)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any, Optional

CHUNK = 64 * 1024
DOWNLOAD_BYTES = 4 * 1024 * 1024
SIZE = (480, 180)


async def serve(reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """'GET n\\n' -> n bytes in chunks, paced a little so that the progress
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
        pass  # the client went away (a cancelled download)
    finally:
        writer.close()


class Demo:
    def __init__(self, pygame: Any, guest_pygame: Any) -> None:
        self.pg = pygame
        self.guest_pygame = guest_pygame
        self.screen = pygame.display.set_mode(SIZE)
        pygame.display.set_caption("asyncio-guest: pygame demo")
        self.font = pygame.font.Font(None, 24)
        self.port = 0
        self.received = 0
        self.status = "starting the server..."
        self.download_task: Optional[asyncio.Task[None]] = None
        self.events: list[str] = []
        self.frames = 0
        self.ball_x = 20.0
        self.ball_v = 240.0  # px/s
        self.download_key = guest_pygame.async_handler(self.download)

    # -- asyncio side ----------------------------------------------------------

    async def main(self, auto: bool) -> list[str]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.status = "press D to download, Esc/C to cancel, Q to quit"
        async with server:
            if auto:
                await self.autopilot()
            else:
                await asyncio.Event().wait()  # until the window closes
        return self.events

    async def download(self, event: Any = None) -> None:
        if self.download_task is not None:
            return
        self.download_task = asyncio.current_task()
        self.received = 0
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(f"GET {DOWNLOAD_BYTES}\n".encode())
            while self.received < DOWNLOAD_BYTES:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    break
                self.received += len(chunk)
                self.status = f"downloading: {self.received // 1024} KiB"
            elapsed = time.perf_counter() - started
            self.status = (f"downloaded {self.received // 1024} KiB in "
                           f"{elapsed:.2f} s")
            self.events.append(f"download complete: {self.received} bytes")
        except asyncio.CancelledError:
            self.status = f"cancelled at {self.received // 1024} KiB"
            self.events.append(f"download cancelled at {self.received} bytes")
            raise
        finally:
            writer.close()
            self.download_task = None

    async def autopilot(self) -> None:
        """--auto: press the keys a user would, through pygame's queue."""
        pg = self.pg

        def press(key: int) -> None:
            pg.event.post(pg.event.Event(pg.KEYDOWN, key=key, mod=0,
                                         unicode="", scancode=0))

        async def until(pred: Any, what: str, timeout: float = 20.0) -> None:
            end = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > end:
                    raise TimeoutError(f"autopilot: no {what}")
                await asyncio.sleep(0.01)

        await asyncio.sleep(0.2)
        frames = self.frames
        press(pg.K_d)
        await until(lambda: any("complete" in e for e in self.events),
                    "completed download")
        self.events.append(f"frames drawn during the download: "
                           f"{self.frames - frames}")
        self.received = 0
        press(pg.K_d)
        await until(lambda: self.download_task is not None
                    and self.received > DOWNLOAD_BYTES // 4,
                    "progress on the second download")
        press(pg.K_ESCAPE)
        await until(lambda: any("cancelled" in e for e in self.events),
                    "cancellation")
        await asyncio.sleep(0.2)
        pg.event.post(pg.event.Event(pg.QUIT))  # "close the window"
        await asyncio.sleep(3600)  # cancelled by the QUIT

    # -- the user's loop ----------------------------------------------------------

    def on_key(self, event: Any) -> None:
        pg = self.pg
        if event.key == pg.K_d:
            self.download_key(event)  # an async def, started on the guest
        elif event.key in (pg.K_ESCAPE, pg.K_c):
            if self.download_task is not None:
                self.download_task.cancel()  # plain code may cancel tasks
        elif event.key == pg.K_q:
            pg.event.post(pg.event.Event(pg.QUIT))

    def draw(self, dt: float) -> None:
        pg = self.pg
        w, h = SIZE
        self.ball_x += self.ball_v * dt
        if self.ball_x < 15 or self.ball_x > w - 15:
            self.ball_v = -self.ball_v
            self.ball_x = min(max(self.ball_x, 15), w - 15)
        self.screen.fill((245, 245, 245))
        pg.draw.circle(self.screen, (58, 123, 213), (int(self.ball_x), 35), 14)
        text = self.font.render(self.status, True, (20, 20, 20))
        self.screen.blit(text, (15, 75))
        pg.draw.rect(self.screen, (200, 200, 200), (15, 110, w - 30, 24), 1)
        filled = int((w - 32) * self.received / DOWNLOAD_BYTES)
        pg.draw.rect(self.screen, (58, 170, 90), (16, 111, filled, 22))
        pg.display.flip()
        self.frames += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true",
                        help="drive itself under SDL's dummy driver, print "
                        "what happened, exit (for CI)")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the guest on uvloop")
    args = parser.parse_args()
    if args.auto:  # SDL's dummy drivers unless told otherwise (screenshots)
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

    import pygame

    from asyncio_guest import pygame as guest_pygame

    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop

    pygame.init()
    demo = Demo(pygame, guest_pygame)
    run = guest_pygame.start(demo.main, args.auto, loop_factory=loop_factory,
                             done_callback=lambda task: None)
    clock = pygame.time.Clock()
    started = time.perf_counter()
    quitting = False
    dt = 0.0
    # The user's loop: events, then a frame, 60 times a second.
    while not run.done:
        for event in pygame.event.get():
            if guest_pygame.process(event):
                continue  # asyncio ran
            if event.type == pygame.QUIT and not quitting:
                quitting = True
                demo.status = "quitting..."
                run.cancel()  # asyncio's teardown follows, then run.done
            elif event.type == pygame.KEYDOWN:
                demo.on_key(event)
        demo.draw(dt)
        dt = clock.tick(60) / 1000
    elapsed = time.perf_counter() - started
    pygame.quit()

    task = run.task
    if not task.cancelled() and task.exception() is not None:
        print(f"main failed: {task.exception()!r}", file=sys.stderr)
        return 1
    loop_name = "uvloop" if args.uvloop else "asyncio"
    for line in demo.events:
        print(line)
    print(f"{demo.frames} frames in {elapsed:.2f} s "
          f"({demo.frames / elapsed:.0f} fps) on {loop_name}; "
          f"teardown complete: loop closed = {run.loop.is_closed()}")
    if args.auto:
        ok = (any("download complete" in e for e in demo.events)
              and any("download cancelled" in e for e in demo.events)
              and quitting and run.loop.is_closed())
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
