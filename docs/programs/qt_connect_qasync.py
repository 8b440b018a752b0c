"""qt_connect.py written with qasync (the same program)."""

import asyncio
import sys

from PySide6.QtWidgets import (QApplication, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

import qasync

import ticker

HOST, PORT, stop_server = ticker.start()  # docs/programs/ticker.py

# --- the app: the part that differs from ours -----------------------------
class Window(QWidget):
    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        self.label = QLabel("not connected")
        button = QPushButton("Connect")
        layout.addWidget(self.label)
        layout.addWidget(button)
        button.clicked.connect(self.connect)

    @qasync.asyncSlot()  # a method: on a plain function it raises TypeError
    async def connect(self):
        answer = await qasync.asyncWrap(QMessageBox.question, self, "Connect",
                                        f"Connect to port {PORT}?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        reader, writer = await asyncio.open_connection(HOST, PORT)
        try:
            while line := await reader.readline():
                self.label.setText(line.decode().strip())
        except asyncio.CancelledError:
            print("window closed: reading cancelled")
            raise
        finally:
            writer.close()


async def main():
    closed = asyncio.Event()  # qasync.run needs a coroutine to wait on
    QApplication.instance().aboutToQuit.connect(closed.set)
    window = Window()
    window.show()
    await closed.wait()


app = QApplication(sys.argv)
qasync.run(main())  # asyncio's loop is replaced by qasync's, on Qt's
# ---------------------------------------------------------------------------
stop_server()
