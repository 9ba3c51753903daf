"""The compact storage of a booking: planned steps, held buckets and recent events, and items written before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.contracts.step import schedule_name
from chalicelib.dal.models import (
    SCHEDULED,
    WOKEN,
    BookingItem,
    CompactSlotsAttribute,
    CompactStepsAttribute,
    PendingStep,
)


def _step(**kw) -> PendingStep:
    base = {
        "kind": "reminder_2h",
        "when": "upcoming",
        "due_at": datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        "channel": "sms",
        "schedule": "anything",
    }
    return PendingStep(**{**base, **kw})


def test_steps_round_trip_to_the_microsecond_and_keep_only_a_schedule_flag():
    attribute = CompactStepsAttribute()
    due = datetime(2026, 11, 22, 2, 0, 0, 123456, tzinfo=UTC)
    stored = attribute.serialize(
        [_step(kind="confirmation", when="event:created", due_at=due, schedule=None), _step()]
    )
    assert stored == [
        {"S": "confirmation|event:created|1795312800.123456|sms|"},
        {"S": "reminder_2h|upcoming|1795568400|sms|S"},
    ]
    first, second = attribute.deserialize(stored)
    assert (first.kind, first.when, first.due_at, first.channel, first.schedule) == (
        "confirmation",
        "event:created",
        due,
        "sms",
        None,
    )
    assert second.due_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC) and second.schedule == SCHEDULED


def test_steps_stored_as_maps_before_still_read():
    old = [
        {
            "M": {
                "kind": {"S": "reminder_day_before"},
                "when": {"S": "upcoming"},
                "due_at": {"S": "2026-11-24T02:00:00.000000+0000"},
                "schedule": {"S": "ref-reminder_day_before-v1"},
                "channel": {"S": "sms"},
            }
        }
    ]
    [step] = CompactStepsAttribute().deserialize(old)
    assert step.due_at == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert step.schedule == "ref-reminder_day_before-v1" and step.channel == "sms"


def test_schedule_names_follow_from_the_booking():
    booking = BookingItem(
        *BookingItem.key("c1", "bk-1"),
        chain_id="c1",
        booking_id="bk-1",
        version=3,
        pending=[
            _step(schedule=SCHEDULED),
            _step(kind="confirmation", schedule=None),
            _step(kind="old", schedule="stored-name"),
        ],
    )
    assert booking.schedule_names() == [schedule_name("c1", "bk-1", "reminder_2h", 3), "stored-name"]


def test_held_buckets_are_stored_as_ranges_and_lists_still_read():
    attribute = CompactSlotsAttribute()
    held = {"amy|2026-11-25": ["0200", "0205", "0210", "0300"], "amy|2026-11-26": ["2355"]}
    stored = attribute.serialize(held)
    assert stored == '{"amy|2026-11-25":"0200-0210,0300-0300","amy|2026-11-26":"2355-2355"}'
    assert attribute.deserialize(stored) == held
    assert attribute.deserialize('{"amy|2026-11-25": ["0200", "0205"]}') == {
        "amy|2026-11-25": ["0200", "0205"]
    }


def test_a_booking_remembers_its_last_events_and_the_version_each_made():
    before = BookingItem(*BookingItem.key("c1", "bk-1"), version=1, recent_events=None, last_event_id="evt-0")
    assert before.applied_version("evt-0") == 1  # an item written before recent_events
    booking = BookingItem(*BookingItem.key("c1", "bk-1"), version=1)
    booking.remember_event("evt-1", None)
    for version in range(2, 10):
        later = BookingItem(*BookingItem.key("c1", "bk-1"), version=version)
        later.remember_event(f"evt-{version}", booking)
        booking = later
    assert booking.applied_version("evt-9") == 9 and booking.applied_version("evt-4") == 4
    assert booking.applied_version("evt-3") is None  # only the last RECENT_EVENTS are kept
    assert len(booking.recent_events) == BookingItem.RECENT_EVENTS


def test_a_step_fired_by_its_store_wake_keeps_its_flag_and_has_no_schedule_of_its_own():
    due = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    attribute = CompactStepsAttribute()
    stored = attribute.serialize([_step(kind="reminder_day_before", due_at=due, schedule=WOKEN), _step()])
    assert stored[0] == {"S": "reminder_day_before|upcoming|1795485600|sms|W"}
    woken, scheduled = attribute.deserialize(stored)
    booking = BookingItem(
        *BookingItem.key("c1", "bk-1"),
        chain_id="c1",
        booking_id="bk-1",
        store_id="s1",
        version=2,
        start=datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
        pending=[woken, scheduled],
    )

    assert booking.schedule_names() == [schedule_name("c1", "bk-1", "reminder_2h", 2)]
    assert [p.kind for p in booking.woken_at(due)] == ["reminder_day_before"]
    assert booking.woken_at(due + timedelta(minutes=1)) == []
    assert (
        booking.store_day("Asia/Shanghai") == "2026-11-25"
        and booking.store_day("America/Los_Angeles") == "2026-11-24"
    )
