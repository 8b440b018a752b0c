"""A GTK 3 window whose button asks first (a modal confirm), then connects
and shows what the server sends until the window closes."""

import asyncio

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # noqa: E402

from asyncio_guest import gtk as guest_gtk  # noqa: E402

import ticker  # noqa: E402

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from the peer's version ---------------
window = Gtk.Window(title="connect")
box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=10)
label = Gtk.Label(label="not connected")
button = Gtk.Button(label="Connect")
box.add(label)
box.add(button)
window.add(box)


def confirm():
    dialog = Gtk.MessageDialog(transient_for=window, modal=True,
                               message_type=Gtk.MessageType.QUESTION,
                               buttons=Gtk.ButtonsType.YES_NO,
                               text=f"Connect to port {PORT}?")
    try:
        return dialog.run() == Gtk.ResponseType.YES
    finally:
        dialog.destroy()


@guest_gtk.signal_handler
async def connect(button):
    if not await guest_gtk.modal(confirm):
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


button.connect("clicked", connect)
window.show_all()
guest_gtk.run(window=window)  # until it closes; its tasks are cancelled then
# ---------------------------------------------------------------------------
stop_server()
