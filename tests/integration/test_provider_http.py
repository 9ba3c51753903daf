"""Provider HTTP goes through one pooled connection per provider host (channels/http.py)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.channels.http import ProviderHttp, ProviderUnreachable


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as providers' HTTPS endpoints do
    connections: set[tuple[str, int]] = set()

    def do_POST(self):
        _Handler.connections.add(self.client_address)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status = 503 if self.path == "/busy" else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    _Handler.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_calls_to_one_provider_reuse_one_connection(provider):
    http = ProviderHttp()

    answers = [http.request("POST", f"{provider}/send", {}, f"msg {n}".encode(), 5) for n in range(5)]

    assert [a.body for a in answers] == [f"msg {n}".encode() for n in range(5)]
    assert len(_Handler.connections) == 1  # one TCP connection for five calls


def test_an_error_status_is_an_answer_not_an_exception(provider):
    assert ProviderHttp().request("POST", f"{provider}/busy", {}, b"x", 5).status == 503


def test_no_answer_at_all_is_provider_unreachable_and_names_no_url():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderUnreachable) as failure:
        ProviderHttp().request("POST", f"http://127.0.0.1:{port}/cgi-bin/x?access_token=SECRET", {}, b"", 2)
    assert "SECRET" not in str(failure.value)


def test_only_http_urls_are_opened():
    with pytest.raises(ValueError):
        ProviderHttp().request("GET", "file:///etc/passwd", {}, None, 1)
