"""asyncio-guest Tornado demo: a Tornado web app with a uvloop (or asyncio)
guest loop running beside it on the same thread.

The guest runs a TCP "price feed" server and a client that keeps the latest
prices; Tornado serves them at http://127.0.0.1:PORT/ and streams progress
of a slow job at /job.  Tornado's handlers stay on Tornado's loop and await
guest work with ``run_in_guest``.

Run:  python examples/tornado_demo.py [--uvloop] [--auto]
      (--auto: requests its own pages, prints them, exits; for CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from typing import Any, Optional

import tornado.httpclient
import tornado.web

from asyncio_guest import tornado as guest_tornado
from asyncio_guest.aio import run_in_guest

PRICES: dict[str, float] = {}
GUEST: Any = None


async def feed_server(reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
    rng = random.Random(7)
    try:
        while True:
            symbol = rng.choice(["ABC", "XYZ", "QRS"])
            writer.write(f"{symbol} {100 + rng.random() * 10:.2f}\n".encode())
            await writer.drain()
            await asyncio.sleep(0.01)
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


async def guest_main() -> None:
    """The guest loop: a feed server and a client keeping PRICES fresh."""
    server = await asyncio.start_server(feed_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while line := await reader.readline():
            symbol, price = line.decode().split()
            PRICES[symbol] = float(price)
    finally:
        writer.close()
        server.close()


async def slow_job(steps: int) -> list[int]:
    """Guest work that a Tornado handler awaits."""
    done = []
    for i in range(steps):
        await asyncio.sleep(0.02)
        done.append(i)
    return done


class PricesHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        loop = type(GUEST.loop).__module__.split(".")[0]
        self.write({"guest loop": loop, "prices": PRICES})


class JobHandler(tornado.web.RequestHandler):
    async def get(self) -> None:
        steps = int(self.get_argument("steps", "10"))
        result = await run_in_guest(GUEST, slow_job(steps))
        self.write({"steps done": len(result)})


async def main(use_uvloop: bool, auto: bool, port: int) -> Optional[str]:
    global GUEST
    factory = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    GUEST = guest_tornado.start(guest_main, loop_factory=factory)
    app = tornado.web.Application([(r"/", PricesHandler), (r"/job", JobHandler)])
    server = app.listen(port, address="127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    print(f"serving on http://127.0.0.1:{port}/ and /job?steps=10")
    if not auto:
        await asyncio.Event().wait()
    client = tornado.httpclient.AsyncHTTPClient()
    await asyncio.sleep(0.3)  # let the feed fill in
    prices = json.loads((await client.fetch(f"http://127.0.0.1:{port}/")).body)
    job = json.loads((await client.fetch(
        f"http://127.0.0.1:{port}/job?steps=5")).body)
    server.stop()
    GUEST.cancel()
    while not GUEST.done:
        await asyncio.sleep(0.01)
    return f"{prices}\n{job}"


def cli() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--auto", action="store_true")
    ap.add_argument("--port", type=int, default=8888)
    args = ap.parse_args()
    out = asyncio.run(main(args.uvloop, args.auto, 0 if args.auto else args.port))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
