"""Steps at a store-local time of day share the store's wake (contracts/store_wake.py, services/store_wakes.py):
one schedule for the store's bookings of a day, never a stale, missing or doubled message."""

from __future__ import annotations

import json
from datetime import datetime

from chalicelib.contracts.store_wake import StoreWake
from devstack.event_sources import LambdaContext
from tests.support.builders import SH_STORE, booking_event

DAY_BEFORE = "2026-11-24T10:00:00+08:00"  # the day-before reminder of bookings on 2026-11-25 (Asia/Shanghai)


def _two_bookings(harness) -> None:
    harness.post(booking_event(event_id="evt-w1"))
    harness.post(
        booking_event(
            event_id="evt-w2",
            booking_id="bk-2",
            member_id="m-2",
            phone="+8613800138002",
            start="2026-11-25T17:00:00+08:00",
        )
    )
    harness.pump()


def test_bookings_of_one_store_day_share_one_wake_for_their_day_before_reminders(harness):
    _two_bookings(harness)

    wakes = harness.wakes()
    assert [(w["store_id"], w["day"], w["due_at"]) for w in wakes] == [
        (SH_STORE, "2026-11-25", "2026-11-24T02:00:00+00:00")
    ]
    own = [s["Name"] for s in harness.schedules(wakes=False)]
    assert own and not any("reminder_day_before" in name for name in own)  # the 2h reminders keep their own

    harness.advance_to(DAY_BEFORE)
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]
    assert harness.sent_kinds(SH_STORE, "m-2") == ["confirmation", "reminder_day_before"]
    assert harness.wakes() == []  # fired and gone (ActionAfterCompletion DELETE)


def test_a_booking_cancelled_before_the_wake_gets_nothing_and_the_others_still_do(harness):
    _two_bookings(harness)
    harness.post(
        booking_event(event_id="evt-w3", type="booking.cancelled", occurred_at="2026-11-23T09:00:00+08:00")
    )
    assert harness.schedules(wakes=False) and all(
        "bk-1" not in s["Description"] for s in harness.schedules(wakes=False)
    )

    harness.advance_to("2026-11-25T12:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]
    assert harness.sent_kinds(SH_STORE, "m-2") == ["confirmation", "reminder_day_before"]


def test_a_booking_moved_to_another_day_is_reminded_by_that_day_s_wake_only(harness):
    _two_bookings(harness)
    harness.post(
        booking_event(
            event_id="evt-w4",
            type="booking.rescheduled",
            start="2026-11-27T11:00:00+08:00",
            occurred_at="2026-11-22T12:00:00+08:00",
        )
    )
    assert sorted((w["day"], w["due_at"]) for w in harness.wakes()) == [
        ("2026-11-25", "2026-11-24T02:00:00+00:00"),
        ("2026-11-27", "2026-11-26T02:00:00+00:00"),
    ]

    harness.advance_to("2026-11-25T12:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reschedule_confirmation"]
    harness.advance_to("2026-11-26T10:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == [
        "confirmation",
        "reschedule_confirmation",
        "reminder_day_before",
    ]
    assert harness.sent_kinds(SH_STORE, "m-2").count("reminder_day_before") == 1  # the old day's wake, once


def test_a_wake_delivered_twice_sends_each_reminder_once(harness):
    _two_bookings(harness)
    (body,) = harness.wakes()
    wake = StoreWake.from_json(json.dumps(body))

    harness.advance_to(DAY_BEFORE)
    harness.container.step_scheduler.send_now([wake, wake])  # the scheduler's retry, twice over
    harness.pump()

    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]
    assert harness.sent_kinds(SH_STORE, "m-2") == ["confirmation", "reminder_day_before"]
    assert len(harness.sms()) == 4


def test_a_step_due_within_the_wake_lead_keeps_a_schedule_of_its_own(harness):
    # Booked 5 minutes before the store's day-before moment: the store-day list may not show her yet at 10:00.
    harness.clock.set(datetime.fromisoformat("2026-11-24T09:55:00+08:00"))
    status, body = harness.post(booking_event(event_id="evt-w5", occurred_at="2026-11-24T09:55:00+08:00"))

    assert status == 202
    assert any("reminder_day_before" in s["Name"] for s in harness.schedules(wakes=False))
    assert harness.wakes() == []
    harness.advance_to(DAY_BEFORE)
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]


