"""A stand-in for the chain's booking system: receives Chairside's signed change requests.

`GET /requests` lists what it received (with whether each signature verified), so people and tests
can see a member's "please move me to Friday" arrive where the calendar lives.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.services.signatures import sign
from devstack.fakes.local_server import JsonHandler, LocalServer


class FakeBookingSystem(LocalServer):
    thread_name = "fake-booking-system"

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return self.base_url


class _Handler(JsonHandler):
    fake: FakeBookingSystem

    def do_POST(self) -> None:  # http.server's naming
        headers, raw = self.request_parts()
        timestamp = headers.get("x-chairside-timestamp", "")
        signed = sign(self.fake.secret, timestamp, raw) == headers.get("x-chairside-signature")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.fake.received.append({"path": self.path, "signature_ok": signed, "body": body})
        self.reply_json(202 if signed else 401, {"ok": signed})

    def do_GET(self) -> None:  # http.server's naming
        self.reply_json(200, {"requests": self.fake.received})


FakeBookingSystem.handler = _Handler
