"""Issue 17 part 3, pure parts: minutes counted in opening hours, who a hand-off goes to, the alarm's body."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.contracts.hand_off import HandOffCheck
from chalicelib.conversations.hand_offs import pick
from chalicelib.conversations.opening_minutes import after
from chalicelib.dal.presence import Online
from chalicelib.errors import ValidationFailed

SH = "Asia/Shanghai"
HOURS = {d: [["10:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-11-23T12:00:00+08:00", "2026-11-23T12:15:00+08:00"),  # open: plain minutes
        ("2026-11-23T20:55:00+08:00", "2026-11-24T10:10:00+08:00"),  # 5 tonight, 10 tomorrow morning
        ("2026-11-23T23:30:00+08:00", "2026-11-24T10:15:00+08:00"),  # closed: counted from opening
        ("2026-11-24T08:00:00+08:00", "2026-11-24T10:15:00+08:00"),  # before opening
    ],
)
def test_minutes_are_counted_in_opening_hours(start, expected):
    assert after(at(start), 15, SH, HOURS) == at(expected)


def test_closed_days_and_missing_days_are_skipped():
    hours = {**HOURS}
    del hours["tue"]  # closed on Tuesdays
    due = after(at("2026-11-23T20:55:00+08:00"), 15, SH, hours, ["2026-11-25"])  # and closed Wednesday 25th
    assert due == at("2026-11-26T10:10:00+08:00")


def test_a_store_without_hours_counts_every_minute():
    assert after(at("2026-11-23T23:30:00+08:00"), 15, SH, None) == at("2026-11-23T23:45:00+08:00")


def test_a_split_day_counts_both_spans():
    hours = {"mon": [["10:00", "12:00"], ["14:00", "18:00"]]}
    assert after(at("2026-11-23T11:50:00+08:00"), 15, SH, hours) == at("2026-11-23T14:05:00+08:00")


def test_dst_is_respected_in_the_stores_zone():
    hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    # London, the clocks go back on Sunday 25 October 2026: 16:50 Saturday + 15 opening minutes = 09:05 Sunday GMT
    due = after(at("2026-10-24T16:50:00+01:00"), 15, "Europe/London", hours)
    assert due == at("2026-10-25T09:05:00+00:00")


def online(staff_id: str, role: str, stylist: str | None = None, seen: int = 100) -> Online:
    return Online(staff_id, role, stylist, seen, seen + 120)


def test_her_own_stylist_first_then_the_front_desk_then_nobody():
    staff = [
        online("d1", "front_desk"),
        online("xw", "stylist", "sh-xiaowang"),
        online("amy", "stylist", "sh-amy"),
    ]
    assert pick(staff, "sh-xiaowang").staff_id == "xw"
    assert pick(staff, "sh-lina").staff_id == "d1"
    assert pick(staff, None).staff_id == "d1"
    assert pick([online("amy", "stylist", "sh-amy"), online("m", "store_manager")], "sh-lina") is None


def test_among_several_front_desks_the_choice_is_stable():
    staff = [online("d2", "front_desk"), online("d1", "front_desk")]
    assert pick(staff, None).staff_id == "d1"
    assert pick(list(reversed(staff)), None).staff_id == "d1"


def test_the_alarm_body_round_trips_and_names_one_schedule_per_wait():
    check = HandOffCheck("c", "s", "m", "in-1", "2026-11-22T02:00:00+00:00", "2026-11-22T02:15:00+00:00", 15)
    assert HandOffCheck.from_json(check.to_json()) == check
    other = HandOffCheck("c", "s", "m", "in-2", check.waiting_since, check.due_at, 15)
    assert check.schedule_name != other.schedule_name and len(check.schedule_name) <= 64
    with pytest.raises(ValidationFailed):
        HandOffCheck.from_json('{"type": "handoff_check", "store_id": "s"}')
