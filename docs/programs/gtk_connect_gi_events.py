"""gtk_connect.py written with PyGObject's gi.events (the same program)."""

import asyncio

import gi

gi.require_version("Gtk", "3.0")
from gi.events import GLibEventLoopPolicy  # noqa: E402
from gi.repository import GLib, Gtk  # noqa: E402

import ticker  # noqa: E402

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from ours -----------------------------
asyncio.set_event_loop_policy(GLibEventLoopPolicy())  # asyncio's loop: GLib's
window = Gtk.Window(title="connect")
box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=10)
label = Gtk.Label(label="not connected")
button = Gtk.Button(label="Connect")
box.add(label)
box.add(button)
window.add(box)
tasks = set()  # no async handler helper: keep the tasks to cancel them


async def confirm():  # Gtk.Dialog.run() must not be used under gi.events
    dialog = Gtk.MessageDialog(transient_for=window, modal=True,
                               message_type=Gtk.MessageType.QUESTION,
                               buttons=Gtk.ButtonsType.YES_NO,
                               text=f"Connect to port {PORT}?")
    answered = asyncio.get_running_loop().create_future()
    dialog.connect("response", lambda _, response: answered.set_result(response))
    dialog.show()
    try:
        return await answered == Gtk.ResponseType.YES
    finally:
        dialog.destroy()


async def connect():
    if not await confirm():
        return
    reader, writer = await asyncio.open_connection(HOST, PORT)
    try:
        while line := await reader.readline():
            label.set_text(line.decode().strip())
    except asyncio.CancelledError:
        print("window closed: reading cancelled")
        raise
    finally:
        writer.close()


def on_click(button):
    task = asyncio.get_running_loop().create_task(connect())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def close():
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    main_loop.quit()


def on_destroy(window):
    window.closing = asyncio.get_running_loop().create_task(close())


button.connect("clicked", on_click)
window.connect("destroy", on_destroy)
window.show_all()
main_loop = GLib.MainLoop()
main_loop.run()  # asyncio runs while it does
# -------------------------------------------------------------------------
stop_server()
