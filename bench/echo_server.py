"""A TCP echo server for the ping-pong (b) scenario, run as its own process
by bench/suite.py: one blocking thread per connection, no event loop, so it
answers as fast as the kernel lets it.  Prints its port, then serves until
stdin closes.

    python bench/echo_server.py [CPU]"""

from __future__ import annotations

import os
import socket
import sys
import threading


def serve(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def main() -> None:
    if len(sys.argv) > 1 and int(sys.argv[1]) >= 0:  # pin, as bench/suite.py
        os.sched_setaffinity(0, {int(sys.argv[1])})
    lsock = socket.create_server(("127.0.0.1", 0), backlog=256)
    print(lsock.getsockname()[1], flush=True)

    def accept() -> None:
        while True:
            conn, _ = lsock.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin (or exits)


if __name__ == "__main__":
    main()