def test_visits_completed_the_same_day_share_the_wake_of_their_feedback_request(harness):
    _two_bookings(harness)
    for event_id, booking_id, at in (("evt-w6", "bk-1", "16:30"), ("evt-w7", "bk-2", "18:30")):
        harness.advance_to(f"2026-11-25T{at}:00+08:00")
        harness.post(
            booking_event(
                event_id=event_id,
                type="booking.completed",
                booking_id=booking_id,
                member_id="m-1" if booking_id == "bk-1" else "m-2",
                phone="+8613800138000" if booking_id == "bk-1" else "+8613800138002",
                start="2026-11-25T15:00:00+08:00" if booking_id == "bk-1" else "2026-11-25T17:00:00+08:00",
                occurred_at=f"2026-11-25T{at}:00+08:00",
            )
        )
    feedback_moment = "2026-11-27T03:00:00+00:00"  # +2d@11:00 store-local
    assert [w["due_at"] for w in harness.wakes()].count(feedback_moment) == 1

    harness.advance_to("2026-11-27T11:00:00+08:00")
    for member in ("m-1", "m-2"):
        assert harness.sent_kinds(SH_STORE, member).count("feedback_request") == 1


def test_a_malformed_wake_is_dropped_not_retried(harness):
    harness.session.client("sqs").send_message(
        QueueUrl=harness.container.settings.steps_queue_url,
        MessageBody='{"type":"store_wake","chain_id":"demo-chain","store_id":"x","day":"tomorrow","due_at":"?"}',
    )
    harness.pump()
    assert harness.dlq() == []


class _Context(LambdaContext):
    """A Lambda context whose remaining time is what the test says, not the wall clock's."""

    def __init__(self, remaining_ms: int) -> None:
        super().__init__(
            "chairside-test-SendStepFunction", region="ap-southeast-1", account_id="123456789012"
        )
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _wake_record(harness) -> dict:
    """The steps-queue record of the store's wake at DAY_BEFORE."""
    (body,) = [w for w in harness.wakes() if w["due_at"] == "2026-11-24T02:00:00+00:00"]
    return {
        "messageId": "wake-1",
        "receiptHandle": "wake-1",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def test_a_wake_of_a_few_steps_delivers_them_in_its_own_invocation(harness):
    from functions.send_step import handler

    _two_bookings(harness)
    record = _wake_record(harness)
    harness.clock.set(datetime.fromisoformat(DAY_BEFORE))

    assert handler({"Records": [record]}, _Context(remaining_ms=29_000)) == {"batchItemFailures": []}

    # sent before anything else ran: nothing was queued for a second invocation
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]
    assert harness.sent_kinds(SH_STORE, "m-2") == ["confirmation", "reminder_day_before"]


def test_a_wake_short_of_time_queues_its_steps_and_they_go_once(harness):
    from functions.send_step import handler

    _two_bookings(harness)
    record = _wake_record(harness)
    harness.clock.set(datetime.fromisoformat(DAY_BEFORE))

    assert handler({"Records": [record]}, _Context(remaining_ms=9_000)) == {"batchItemFailures": []}
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]  # queued, not sent yet

    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]
    assert harness.sent_kinds(SH_STORE, "m-2") == ["confirmation", "reminder_day_before"]
    assert len(harness.sms()) == 4


def test_a_wake_of_more_steps_than_it_delivers_itself_queues_them_all(harness):
    from chalicelib.services.store_wakes import INLINE_STEPS
    from functions.send_step import handler

    members = [f"m-{n}" for n in range(INLINE_STEPS + 1)]
    for n, member in enumerate(members):
        harness.post(
            booking_event(
                event_id=f"evt-many-{n}",
                booking_id=f"bk-many-{n}",
                member_id=member,
                phone=f"+86138001{n:05d}",
                start=f"2026-11-25T{9 + n:02d}:00:00+08:00",
                duration=60,
            )
        )
    harness.pump()
    record = _wake_record(harness)
    harness.clock.set(datetime.fromisoformat(DAY_BEFORE))

    assert handler({"Records": [record]}, _Context(remaining_ms=29_000)) == {"batchItemFailures": []}
    assert all(harness.sent_kinds(SH_STORE, m) == ["confirmation"] for m in members)  # all queued

    harness.pump()
    assert all(harness.sent_kinds(SH_STORE, m) == ["confirmation", "reminder_day_before"] for m in members)
