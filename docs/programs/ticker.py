"""The server the docs' connect programs talk to: one line every 0.2 s for
as long as the client stays, served from a thread (plain sockets, so that
every version of a program -- ours and a peer's -- uses the same one)."""

import socketserver
import threading
import time


class Ticker(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            for n in range(1000):
                self.wfile.write(f"tick {n}\n".encode())
                time.sleep(0.2)
        except ConnectionError:
            pass


def start():
    """Start the server; returns (host, port, stop)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Ticker)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop():
        server.shutdown()
        server.server_close()

    host, port = server.server_address
    return host, port, stop


if __name__ == "__main__":  # try it: one line from the server
    import socket

    host, port, stop = start()
    with socket.create_connection((host, port)) as sock:
        print(sock.makefile().readline().strip())
    stop()
