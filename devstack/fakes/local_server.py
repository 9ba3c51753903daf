"""What every fake provider server shares: a threaded HTTP server on a free local port, started as a
context manager, and a handler that reads the body and writes a JSON answer.

A fake subclasses `LocalServer` (naming its `handler` class and `thread_name`) and keeps only what its
provider's API says; its handler subclasses `JsonHandler` and reaches the fake as `self.fake`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class JsonHandler(BaseHTTPRequestHandler):
    fake: Any  # set per server by LocalServer.__enter__
    protocol_version = "HTTP/1.1"

    def request_parts(self) -> tuple[dict[str, str], bytes]:
        """The request's headers (lower-cased names) and its body."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return {name.lower(): value for name, value in self.headers.items()}, raw

    def reply(
        self,
        status: int,
        payload: bytes,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def reply_json(
        self,
        status: int,
        answer: Any,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.reply(status, json.dumps(answer, ensure_ascii=False).encode("utf-8"), content_type, headers)

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
        return None


class LocalServer:
    handler: ClassVar[type[BaseHTTPRequestHandler]]
    thread_name: ClassVar[str]
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        handler = type("Handler", (self.handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} was never started (use it as a context manager)")
        return f"http://127.0.0.1:{self._server.server_port}"
