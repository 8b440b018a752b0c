"""A Tk window whose button asks first (a modal confirm), then connects
and shows what the server sends until the window closes."""

import asyncio
import tkinter as tk
from tkinter import messagebox

from asyncio_guest import tk as guest_tk

import ticker

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from the peer's version ---------------
root = tk.Tk()
label = tk.Label(root, text="not connected", width=30)
label.pack(padx=20, pady=10)


@guest_tk.async_handler
async def connect():
    if not await guest_tk.modal(messagebox.askyesno, "Connect",
                                f"Connect to port {PORT}?"):
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
guest_tk.run(root)  # until the window closes; its tasks are cancelled then
# ---------------------------------------------------------------------------
stop_server()
