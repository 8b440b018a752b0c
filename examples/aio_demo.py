"""asyncio-guest with asyncio as the host: a uvloop guest inside an
asyncio.run() program (or an asyncio guest, without --uvloop).

The host runs a 10 ms ticker and reports its lateness; the guest runs a busy
TCP echo (server and client); both share one thread, and the host's timer
keeps ticking while the guest works.

Run:  python examples/aio_demo.py [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from asyncio_guest import aio


async def echo_work(round_trips: int) -> float:
    handler_done = asyncio.Event()

    async def echo(reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(100):
                writer.write(data)
        finally:
            writer.close()
            handler_done.set()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    for _ in range(round_trips):
        writer.write(b"x\n")
        await reader.readline()
    rate = round_trips / (time.perf_counter() - started)
    writer.close()
    await handler_done.wait()  # the server side saw EOF: nothing to cancel
    server.close()
    return rate


async def main(use_uvloop: bool) -> None:
    factory = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    late: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            late.append(time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    rate = await aio.run(echo_work, 20000, loop_factory=factory)
    stop.set()
    await tick
    print(f"guest ({'uvloop' if use_uvloop else 'asyncio'}): {rate:,.0f} "
          f"round trips/s; host ticker ran {len(late)} times, lateness "
          f"median {statistics.median(late) * 1e3:.2f} ms, "
          f"max {max(late) * 1e3:.2f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uvloop", action="store_true")
    asyncio.run(main(ap.parse_args().uvloop))
