"""A stand-in for the chain's booking system: receives Chairside's signed change requests.

`GET /requests` lists what it received (with whether each signature verified), so people and tests
can see a member's "please move me to Friday" arrive where the calendar lives.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.services.signatures import sign


class FakeBookingSystem:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeBookingSystem:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                timestamp = self.headers.get("X-Chairside-Timestamp", "")
                signed = sign(fake.secret, timestamp, raw) == self.headers.get("X-Chairside-Signature")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                fake.received.append({"path": self.path, "signature_ok": signed, "body": body})
                self._answer(202 if signed else 401, {"ok": signed})

            def do_GET(self) -> None:
                self._answer(200, {"requests": fake.received})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
