"""tk_connect.py written with async-tkinter-loop (the same program)."""

import asyncio
import tkinter as tk
from tkinter import messagebox

from async_tkinter_loop import async_handler, async_mainloop

import ticker

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from ours -----------------------------
root = tk.Tk()
label = tk.Label(root, text="not connected", width=30)
label.pack(padx=20, pady=10)
tasks = set()  # async_handler returns None: keep the tasks to cancel them


@async_handler
async def connect():
    tasks.add(asyncio.current_task())
    # a dialog from a coroutine: the asyncio loop stops while it is open
    if not messagebox.askyesno("Connect", f"Connect to port {PORT}?"):
        return
    reader, writer = await asyncio.open_connection(HOST, PORT)
    try:
        while line := await reader.readline():
            label["text"] = line.decode().strip()
    except asyncio.CancelledError:
        print("window closed: reading cancelled")
        raise
    finally:
        writer.close()


tk.Button(root, text="Connect", command=connect).pack(pady=10)
loop = asyncio.new_event_loop()
async_mainloop(root, loop)  # until the window closes; the tasks stay pending
for task in tasks:
    task.cancel()
loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
loop.close()
# ---------------------------------------------------------------------------
stop_server()
