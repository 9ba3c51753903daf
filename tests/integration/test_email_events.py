"""SES's email events (bounce, complaint, delivery) through the real worker handler on mock_aws: receipts go to the
receipts sink, and a hard bounce or a complaint suppresses the address for the email channel."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chalicelib.channels.base import Contact
from chalicelib.channels.receipts import ProviderReceipt
from devstack.event_sources import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


class RecordingSink:
    def __init__(self) -> None:
        self.receipts: list[ProviderReceipt] = []

    def apply(self, receipt: ProviderReceipt) -> str:
        self.receipts.append(receipt)
        return "applied"


@pytest.fixture
def sink(harness) -> RecordingSink:
    recording = RecordingSink()
    harness.container.receipt_sink = recording  # before the worker is built: it takes the sink
    return recording


def _context() -> LambdaContext:
    return LambdaContext(
        function_name="chairside-test-email-events",
        memory_limit_in_mb=512,
        timeout_seconds=30,
        region="ap-southeast-1",
        account_id="123456789012",
    )


def _batch() -> dict:
    return json.loads((EVENTS / "sqs_email_events.json").read_text())


def _run(batch: dict) -> dict:
    from functions.email_events import handler

    return handler(batch, _context())


def _reachable(harness, address: str) -> bool:
    from chalicelib.channels.email import SesEmail

    email = harness.container.channels.base["email"]
    assert isinstance(getattr(email, "_inner", email), SesEmail)
    return email.can_reach(Contact(email=address))


def test_bounce_complaint_and_delivery_become_receipts(harness, sink):
    answer = _run(_batch())

    assert answer == {"batchItemFailures": []}
    assert [(r.provider, r.provider_message_id, r.status, r.code) for r in sink.receipts] == [
        ("ses", "0100019bexample-bounce-000000", "failed", "Permanent"),
        ("ses", "0100019bexample-complaint-000000", "failed", "complaint"),
        ("ses", "0100019bexample-delivery-000000", "delivered", None),
        ("ses", "0100019bexample-transient-000000", "failed", "Transient"),
    ]
    assert sink.receipts[0].at.isoformat() == "2026-11-27T02:00:02.669000+00:00"


def test_a_hard_bounce_and_a_complaint_suppress_the_address_a_soft_bounce_does_not(harness, sink):
    assert _reachable(harness, "gone@example.com")

    _run(_batch())

    assert not _reachable(harness, "gone@example.com")
    assert not _reachable(harness, "Annoyed@Example.com ")  # one mailbox, however it is written
    assert _reachable(harness, "full@example.com")  # mailbox full: the next email may arrive
    assert _reachable(harness, "wang@example.com")


def test_a_duplicate_delivery_of_the_same_events_changes_nothing(harness, sink):
    _run(_batch())
    suppressions = harness.container.email_suppressions
    first = suppressions._ddb.get_item(
        TableName=harness.container.settings.main_table, Key=suppressions._key("gone@example.com")
    )["Item"]

    duplicate = _batch()
    for record in duplicate["Records"]:
        record["messageId"] += "-again"
    assert _run(duplicate) == {"batchItemFailures": []}

    again = suppressions._ddb.get_item(
        TableName=harness.container.settings.main_table, Key=suppressions._key("gone@example.com")
    )["Item"]
    assert again == first
    assert sink.receipts[4:] == sink.receipts[:4]  # the same receipts: the receipts service's no-ops


def test_a_malformed_record_is_dropped_not_retried(harness, sink):
    batch = _batch()
    bad = copy.deepcopy(batch["Records"][0])
    bad["messageId"] = "bad-1"
    bad["body"] = json.dumps({"Type": "Notification", "Message": json.dumps({"eventType": "Bounce"})})
    not_json = copy.deepcopy(bad)
    not_json["messageId"], not_json["body"] = "bad-2", "{not json"

    assert _run({"Records": [bad, not_json]}) == {"batchItemFailures": []}
    assert sink.receipts == []
