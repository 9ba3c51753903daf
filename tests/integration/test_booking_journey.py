"""The booking journey through the real app, worker and plumbing on mock_aws (Given / When / Then)."""

from __future__ import annotations

from tests.support.builders import LDN_STORE, SH_STORE, booking_event


def test_created_booking_gets_a_confirmation_at_once_and_reminders_at_store_local_times(harness):
    status, body = harness.post(booking_event(event_id="evt-1"))

    assert status == 202
    assert body["booking_id"] == "bk-1" and body["status"] == "booked"
    assert [(s["kind"], s["due_at"]) for s in body["journey"]] == [
        ("confirmation", "2026-11-22T10:00:00+08:00"),
        ("reminder_day_before", "2026-11-24T10:00:00+08:00"),
        ("reminder_2h", "2026-11-25T13:00:00+08:00"),
        ("no_show_followup", "2026-11-25T15:30:00+08:00"),
    ]
    assert {s["channel"] for s in body["journey"]} == {"sms"}

    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]
    phone, text = harness.sms()[0]
    assert phone == "+8613800138000" and "15:00" in text

    harness.advance_to("2026-11-24T09:59:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]
    harness.advance_to("2026-11-24T10:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reminder_day_before"]
    harness.advance_to("2026-11-25T13:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1")[-1] == "reminder_2h"


def test_london_store_reminds_at_london_time(harness):
    event = booking_event(
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-25T15:00:00+00:00",
        occurred_at="2026-11-22T10:00:00+00:00",
        locale="en",
        member_id="m-ldn",
    )
    status, body = harness.post(event)

    assert status == 202
    due = {s["kind"]: s["due_at"] for s in body["journey"]}
    assert due["reminder_day_before"] == "2026-11-24T10:00:00+00:00"
    assert due["reminder_2h"] == "2026-11-25T13:00:00+00:00"
    harness.advance_to("2026-11-24T10:00:00+00:00")
    assert harness.sent_kinds(LDN_STORE, "m-ldn") == ["confirmation", "reminder_day_before"]


def test_a_duplicate_delivery_gets_the_first_answer_and_changes_nothing(harness):
    event = booking_event(event_id="evt-dup")
    first = harness.post(event)
    schedules_after_first = sorted(s["Name"] for s in harness.schedules())

    second = harness.post(event)

    assert second == first
    assert sorted(s["Name"] for s in harness.schedules()) == schedules_after_first
    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]
    assert len(harness.sms()) == 1


