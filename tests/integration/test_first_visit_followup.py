"""Issue 17 §4: a new member's first visit gets a follow-up the day after, naming the service and stylist with
the care of that service; a member with an earlier visit, a cancelled or no-show booking, a duplicate event or a
reschedule never gets one (Given / When / Then, real app, worker and plumbing on mock_aws)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.dal.models import BookingItem
from chalicelib.journeys.plan import PlannedStep
from chalicelib.services.booking_events import step_message
from tests.support.builders import SH_STORE, booking_event

GEL = {"service": {"code": "svc-gel", "name": "光疗美甲", "category": "nail_gel"}}


def _visit(harness, booking_id: str, start: str, done_at: str, **extra) -> None:
    harness.post(
        booking_event(
            event_id=f"{booking_id}-made",
            booking_id=booking_id,
            start=start,
            occurred_at=harness.clock.now().isoformat(),
            **extra,
        )
    )
    harness.advance_to(done_at)
    status, _ = harness.post(
        booking_event(
            event_id=f"{booking_id}-done",
            booking_id=booking_id,
            type="booking.completed",
            start=start,
            occurred_at=done_at,
            **extra,
        )
    )
    assert status == 202


def _followups(harness) -> list[str]:
    return [text for _, text in harness.sms() if "第一次来" in text]


def test_a_first_gel_visit_gets_a_follow_up_the_next_morning_naming_service_stylist_and_lamp_care(harness):
    # Given a new member's first visit, a gel manicure with 小王, completed at 16:30
    harness.clock.set(datetime.fromisoformat("2026-11-20T10:00:00+08:00"))
    _visit(harness, "bk-gel", "2026-11-25T15:00:00+08:00", "2026-11-25T16:30:00+08:00", **GEL)

    # When the next day comes, not before 11:00 store-local
    harness.advance_to("2026-11-26T10:59:00+08:00")
    assert "first_visit_followup" not in harness.sent_kinds(SH_STORE, "m-1")
    harness.advance_to("2026-11-26T11:00:00+08:00")

    # Then she gets one follow-up naming the service, the stylist and the lamp-cured gel's care
    assert harness.sent_kinds(SH_STORE, "m-1").count("first_visit_followup") == 1
    [text] = _followups(harness)
    assert "光疗美甲" in text and "美甲师小王" in text and "灯下" in text
    assert text.startswith("【")  # from the store, by name


def test_a_member_with_an_earlier_visit_gets_no_first_visit_follow_up(harness):
    harness.clock.set(datetime.fromisoformat("2026-11-01T10:00:00+08:00"))
    # Given she already came once, on 3 November (that one was her first)
    _visit(harness, "bk-early", "2026-11-03T15:00:00+08:00", "2026-11-03T16:30:00+08:00", category="hair_cut")
    harness.advance_to("2026-11-04T11:00:00+08:00")
    assert len(_followups(harness)) == 1

    # When her second visit is completed and the next day comes
    _visit(harness, "bk-second", "2026-11-25T15:00:00+08:00", "2026-11-25T16:30:00+08:00", **GEL)
    harness.advance_to("2026-11-27T12:00:00+08:00")

    # Then nothing more: the follow-up is for a first visit only
    assert len(_followups(harness)) == 1
    assert "feedback_request" in harness.sent_kinds(SH_STORE, "m-1")  # the rest of the journey goes on


def test_a_cancelled_or_no_show_first_booking_never_gets_one(harness):
    harness.clock.set(datetime.fromisoformat("2026-11-20T10:00:00+08:00"))
    harness.post(booking_event(event_id="c-made", booking_id="bk-c", **GEL))
    harness.post(booking_event(event_id="c-gone", booking_id="bk-c", type="booking.cancelled", **GEL))
    harness.post(booking_event(event_id="n-made", booking_id="bk-n", member_id="m-2", **GEL))
    harness.advance_to("2026-11-25T16:00:00+08:00")
    harness.post(
        booking_event(
            event_id="n-gone",
            booking_id="bk-n",
            member_id="m-2",
            type="booking.no_show",
            occurred_at="2026-11-25T16:00:00+08:00",
            **GEL,
        )
    )

    harness.advance_to("2026-11-30T12:00:00+08:00")

    assert "first_visit_followup" not in harness.sent_kinds(SH_STORE, "m-1")
    assert "first_visit_followup" not in harness.sent_kinds(SH_STORE, "m-2")
    assert _followups(harness) == []


def test_a_duplicate_completion_event_and_a_redelivered_step_send_it_once(harness):
    harness.clock.set(datetime.fromisoformat("2026-11-20T10:00:00+08:00"))
    _visit(harness, "bk-gel", "2026-11-25T15:00:00+08:00", "2026-11-25T16:30:00+08:00", **GEL)
    # The booking system delivers the completion again
    harness.post(
        booking_event(
            event_id="bk-gel-done",
            booking_id="bk-gel",
            type="booking.completed",
            start="2026-11-25T15:00:00+08:00",
            occurred_at="2026-11-25T16:30:00+08:00",
            **GEL,
        )
    )
    harness.advance_to("2026-11-26T11:00:00+08:00")
    # ... and the step itself is delivered once more
    booking = BookingItem.get(*BookingItem.key("demo-chain", "bk-gel"))
    [pending] = [p for p in booking.pending if p.kind == "first_visit_followup"]
    assert pending.due_at.isoformat() == "2026-11-26T03:00:00+00:00"  # 11:00 in Shanghai
    again = step_message("demo-chain", booking, PlannedStep(pending.kind, pending.when, pending.due_at))
    harness.container.step_scheduler.send_now([again])
    harness.pump()

    assert harness.sent_kinds(SH_STORE, "m-1").count("first_visit_followup") == 1
    assert len(_followups(harness)) == 1
