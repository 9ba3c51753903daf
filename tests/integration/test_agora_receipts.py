"""Agora Chat journeys with delivered/read acks (issue 15 §4), against the fake Agora Chat server.

Given an app member, when a store's message goes through Agora Chat and her app delivers and reads it, the fake posts
Agora's documented ack callbacks (chat_type delivery_ack / read_ack, payload.ack_message_id) to our callback route,
and each becomes a ProviderReceipt for the id Agora answered the send with.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.channels.base import Contact, Outgoing, provider_of, send_outgoing
from chalicelib.channels.receipts import ProviderReceipt
from tests.support.builders import LDN_STORE, SH_STORE

CALLBACK = "/v1/channels/agora/demo-chain/callback"


class RecordingSink:
    def __init__(self) -> None:
        self.receipts: list[ProviderReceipt] = []

    def apply(self, receipt: ProviderReceipt) -> str:
        self.receipts.append(receipt)
        return "applied"


@pytest.fixture
def sink(harness) -> RecordingSink:
    recording = RecordingSink()
    harness.container.__dict__.pop("intake", None)
    harness.container.receipt_sink = recording  # before the intake is built: it takes the sink
    return recording


@pytest.fixture
def agora(harness):
    """The fake, posting its callbacks into the app through the test client."""

    def post(url: str, raw: bytes) -> int:
        return harness.client.http.post(
            url, body=raw, headers={"Content-Type": "application/json"}
        ).status_code

    fake = harness.fakes["agora"]
    fake.send_callbacks_to(CALLBACK, harness.chain["agora"]["callback_secret"], post=post)
    return fake


def _send(harness, text: str = "明天15:00见，期待您的光临。", member: str = "m-app-1") -> tuple[Any, str]:
    store = harness.container.stores.get(SH_STORE)
    channel = harness.container.channels.for_store(store)["agora"]
    contact = Contact(agora_user=member)
    outgoing = Outgoing(kind="reminder_24h", text=text, subject="Demo Salon")
    return channel, send_outgoing(channel, contact, outgoing)


def test_a_journey_message_goes_from_the_stores_sender_and_names_agoras_message_id(harness, agora):
    channel, msg_id = _send(harness)

    (sent,) = agora.messages
    assert msg_id == sent.msg_id
    assert (sent.sender, sent.to, sent.type) == (f"store-{SH_STORE}", "m-app-1", "txt")
    assert sent.body == {"msg": "明天15:00见，期待您的光临。"}
    assert provider_of(channel, Contact(agora_user="m-app-1")) == "agora"


def test_delivered_then_read_acks_become_receipts_for_the_sent_message(harness, agora, sink):
    _, msg_id = _send(harness)

    delivered, delivered_status = agora.deliver(msg_id)
    read, read_status = agora.read(msg_id)

    assert (delivered_status, read_status) == (200, 200)
    assert [(r.provider, r.provider_message_id, r.status, r.code) for r in sink.receipts] == [
        ("agora", msg_id, "delivered", "delivery_ack"),
        ("agora", msg_id, "read", "read_ack"),
    ]
    assert sink.receipts[1].at.timestamp() == read["timestamp"] / 1000
    assert delivered["payload"]["ack_message_id"] == msg_id


def test_an_ack_is_answered_with_what_the_sink_did(harness, agora, sink):
    _, msg_id = _send(harness)
    body, _ = agora.read(msg_id)

    again = harness.client.http.post(
        CALLBACK, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )

    assert again.status_code == 200
    assert json.loads(again.body) == {"result": "applied", "status": "read"}


def _signed(harness, body: dict) -> dict:
    from chalicelib.channels.agora.chat import callback_signature

    secret = harness.chain["agora"]["callback_secret"]
    return {**body, "security": callback_signature(body["callId"], secret, body["timestamp"])}


def _ack(to: str, **payload: Any) -> dict:
    return {
        "chat_type": "read_ack",
        "callId": "demo#app_1",
        "timestamp": int(time.time() * 1000),
        "from": "m-app-1",
        "to": to,
        "eventType": "chat",
        "msg_id": "1",
        "payload": {"ext": {}, "bodies": [], **payload},
    }


def test_a_forged_ack_is_refused_and_applies_nothing(harness, sink):
    status, _ = harness.agora(
        {**_ack(f"store-{SH_STORE}", ack_message_id="42"), "security": "0" * 32}, sign=False
    )

    assert status == 401
    assert sink.receipts == []


def test_an_ack_without_the_acked_message_id_is_a_400_naming_it(harness, sink):
    status, answer = harness.agora(_signed(harness, _ack(f"store-{SH_STORE}")), sign=False)

    assert status == 400
    assert "payload.ack_message_id" in answer["fields"]
    assert sink.receipts == []


def test_an_ack_to_someone_not_a_store_of_the_chain_is_ignored(harness, sink):
    status, answer = harness.agora(_signed(harness, _ack("some-user", ack_message_id="42")), sign=False)

    assert status == 200
    assert answer["result"] == "ignored"
    assert sink.receipts == []


def test_an_ack_to_another_store_of_the_chain_is_still_a_receipt(harness, sink):
    status, _ = harness.agora(_signed(harness, _ack(f"store-{LDN_STORE}", ack_message_id="42")), sign=False)

    assert status == 200
    assert [r.provider_message_id for r in sink.receipts] == ["42"]


def test_the_fakes_control_route_posts_the_ack(harness, agora, sink):
    import urllib.request

    _, msg_id = _send(harness)
    request = urllib.request.Request(
        f"{agora.base_url}/_fake/messages/{msg_id}/delivered", method="POST", data=b""
    )

    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())

    assert answer["answered"] == 200
    assert [r.status for r in sink.receipts] == ["delivered"]


def test_the_sample_read_ack_is_a_read_receipt(harness, sink):
    from pathlib import Path

    sample = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "agora_chat_read_ack.json").read_text()
    )
    sample["timestamp"] = int(time.time() * 1000)  # fresh: callbacks older than the replay window are refused

    status, answer = harness.agora(_signed(harness, sample), sign=False)

    assert (status, answer) == (200, {"result": "applied", "status": "read"})
    assert [(r.provider_message_id, r.status) for r in sink.receipts] == [("1029457500870543736", "read")]


def test_over_http_the_fake_posts_the_signed_ack_to_the_callback_url():
    """As on the local stack: the fake's callbacks go over real HTTP to the configured URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chalicelib.channels.agora.chat import parse_ack, verify_callback
    from devstack.fakes.agora_chat import FakeAgoraChat
    from tests.integration.test_agora_chat import APP_CERT, APP_ID, Clock, _client

    received: list[tuple[str, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(raw)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = Clock()
    try:
        with FakeAgoraChat(APP_ID, APP_CERT, clock=clock) as fake:
            fake.send_callbacks_to(f"http://127.0.0.1:{server.server_address[1]}/cb", "rule-secret")
            msg_id = _client(fake, clock, sender_id="store-sh-jingan").send_text("m-app-1", "hi")

            _, status = fake.deliver(msg_id)
    finally:
        server.shutdown()
        server.server_close()

    assert status == 200
    ((path, body),) = received
    assert path == "/cb"
    assert verify_callback(body, "rule-secret")
    ack = parse_ack(body)
    assert (ack.acked_message_id, ack.status, ack.from_user, ack.to_user) == (
        msg_id,
        "delivered",
        "m-app-1",
        "store-sh-jingan",
    )
