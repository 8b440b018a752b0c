"""Trio as a guest of Tk: trio.lowlevel.start_guest_run."""

import tkinter as tk

import trio

root = tk.Tk()
label = tk.Label(root, text="starting", width=30)
label.pack(padx=20, pady=20)


async def main():
    with trio.CancelScope() as scope:
        root.protocol("WM_DELETE_WINDOW", scope.cancel)  # a close cancels
        for n in range(1000):
            label["text"] = f"tick {n}"
            await trio.sleep(0.1)


def done(outcome):  # an outcome.Outcome: .unwrap() returns or raises
    print("run ended:", outcome.unwrap())
    root.destroy()


trio.lowlevel.start_guest_run(
    main,
    run_sync_soon_threadsafe=lambda fn: root.after(0, fn),  # Tcl is threaded
    done_callback=done,
)
root.mainloop()
