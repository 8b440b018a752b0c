"""A Qt window whose button asks first (a modal confirm), then connects
and shows what the server sends until the window closes."""

import asyncio
import sys

from PySide6.QtWidgets import (QApplication, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from asyncio_guest import qt as guest_qt

import ticker

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from the peer's version ---------------
app = QApplication(sys.argv)
window = QWidget()
layout = QVBoxLayout(window)
label = QLabel("not connected")
button = QPushButton("Connect")
layout.addWidget(label)
layout.addWidget(button)


@guest_qt.async_slot
async def connect():
    answer = await guest_qt.modal(QMessageBox.question, window, "Connect",
                                  f"Connect to port {PORT}?")
    if answer != QMessageBox.StandardButton.Yes:
        return
    reader, writer = await asyncio.open_connection(HOST, PORT)
    try:
        while line := await reader.readline():
            label.setText(line.decode().strip())
    except asyncio.CancelledError:
        print("window closed: reading cancelled")
        raise
    finally:
        writer.close()


button.clicked.connect(connect)
window.show()
guest_qt.run()  # until the last window closes; its tasks are cancelled then
# ---------------------------------------------------------------------------
stop_server()
