"""A local HTTP address that records what a fake provider pushes to it (its HTTP batch pushes) and answers as our
route would, so a test sees the push exactly as it went over the wire."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def capturing_receiver(answer: Any) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """(its base URL, the (Content-Type, raw body) of every POST it received); each POST is answered `answer`."""
    received: list[tuple[str, bytes]] = []
    reply = json.dumps(answer, ensure_ascii=False).encode()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(
                (self.headers["Content-Type"], self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
