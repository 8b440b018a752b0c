"""qt_connect.py written with PySide6.QtAsyncio (the same program)."""

import asyncio
import sys

from PySide6.QtWidgets import (QApplication, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from PySide6 import QtAsyncio
from PySide6.QtNetwork import QTcpSocket

import ticker

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from ours -----------------------------
app = QApplication(sys.argv)
window = QWidget()
layout = QVBoxLayout(window)
label = QLabel("not connected")
button = QPushButton("Connect")
layout.addWidget(label)
layout.addWidget(button)
tasks = set()  # a slot cannot be a coroutine: keep the tasks it starts


def next_emission(signal):
    """A future for the signal's next emission (QtAsyncio has no sockets:
    its create_connection raises NotImplementedError, so Qt's do the I/O)."""
    future = asyncio.get_running_loop().create_future()

    def fire(*args):
        if not future.done():
            future.set_result(args)

    signal.connect(fire)
    future.add_done_callback(lambda _: signal.disconnect(fire))
    return future


async def connect():
    box = QMessageBox(QMessageBox.Icon.Question, "Connect",
                      f"Connect to port {PORT}?",
                      QMessageBox.StandardButton.Yes
                      | QMessageBox.StandardButton.No, window)
    answered = next_emission(box.finished)  # no nested exec() in a task
    box.open()
    if await answered != (QMessageBox.StandardButton.Yes.value,):
        return
    sock = QTcpSocket(window)
    connected = next_emission(sock.connected)
    sock.connectToHost(HOST, PORT)
    try:
        await connected
        while True:
            while sock.canReadLine():
                label.setText(bytes(sock.readLine()).decode().strip())
            await next_emission(sock.readyRead)
    except asyncio.CancelledError:
        print("window closed: reading cancelled")
        raise
    finally:
        sock.abort()


def start_connect():
    task = asyncio.ensure_future(connect())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def main():
    app.setQuitOnLastWindowClosed(False)  # or the loop stops at once
    closed = next_emission(app.lastWindowClosed)
    button.clicked.connect(start_connect)
    window.show()
    await closed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


QtAsyncio.run(main(), keep_running=False)  # asyncio's loop is QtAsyncio's
# ---------------------------------------------------------------------------
stop_server()
