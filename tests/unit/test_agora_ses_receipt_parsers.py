"""Agora ack callbacks and SES events read into receipts (issue 15 §4, §5): no AWS, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.channels.agora.chat import is_ack, parse_ack
from chalicelib.channels.ses_events import parse_ses_event
from chalicelib.errors import ValidationFailed


def ack(chat_type: str = "read_ack", **payload) -> dict:
    return {
        "chat_type": chat_type,
        "callId": "XXXX#XXXX_968665325555943556",
        "payload": {"ext": {}, "bodies": [], "ack_message_id": "968665323572037776", **payload},
        "from": "m-app-1",
        "to": "store-sh-jingan",
        "eventType": "chat",
        "msg_id": "968665325555943556",
        "timestamp": 1643099771248,
    }


@pytest.mark.parametrize(
    "chat_type, status", [("delivery_ack", "delivered"), ("read_ack", "read"), ("channel_ack", "read")]
)
def test_each_ack_kind_names_its_status_and_the_acked_send(chat_type, status):
    parsed = parse_ack(ack(chat_type))

    assert is_ack(ack(chat_type))
    assert (parsed.acked_message_id, parsed.status, parsed.chat_type) == (
        "968665323572037776",
        status,
        chat_type,
    )
    assert (parsed.from_user, parsed.to_user, parsed.timestamp_ms) == (
        "m-app-1",
        "store-sh-jingan",
        1643099771248,
    )


def test_a_numeric_acked_id_is_read_as_its_digits():
    assert parse_ack(ack(ack_message_id=968665323572037776)).acked_message_id == "968665323572037776"


def test_messages_and_other_events_are_not_acks():
    assert not is_ack({**ack(), "chat_type": "chat"})
    assert not is_ack({**ack(), "chat_type": "recall"})
    assert not is_ack({**ack(), "chat_type": ["read_ack"]})


def test_a_malformed_ack_names_each_bad_field():
    body = {**ack(ack_message_id=""), "from": "", "timestamp": "soon"}

    with pytest.raises(ValidationFailed) as caught:
        parse_ack(body)

    assert set(caught.value.fields) == {"payload.ack_message_id", "from", "timestamp"}


def ses(event_type: str, detail: dict) -> dict:
    key = event_type[:1].lower() + event_type[1:]
    return {
        "eventType": event_type,
        key: detail,
        "mail": {
            "timestamp": "2026-11-27T02:00:00.012Z",
            "messageId": "0100-abc",
            "destination": ["a@example.com"],
        },
    }


def test_an_undetermined_bounce_fails_the_message_but_suppresses_nothing():
    parsed = parse_ses_event(
        ses(
            "Bounce", {"bounceType": "Undetermined", "bouncedRecipients": [{"emailAddress": "a@example.com"}]}
        )
    )

    assert parsed.receipt is not None
    assert (parsed.receipt.status, parsed.receipt.code, parsed.suppress) == ("failed", "Undetermined", ())
    assert parsed.receipt.at == datetime(2026, 11, 27, 2, 0, 0, 12000, tzinfo=UTC)  # the mail's time: no own


def test_a_permanent_bounce_suppresses_each_bounced_address():
    parsed = parse_ses_event(
        ses(
            "Bounce",
            {
                "bounceType": "Permanent",
                "timestamp": "2026-11-27T02:00:02.669Z",
                "bouncedRecipients": [{"emailAddress": "a@example.com"}, {"emailAddress": "b@example.com"}],
            },
        )
    )

    assert parsed.suppress == ("a@example.com", "b@example.com")
    assert parsed.reason == "bounce:Permanent"


def test_a_reject_fails_and_other_event_types_say_nothing():
    assert parse_ses_event(ses("Reject", {"reason": "Bad content"})).receipt.code == "Reject"
    assert parse_ses_event(ses("Send", {})).receipt is None
    assert parse_ses_event(ses("Open", {"timestamp": "2026-11-27T03:00:00Z"})).receipt is None


def test_an_event_without_the_message_id_is_refused():
    with pytest.raises(ValidationFailed):
        parse_ses_event({"eventType": "Delivery", "delivery": {}, "mail": {}})
