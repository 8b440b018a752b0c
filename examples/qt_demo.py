"""asyncio-guest Qt demo: a spinner animated by asyncio, a Qt clock, and a
download from a local asyncio TCP server with a progress bar and a Cancel
button, all in one Qt program (PySide6, PyQt6 or PyQt5).

    python examples/qt_demo.py                 # a window (needs a display)
    python examples/qt_demo.py --auto          # drives itself offscreen, exits 0
    python examples/qt_demo.py --uvloop --binding PyQt5
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import math
import os
import sys
import time
from typing import Any

SIZE = 4 * 1024 * 1024  # bytes the server sends
CHUNK = 16 * 1024


async def serve(reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """The 'remote' server: sends SIZE bytes slowly enough to watch."""
    try:
        await reader.readline()
        writer.write(f"{SIZE}\n".encode())
        sent = 0
        while sent < SIZE:
            writer.write(b"x" * CHUNK)
            sent += CHUNK
            await writer.drain()
            await asyncio.sleep(0.004)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


_app: Any = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true",
                        help="run offscreen, click by itself, print, exit")
    parser.add_argument("--uvloop", action="store_true",
                        help="uvloop as the guest loop")
    parser.add_argument("--binding", choices=["PySide6", "PyQt6", "PyQt5"],
                        help="Qt binding (default: see asyncio_guest.qt)")
    opts = parser.parse_args()
    if opts.auto or not (os.environ.get("DISPLAY")
                         or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        opts.auto = True

    from asyncio_guest import qt as guest_qt

    binding = guest_qt.resolve_binding(opts.binding)
    QtCore: Any = importlib.import_module(f"{binding}.QtCore")
    QtGui: Any = importlib.import_module(f"{binding}.QtGui")
    QtWidgets: Any = importlib.import_module(f"{binding}.QtWidgets")
    loop_factory = None
    if opts.uvloop:
        import uvloop
        loop_factory = uvloop.new_event_loop

    # Module-level: the application must outlive every widget (PySide6
    # aborts at exit when a local QApplication goes before its widgets).
    global _app
    app = _app = QtWidgets.QApplication(sys.argv[:1])
    log: list[str] = []
    stats = {"spinner frames": 0, "clock ticks": 0}

    class Spinner(QtWidgets.QWidget):
        """Drawn by Qt, animated by an asyncio task (the angle)."""

        def __init__(self) -> None:
            super().__init__()
            self.angle = 0.0
            self.setMinimumSize(80, 80)

        def paintEvent(self, event: Any) -> None:
            p = QtGui.QPainter(self)
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            cx, cy = self.width() / 2, self.height() / 2
            r = min(cx, cy) - 8
            for i in range(12):
                a = self.angle + i * math.pi / 6
                c = QtGui.QColor(40, 90, 200)
                c.setAlphaF(0.15 + 0.85 * i / 11)
                p.setBrush(c)
                p.setPen(QtCore.Qt.PenStyle.NoPen)
                p.drawEllipse(QtCore.QPointF(cx + r * math.cos(a),
                                             cy + r * math.sin(a)), 5, 5)
            p.end()

    window = QtWidgets.QWidget()
    window.setWindowTitle(f"asyncio-guest + {binding}")
    layout = QtWidgets.QVBoxLayout(window)
    spinner = Spinner()
    clock = QtWidgets.QLabel()
    status = QtWidgets.QLabel("press Download")
    bar = QtWidgets.QProgressBar()
    bar.setRange(0, SIZE)
    download = QtWidgets.QPushButton("Download")
    cancel = QtWidgets.QPushButton("Cancel")
    cancel.setEnabled(False)
    for w in (spinner, clock, status, bar, download, cancel):
        layout.addWidget(w)
    window.resize(320, 280)

    def tick_clock() -> None:  # a plain Qt timer, next to the guest
        stats["clock ticks"] += 1
        clock.setText(time.strftime("Qt clock: %H:%M:%S"))

    clock_timer = QtCore.QTimer()
    clock_timer.timeout.connect(tick_clock)
    clock_timer.start(250)
    tick_clock()

    state: dict[str, Any] = {}

    async def spin() -> None:
        while True:
            spinner.angle += 0.12
            spinner.update()
            stats["spinner frames"] += 1
            await asyncio.sleep(1 / 60)

    async def fetch() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       state["port"])
        try:
            writer.write(b"GET\n")
            total = int(await reader.readline())
            got = 0
            while got < total:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("server closed early")
                got += len(data)
                bar.setValue(got)
                status.setText(f"{got // 1024} / {total // 1024} KiB")
            status.setText(f"done: {got} bytes")
            log.append(f"download finished: {got} bytes")
        except asyncio.CancelledError:
            status.setText(f"cancelled at {bar.value() // 1024} KiB")
            log.append(f"download cancelled at {bar.value()} bytes")
            raise
        finally:
            writer.close()
            download.setEnabled(True)
            cancel.setEnabled(False)

    @guest_qt.async_slot
    async def on_download() -> None:
        download.setEnabled(False)
        cancel.setEnabled(True)
        bar.setValue(0)
        state["task"] = asyncio.current_task()
        try:
            await fetch()
        except asyncio.CancelledError:
            pass

    def on_cancel() -> None:  # a plain slot: asyncio works here directly
        task = state.get("task")
        if task is not None and not task.done():
            task.cancel()

    download.clicked.connect(on_download)
    cancel.clicked.connect(on_cancel)

    async def autopilot() -> None:
        """--auto: one download cancelled half-way, one to the end."""
        await asyncio.sleep(0.3)
        download.click()
        while bar.value() < SIZE // 2:
            await asyncio.sleep(0.01)
        cancel.click()
        while download.isEnabled() is False:
            await asyncio.sleep(0.01)
        download.click()
        await asyncio.sleep(0.05)
        while not download.isEnabled():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        window.close()  # as the user would: run() returns None

    async def amain() -> str:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        state["port"] = server.sockets[0].getsockname()[1]
        log.append(f"server on port {state['port']}")
        spinner_task = asyncio.create_task(spin())
        try:
            async with server:
                if opts.auto:
                    await autopilot()
                await asyncio.sleep(math.inf)  # until the window closes
        finally:
            spinner_task.cancel()
            log.append("main: clean-up ran")
        return "unreachable"

    window.show()
    loop_name = "uvloop" if opts.uvloop else "asyncio"
    print(f"asyncio-guest Qt demo: {binding} {QtCore.qVersion()}, "
          f"guest loop {loop_name}")
    result = guest_qt.run(amain, loop_factory=loop_factory)
    for line in log:
        print(" ", line)
    print(f"  spinner frames (asyncio): {stats['spinner frames']}, "
          f"Qt clock ticks: {stats['clock ticks']}")
    print(f"  run() returned {result!r} after the window was closed")
    ok = (result is None and "main: clean-up ran" in log
          and any("cancelled" in x for x in log)
          and any("finished" in x for x in log)
          and stats["spinner frames"] > 10)
    sys.stdout.flush()
    clock_timer.stop()
    if opts.auto:
        print("OK" if ok else "FAILED")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