def test_cancel_deletes_every_schedule_and_nothing_is_sent_afterwards(harness):
    harness.post(booking_event(event_id="evt-c1"))
    harness.pump()

    status, body = harness.post(
        booking_event(event_id="evt-c2", type="booking.cancelled", occurred_at="2026-11-22T11:00:00+08:00")
    )

    assert status == 202 and body["status"] == "cancelled" and body["journey"] == []
    assert (
        harness.schedules(wakes=False) == []
    )  # the store's wake is shared: it stays, and finds nothing of hers
    harness.advance_to("2026-12-31T12:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]


def test_reschedule_moves_the_reminders_and_the_old_ones_never_fire(harness):
    harness.post(booking_event(event_id="evt-r1"))
    harness.pump()
    status, body = harness.post(
        booking_event(
            event_id="evt-r2",
            type="booking.rescheduled",
            start="2026-11-27T11:00:00+08:00",
            occurred_at="2026-11-22T12:00:00+08:00",
        )
    )

    assert status == 202
    due = {s["kind"]: s["due_at"] for s in body["journey"]}
    assert due["reschedule_confirmation"] == "2026-11-22T10:00:00+08:00"
    assert due["reminder_day_before"] == "2026-11-26T10:00:00+08:00"
    assert due["reminder_2h"] == "2026-11-27T09:00:00+08:00"
    assert all("-v2" in s["Name"] for s in harness.schedules(wakes=False))

    harness.advance_to("2026-11-25T16:00:00+08:00")  # past the old slot
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation", "reschedule_confirmation"]
    harness.advance_to("2026-11-27T09:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == [
        "confirmation",
        "reschedule_confirmation",
        "reminder_day_before",
        "reminder_2h",
    ]


def test_an_older_event_arriving_late_is_acknowledged_and_ignored(harness):
    harness.post(
        booking_event(
            event_id="evt-o2",
            type="booking.rescheduled",
            start="2026-11-27T11:00:00+08:00",
            occurred_at="2026-11-22T12:00:00+08:00",
        )
    )

    status, body = harness.post(booking_event(event_id="evt-o1", occurred_at="2026-11-22T10:00:00+08:00"))

    assert status == 202 and body["ignored"] == "out_of_order"
    due = {s["kind"]: s["due_at"] for s in body["journey"]}
    assert due["reminder_2h"] == "2026-11-27T09:00:00+08:00"


def test_no_check_in_by_start_plus_grace_sends_one_kind_follow_up(harness):
    harness.post(booking_event(event_id="evt-n1"))
    harness.advance_to("2026-11-25T15:30:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1")[-1] == "no_show_followup"

    status, body = harness.post(
        booking_event(event_id="evt-n2", type="booking.no_show", occurred_at="2026-11-25T16:00:00+08:00")
    )

    assert status == 202 and body["status"] == "no_show"
    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1").count("no_show_followup") == 1


def test_no_show_event_sends_the_follow_up_and_cancels_the_grace_check(harness):
    harness.post(booking_event(event_id="evt-ns1"))
    harness.advance_to("2026-11-25T15:10:00+08:00")

    status, body = harness.post(
        booking_event(event_id="evt-ns2", type="booking.no_show", occurred_at="2026-11-25T15:10:00+08:00")
    )

    assert [s["kind"] for s in body["journey"]] == ["no_show_followup"]
    harness.advance_to("2026-11-25T18:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1").count("no_show_followup") == 1


def test_checked_in_member_gets_no_no_show_follow_up(harness):
    harness.post(booking_event(event_id="evt-ci1"))
    harness.advance_to("2026-11-25T14:55:00+08:00")
    harness.post(
        booking_event(event_id="evt-ci2", type="booking.checked_in", occurred_at="2026-11-25T14:55:00+08:00")
    )
    harness.advance_to("2026-11-25T18:00:00+08:00")
    assert "no_show_followup" not in harness.sent_kinds(SH_STORE, "m-1")


def test_completed_colour_gets_aftercare_feedback_review_and_a_one_month_check_in(harness):
    harness.post(booking_event(event_id="evt-d1"))
    harness.advance_to("2026-11-25T16:30:00+08:00")

    status, body = harness.post(
        booking_event(event_id="evt-d2", type="booking.completed", occurred_at="2026-11-25T16:30:00+08:00")
    )

    assert [(s["kind"], s["due_at"]) for s in body["journey"]] == [
        ("aftercare", "2026-11-25T17:00:00+08:00"),
        ("first_visit_followup", "2026-11-26T11:00:00+08:00"),
        ("feedback_request", "2026-11-27T11:00:00+08:00"),
        ("review_request", "2026-12-02T11:00:00+08:00"),
        ("checkin_1_month", "2026-12-25T11:00:00+08:00"),
    ]
    harness.advance_to("2026-12-25T11:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1")[-5:] == [
        "aftercare",
        "first_visit_followup",
        "feedback_request",
        "review_request",
        "checkin_1_month",
    ]


def test_review_request_is_skipped_after_negative_feedback(harness):
    from chalicelib.dal.models import BookingItem

    harness.post(booking_event(event_id="evt-f1", category="hair_cut"))
    harness.advance_to("2026-11-25T16:30:00+08:00")
    harness.post(
        booking_event(
            event_id="evt-f2",
            type="booking.completed",
            category="hair_cut",
            occurred_at="2026-11-25T16:30:00+08:00",
        )
    )
    item = BookingItem.get(*BookingItem.key("demo-chain", "bk-1"))
    item.update(actions=[BookingItem.feedback_sentiment.set("negative")])

    harness.advance_to("2026-12-10T12:00:00+08:00")
    kinds = harness.sent_kinds(SH_STORE, "m-1")
    assert "feedback_request" in kinds and "review_request" not in kinds
    assert "checkin_1_month" not in kinds  # a haircut has no one-month check-in


def test_quiet_hours_move_steps_to_nine_but_not_the_confirmation(harness):
    harness.clock.set(__import__("datetime").datetime.fromisoformat("2026-11-22T22:30:00+08:00"))
    status, body = harness.post(
        booking_event(
            event_id="evt-q1", start="2026-11-23T10:00:00+08:00", occurred_at="2026-11-22T22:30:00+08:00"
        )
    )

    kinds = {s["kind"]: s["due_at"] for s in body["journey"]}
    assert kinds["confirmation"] == "2026-11-22T22:30:00+08:00"
    assert "reminder_day_before" not in kinds  # booked less than a day ahead
    assert kinds["reminder_2h"] == "2026-11-23T09:00:00+08:00"


def test_a_confirmation_overtaken_by_a_reschedule_is_never_sent_with_the_old_time(harness):
    harness.post(booking_event(event_id="evt-s1"))
    harness.post(
        booking_event(
            event_id="evt-s2",
            type="booking.rescheduled",
            start="2026-11-27T11:00:00+08:00",
            occurred_at="2026-11-22T10:00:30+08:00",
        )
    )
    harness.pump()

    assert harness.sent_kinds(SH_STORE, "m-1") == ["reschedule_confirmation"]
    assert "11:00" in harness.sms()[0][1]


def test_a_duplicate_finishes_an_event_whose_delivery_died_right_after_the_commit(harness, monkeypatch):
    """The booking is committed, then the process dies before the event's record, schedules, sends and profile:
    the booking system's retry finds the event applied (the booking remembers it) and does the rest, once."""
    from chalicelib.dal.bookings import BookingRepository

    event = booking_event(event_id="evt-crash")
    real = BookingRepository.record_event

    def dies(self, *args, **kwargs):
        raise RuntimeError("the Lambda died here")

    monkeypatch.setattr(BookingRepository, "record_event", dies)
    status, _ = harness.post(event)
    assert status >= 500 and harness.schedules() == []
    monkeypatch.setattr(BookingRepository, "record_event", real)

    status, body = harness.post(event)
    assert status == 202 and body["version"] == 1 and "ignored" not in body
    assert [s["kind"] for s in body["journey"]] == [
        "confirmation",
        "reminder_day_before",
        "reminder_2h",
        "no_show_followup",
    ]
    assert len(harness.schedules()) == 3
    assert harness.post(event) == (status, body)  # and now from the event's record
    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]


