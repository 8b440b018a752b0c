"""asyncio-guest with Trio as the host: asyncio code (streams, a server)
running inside a Trio program, on asyncio's loop or uvloop.

The Trio side runs a progress ticker; the asyncio side runs an echo server
and a client. Trio cancels the asyncio side after a while with
trio.move_on_after, and the guest tears down cleanly.

Run:  python examples/trio_demo.py [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import functools

import trio

from asyncio_guest import trio as guest_trio


async def asyncio_side(counter: list[int]) -> None:
    handler_done = asyncio.Event()

    async def echo(reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(100):
                writer.write(data)
        except ConnectionError:
            pass  # the client went away mid-write when it was cancelled
        finally:
            writer.close()
            handler_done.set()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(b"ping\n")
            await reader.readline()
            counter[0] += 1
    finally:
        writer.close()
        await handler_done.wait()  # the server side saw EOF: nothing to cancel
        server.close()
        print(f"asyncio side: cancelled after {counter[0]:,} round trips")


async def main(use_uvloop: bool) -> None:
    factory = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    counter = [0]
    async with trio.open_nursery() as nursery:
        async def ticker() -> None:
            while True:
                await trio.sleep(0.25)
                print(f"trio side: {counter[0]:,} round trips so far")

        nursery.start_soon(ticker)
        with trio.move_on_after(1.2):
            await guest_trio.run(asyncio_side, counter, loop_factory=factory)
        nursery.cancel_scope.cancel()
    print("done")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uvloop", action="store_true")
    trio.run(functools.partial(main, ap.parse_args().uvloop))
