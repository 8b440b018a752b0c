"""asyncio as a guest of Tk: asyncio_guest.start_guest_run, Trio's shape."""

import asyncio
import tkinter as tk

import asyncio_guest

root = tk.Tk()
label = tk.Label(root, text="starting", width=30)
label.pack(padx=20, pady=20)


async def main():
    for n in range(1000):
        label["text"] = f"tick {n}"
        await asyncio.sleep(0.1)


def done(task):  # the finished main task: .result() returns or raises
    print("run ended:", "cancelled" if task.cancelled() else task.result())
    root.destroy()


run = asyncio_guest.start_guest_run(
    main,
    run_sync_soon_threadsafe=lambda fn: root.after(0, fn),  # Tcl is threaded
    done_callback=done,
)
root.protocol("WM_DELETE_WINDOW", run.cancel)  # a close cancels
root.mainloop()