# --- issue 12: nothing is sent about the past --------------------------------------------------------
def test_a_booking_created_after_its_start_is_recorded_and_nothing_is_sent(harness):
    from chalicelib.dal.models import BookingItem, MemberItem

    # Given it is 22 November and the booking system reports a visit that started on the 20th
    status, body = harness.post(
        booking_event(
            event_id="evt-past", start="2026-11-20T15:00:00+08:00", occurred_at="2026-11-22T09:00:00+08:00"
        )
    )

    # Then it is recorded, with an empty journey, and nothing is sent or scheduled about it
    assert status == 202 and body["status"] == "booked" and body["journey"] == []
    harness.pump()
    assert harness.sms() == [] and harness.schedules() == [] and harness.sent_kinds(SH_STORE, "m-1") == []
    assert (
        BookingItem.get(*BookingItem.key("demo-chain", "bk-1")).start.isoformat()
        == "2026-11-20T07:00:00+00:00"
    )
    assert MemberItem.get(*MemberItem.key("demo-chain", "m-1")).last_store_id == SH_STORE
    # And the visit counts once it is completed
    status, _ = harness.post(
        booking_event(
            event_id="evt-past-done",
            type="booking.completed",
            start="2026-11-20T15:00:00+08:00",
            occurred_at="2026-11-22T09:30:00+08:00",
        )
    )
    assert status == 202
    assert MemberItem.get(*MemberItem.key("demo-chain", "m-1"), consistent_read=True).visits == 1


def test_a_booking_rescheduled_to_a_start_already_past_is_recorded_and_nothing_is_sent_about_it(harness):
    harness.post(booking_event(event_id="evt-rp1"))
    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]

    # The booking system moves it to a time that has already passed (a late correction of the record)
    status, body = harness.post(
        booking_event(
            event_id="evt-rp2",
            type="booking.rescheduled",
            start="2026-11-21T11:00:00+08:00",
            occurred_at="2026-11-22T10:00:00+08:00",
        )
    )

    assert status == 202 and body["status"] == "booked" and body["journey"] == []
    assert harness.schedules(wakes=False) == []  # the reminders for the old time are gone too (its day's wake
    # stays, shared, and finds nothing of hers)
    harness.advance_to("2026-11-26T12:00:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1") == ["confirmation"]
    assert len(harness.sms()) == 1
