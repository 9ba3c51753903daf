"""The booking journey end to end: signed webhooks over HTTP to the running local stack, the clock
moved forward, the messages read back -- each exactly once, with duplicates and worker failures."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.conftest import eventually
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

pytestmark = pytest.mark.e2e


def _ids(prefix: str) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        "booking_id": f"{prefix}-{run}",
        "member_id": f"{prefix}-m-{run}",
        "stylist": f"{prefix}-st-{run}",
    }


def test_health(stack):
    from tests.e2e.conftest import http

    assert http("GET", stack.api + "/v1/health")[0] == 200


def test_two_stores_get_their_reminders_at_their_own_local_times(stack):
    sh, ldn = _ids("sh"), _ids("ldn")
    sh_start, ldn_start = stack.local(SH_STORE, 3, 15), stack.local(LDN_STORE, 3, 15)
    now = stack.now()
    _, sh_answer = stack.post_booking(
        booking_event(store_id=SH_STORE, start=sh_start, occurred_at=now, phone="+8613900139001", **sh),
        twice=True,
    )
    status, ldn_answer = stack.post_booking(
        booking_event(
            store_id=LDN_STORE, start=ldn_start, occurred_at=now, locale="en", phone="+447911123456", **ldn
        ),
        twice=True,
    )
    assert status == 202
    assert {s["kind"]: s["due_at"] for s in sh_answer["journey"]}["reminder_day_before"] == (
        (sh_start - timedelta(days=1)).replace(hour=10).isoformat()
    )
    assert {s["kind"]: s["due_at"] for s in ldn_answer["journey"]}["reminder_day_before"] == (
        (ldn_start - timedelta(days=1)).replace(hour=10).isoformat()
    )

    stack.wait_sent(SH_STORE, sh["member_id"], ["confirmation"])
    stack.wait_sent(LDN_STORE, ldn["member_id"], ["confirmation"])
    [confirmation] = stack.sms_to("+8613900139001")
    assert "15:00" in confirmation

    stack.advance_to(stack.local(SH_STORE, 2, 10))  # the day before, 10:00 in Shanghai (02:00 in London)
    stack.wait_sent(SH_STORE, sh["member_id"], ["confirmation", "reminder_day_before"])
    assert stack.sent(LDN_STORE, ldn["member_id"]) == ["confirmation"]

    stack.advance_to(ldn_start - timedelta(days=1, hours=5))  # 10:00 London the day before
    stack.wait_sent(LDN_STORE, ldn["member_id"], ["confirmation", "reminder_day_before"])
    stack.advance_to(ldn_start - timedelta(hours=2))
    stack.wait_sent(LDN_STORE, ldn["member_id"], ["reminder_2h"])
    assert stack.sent(SH_STORE, sh["member_id"]).count("reminder_day_before") == 1
    assert len(stack.sms_to("+447911123456")) == 3


def test_nothing_after_a_cancel_and_reminders_move_with_a_reschedule(stack):
    cancelled, moved, sentinel = _ids("cx"), _ids("mv"), _ids("sn")
    start = stack.local(SH_STORE, 2, 16)
    now = stack.now()
    for ids in (cancelled, moved, sentinel):
        stack.post_booking(booking_event(store_id=SH_STORE, start=start, occurred_at=now, **ids), twice=True)
    status, answer = stack.post_booking(
        booking_event(
            type="booking.cancelled",
            store_id=SH_STORE,
            start=start,
            occurred_at=now + timedelta(seconds=1),
            **cancelled,
        ),
        twice=True,
    )
    assert status == 202 and answer["journey"] == []
    new_start = start + timedelta(days=2)
    status, answer = stack.post_booking(
        booking_event(
            type="booking.rescheduled",
            store_id=SH_STORE,
            start=new_start,
            occurred_at=now + timedelta(seconds=1),
            **moved,
        ),
        twice=True,
    )
    assert {s["kind"]: s["due_at"] for s in answer["journey"]}["reminder_2h"] == (
        new_start - timedelta(hours=2)
    ).isoformat()

    stack.advance_to(start)  # the original slot: the sentinel's reminders have all gone out
    stack.wait_sent(SH_STORE, sentinel["member_id"], ["confirmation", "reminder_day_before", "reminder_2h"])
    eventually(
        lambda: stack.sent(SH_STORE, moved["member_id"]) == ["confirmation", "reschedule_confirmation"],
        what="only the confirmations for the moved booking",
    )
    assert stack.sent(SH_STORE, cancelled["member_id"]) in (["confirmation"], [])

    stack.advance_to(new_start)
    stack.wait_sent(
        SH_STORE, moved["member_id"], ["reschedule_confirmation", "reminder_day_before", "reminder_2h"]
    )
    assert stack.sent(SH_STORE, cancelled["member_id"]) in (["confirmation"], [])


def test_no_show_follow_up_and_aftercare_feedback_review_each_exactly_once_despite_failures(stack):
    noshow, done = _ids("ns"), _ids("dn")
    start = stack.local(LDN_STORE, 2, 11)
    now = stack.now()
    for ids in (noshow, done):
        stack.post_booking(
            booking_event(store_id=LDN_STORE, start=start, occurred_at=now, locale="en", **ids), twice=True
        )
    stack.inject("sms", transient=3)  # the worker fails and retries with backoff

    stack.advance_to(start + timedelta(minutes=5))
    stack.post_booking(
        booking_event(
            type="booking.checked_in",
            store_id=LDN_STORE,
            start=start,
            locale="en",
            occurred_at=stack.now(),
            **done,
        ),
        twice=True,
    )
    stack.advance_to(start + timedelta(minutes=31))
    stack.wait_sent(LDN_STORE, noshow["member_id"], ["no_show_followup"])
    status, _ = stack.post_booking(
        booking_event(
            type="booking.no_show",
            store_id=LDN_STORE,
            start=start,
            locale="en",
            occurred_at=stack.now(),
            **noshow,
        ),
        twice=True,
    )
    assert status == 202

    stack.advance_to(start + timedelta(hours=2))
    status, answer = stack.post_booking(
        booking_event(
            type="booking.completed",
            store_id=LDN_STORE,
            start=start,
            locale="en",
            occurred_at=stack.now(),
            **done,
        ),
        twice=True,
    )
    assert [s["kind"] for s in answer["journey"]] == [
        "aftercare",
        "first_visit_followup",  # planned at every completion; judged when due (her first visit: sent)
        "feedback_request",
        "review_request",
        "checkin_1_month",
    ]  # a colour service
    stack.advance_to(start + timedelta(days=32))
    stack.wait_sent(
        LDN_STORE,
        done["member_id"],
        ["aftercare", "first_visit_followup", "feedback_request", "review_request", "checkin_1_month"],
    )

    kinds = stack.sent(LDN_STORE, done["member_id"])
    assert len(kinds) == len(set(kinds)), kinds
    assert "no_show_followup" not in kinds
    assert stack.sent(LDN_STORE, noshow["member_id"]).count("no_show_followup") == 1
