"""Issue 17 "Done when", feedback closes the loop, against the running local stack: a member who answers the
day-2 feedback request with "2" or "太失望了" gets no review request and the manager gets a hand-off; one who
answers "5" gets the store's review link with the day-7 review request."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.conftest import eventually
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e

STORE_PHONE = "+862162880000"  # the demo store's phone: staff alerts go there
DIANPING = (
    "https://www.dianping.com/shop/demo-sh-jingan/review"  # the demo store's review link (devstack/seed.py)
)
INBOX = f"/v1/stores/{SH_STORE}/conversations"


def _member(tag: str) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        "booking_id": f"fb-{tag}-{run}",
        "member_id": f"fb-{tag}-m-{run}",
        "stylist": f"fb-{tag}-st-{run}",
        "phone": f"+86139{int(run, 16) % 10**8:08d}",
    }


def _answer(member_id: str, text: str) -> dict:
    return {
        "event_id": f"e-{uuid.uuid4().hex[:8]}",
        "store_id": SH_STORE,
        "member_id": member_id,
        "channel": "sms",
        "message": {"id": f"fb-{uuid.uuid4().hex[:10]}", "type": "text", "text": text},
        "sent_at": "2026-12-06T12:00:00+08:00",
    }


def test_feedback_gates_the_review_request_and_hands_the_unhappy_to_the_manager(stack):
    unhappy, disappointed, happy = _member("two"), _member("sad"), _member("five")
    members = (unhappy, disappointed, happy)
    start = stack.local(SH_STORE, 1, 11)
    for m in members:
        assert (
            stack.post_booking(booking_event(store_id=SH_STORE, start=start, occurred_at=stack.now(), **m))[0]
            == 202
        )
    stack.advance_to(start + timedelta(hours=2))
    for m in members:
        status, answer = stack.post_booking(
            booking_event(
                type="booking.completed", store_id=SH_STORE, start=start, occurred_at=stack.now(), **m
            )
        )
        assert status == 202, answer
    alerts_before = len(stack.sms_to(STORE_PHONE))

    # Day 2, 11:00 Shanghai: the feedback request.
    stack.advance_to(start + timedelta(days=2, hours=1))
    for m in members:
        stack.wait_sent(SH_STORE, m["member_id"], ["feedback_request"])

    for m, text in ((unhappy, "2"), (disappointed, "太失望了"), (happy, "5")):
        status, body = stack.signed("/v1/webhooks/messages", _answer(m["member_id"], text))
        assert status == 200, body
        [recorded] = [a for a in body["actions"] if a["action"] == "record_feedback"]
        assert recorded["result"] == "recorded" and recorded["booking_id"] == m["booking_id"]

    # The manager has both unhappy members in the hand-off inbox, and a text for each.
    status, inbox = stack.staff("GET", f"{INBOX}?status=needs_human&limit=100")
    assert status == 200, inbox
    handed = {c["id"]: c["needs_human_reason"] for c in inbox["items"]}
    assert handed.get(unhappy["member_id"]) == "feedback_negative"
    assert handed.get(disappointed["member_id"]) == "feedback_negative"
    assert happy["member_id"] not in handed
    alerts = stack.sms_to(STORE_PHONE)[alerts_before:]
    assert len([a for a in alerts if "feedback_negative" in a]) == 2, alerts

    # The staff booking view shows what she answered.
    status, timeline = stack.staff("GET", f"/v1/stores/{SH_STORE}/bookings/{unhappy['booking_id']}")
    assert status == 200 and timeline["booking"]["feedback"] == {"score": 2, "sentiment": "negative"}

    # Day 7, 11:00: the review request, with the store's review link, to the happy member only.
    stack.advance_to(start + timedelta(days=7, hours=1))
    stack.wait_sent(SH_STORE, happy["member_id"], ["review_request"])
    review = eventually(
        lambda: [t for t in stack.sms_to(happy["phone"]) if DIANPING in t] or None,
        what="the review link by SMS",
    )
    assert len(review) == 1
    # A month on, the colour check-in reaches the unhappy members too: their day-7 steps were long done -- skipped.
    stack.advance_to(start + timedelta(days=30, hours=1))
    for m in (unhappy, disappointed):
        kinds = stack.wait_sent(SH_STORE, m["member_id"], ["checkin_1_month"])
        assert "feedback_request" in kinds and "review_request" not in kinds, kinds
        assert not [t for t in stack.sms_to(m["phone"]) if DIANPING in t]
