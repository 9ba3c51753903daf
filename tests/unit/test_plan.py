"""Unit tests for chalicelib.journeys.plan: offsets, quiet hours, time zones, DST, statuses, overrides.

Pure: no AWS, no clock. Every instant is written out in UTC (Z) so a wrong time zone shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.journeys.plan import (
    BookingFacts,
    QuietHours,
    load_journey,
    out_of_quiet_hours,
    parse_offset,
    plan,
)

SHANGHAI = "Asia/Shanghai"
LONDON = "Europe/London"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def facts(
    start: str,
    *,
    status: str = "booked",
    booked_at: str | None = None,
    tz: str = SHANGHAI,
    category: str = "hair_cut",
    duration: int = 60,
) -> BookingFacts:
    begin = at(start)
    return BookingFacts(
        status=status,
        start=begin,
        duration_minutes=duration,
        category=category,
        booked_at=at(booked_at) if booked_at else begin - timedelta(days=5),
        timezone=tz,
    )


def due(steps) -> dict[str, datetime]:
    """kind -> due instant (UTC); the kinds must be unique in the plan."""
    kinds = [s.kind for s in steps]
    assert len(kinds) == len(set(kinds)), kinds
    return {s.kind: s.due_at for s in steps}


def kinds(steps) -> list[str]:
    return [s.kind for s in steps]


def aftercare_due(now: str, journey=None) -> datetime:
    """The aftercare step (now + 30m, not quiet-exempt) of a visit completed at `now` in Shanghai."""
    steps = plan(
        journey or load_journey(),
        facts("2026-11-20T10:00:00+08:00", status="completed"),
        "completed",
        at(now),
    )
    return due(steps)["aftercare"]


# --- offsets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, delta, clock",
    [
        ("0", timedelta(0), None),
        ("-2h", timedelta(hours=-2), None),
        ("+30m", timedelta(minutes=30), None),
        ("-1d@10:00", timedelta(days=-1), time(10, 0)),
        ("+7d@11:00", timedelta(days=7), time(11, 0)),
        ("+30d@11:00", timedelta(days=30), time(11, 0)),
        ("+999m", timedelta(minutes=999), None),
    ],
)
def test_given_a_journey_offset_when_parsed_then_it_gives_the_delta_and_the_local_time(text, delta, clock):
    assert parse_offset(text) == (delta, clock)


@pytest.mark.parametrize(
    "text",
    [
        "2h",
        "-2x",
        "--2h",
        "+1w",
        "-1.5h",
        "-2h ",
        " -2h",
        "+1000m",
        "abc",
        "-1d@1000",
        "-1d@10",
        "-1d@10:0",
        "-1d@",
        "-d@10:00",
        "-1d@24:00",
        "-1d@10:60",
        "1d@10:00",
        "-1D@10:00",
    ],
)
def test_given_a_malformed_offset_when_parsed_then_it_raises_value_error(text):
    with pytest.raises(ValueError):
        parse_offset(text)


@pytest.mark.parametrize("text", ["-2h@10:00", "+30m@09:00"])
def test_given_a_clock_time_without_a_day_offset_when_parsed_then_it_raises(text):
    with pytest.raises(ValueError, match="day offset"):
        parse_offset(text)


# --- quiet hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2026-11-22T21:30:00+08:00", "2026-11-23T01:00:00Z"),  # 22:00 -> 09:00 the next day
        ("2026-11-22T05:30:00+08:00", "2026-11-22T01:00:00Z"),  # 06:00 -> 09:00 the same day
        ("2026-11-22T08:30:00+08:00", "2026-11-22T01:00:00Z"),  # 09:00 exactly is allowed
        ("2026-11-22T20:29:00+08:00", "2026-11-22T12:59:00Z"),  # 20:59 stays
        ("2026-11-22T20:30:00+08:00", "2026-11-23T01:00:00Z"),  # 21:00 is quiet
        ("2026-11-22T23:45:00+08:00", "2026-11-23T01:00:00Z"),  # 00:15 -> 09:00 that day
    ],
)
def test_given_a_step_due_in_quiet_hours_when_planned_then_it_moves_to_nine_store_local(now, expected):
    assert aftercare_due(now) == at(expected)


@pytest.mark.parametrize(
    "local, expected_local",
    [
        ("2026-11-22T22:00:00", "2026-11-23T09:00:00"),
        ("2026-11-22T06:00:00", "2026-11-22T09:00:00"),
        ("2026-11-22T09:00:00", "2026-11-22T09:00:00"),
        ("2026-11-22T08:59:00", "2026-11-22T09:00:00"),
        ("2026-11-22T20:59:00", "2026-11-22T20:59:00"),
        ("2026-11-22T21:00:00", "2026-11-23T09:00:00"),
    ],
)
def test_given_a_moment_when_moved_out_of_quiet_hours_then_only_quiet_moments_move(local, expected_local):
    tz = ZoneInfo(SHANGHAI)
    moment = at(local).replace(tzinfo=tz).astimezone(UTC)

    moved = out_of_quiet_hours(moment, QuietHours(), tz)

    assert moved == at(expected_local).replace(tzinfo=tz)
    assert moved.utcoffset() == timedelta(0)  # an instant in UTC, as the planner keeps them


def test_given_a_booking_made_at_night_when_planned_then_the_confirmation_is_sent_at_once():
    now = at("2026-11-22T23:00:00+08:00")

    steps = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", booked_at="2026-11-22T23:00:00+08:00"),
        "created",
        now,
    )

    assert steps[0].kind == "confirmation" and steps[0].due_at == now


def test_given_a_reschedule_at_night_when_planned_then_its_confirmation_is_sent_at_once():
    now = at("2026-11-22T02:00:00+08:00")

    steps = plan(load_journey(), facts("2026-11-25T15:00:00+08:00"), "rescheduled", now)

    assert due(steps)["reschedule_confirmation"] == now


# --- store-local reminders -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tz, start, expected",
    [
        (SHANGHAI, "2026-11-25T15:00:00+08:00", "2026-11-24T02:00:00Z"),
        (LONDON, "2026-11-25T15:00:00+00:00", "2026-11-24T10:00:00Z"),
        (LONDON, "2026-07-15T15:00:00+01:00", "2026-07-14T09:00:00Z"),
        (SHANGHAI, "2026-11-25T00:30:00+08:00", "2026-11-24T02:00:00Z"),  # just after midnight
        (SHANGHAI, "2026-11-24T23:30:00+00:00", "2026-11-24T02:00:00Z"),  # given in UTC: 07:30 on the 25th
    ],
)
def test_given_a_booking_when_planned_then_the_day_before_reminder_is_at_ten_store_local(tz, start, expected):
    steps = plan(load_journey(), facts(start, tz=tz), None, at("2026-06-01T00:00:00Z"))

    assert due(steps)["reminder_day_before"] == at(expected)


def test_given_a_booking_made_less_than_a_day_ahead_when_planned_then_there_is_no_day_before_reminder():
    start = "2026-11-25T09:30:00+08:00"
    booked = "2026-11-24T09:31:00+08:00"  # 23h59m ahead; 10:00 the day before is still to come

    steps = plan(load_journey(), facts(start, booked_at=booked), "created", at(booked))

    assert "reminder_day_before" not in kinds(steps)
    assert "reminder_2h" in kinds(steps)


def test_given_a_booking_made_exactly_a_day_ahead_when_planned_then_the_day_before_reminder_stays():
    start = "2026-11-25T09:30:00+08:00"
    booked = "2026-11-24T09:30:00+08:00"

    steps = plan(load_journey(), facts(start, booked_at=booked), "created", at(booked))

    assert due(steps)["reminder_day_before"] == at("2026-11-24T02:00:00Z")


def test_given_a_nine_oclock_booking_when_quiet_hours_push_the_2h_reminder_to_the_start_then_it_is_dropped():
    steps = plan(load_journey(), facts("2026-11-25T09:00:00+08:00"), None, at("2026-11-22T10:00:00+08:00"))

    assert kinds(steps) == ["reminder_day_before", "no_show_followup"]


def test_given_a_ten_oclock_booking_when_quiet_hours_push_the_2h_reminder_then_it_is_sent_at_nine():
    steps = plan(load_journey(), facts("2026-11-25T10:00:00+08:00"), None, at("2026-11-22T10:00:00+08:00"))

    assert due(steps)["reminder_2h"] == at("2026-11-25T01:00:00Z")


# --- daylight saving time (Europe/London) ----------------------------------------------------------


def test_given_a_booking_on_the_spring_forward_day_when_planned_then_the_utc_instants_follow_the_clocks():
    # 2027-03-28 01:00Z: GMT -> BST. 15:00 BST is 14:00Z; the day before is still GMT.
    steps = plan(
        load_journey(), facts("2027-03-28T15:00:00+01:00", tz=LONDON), "created", at("2027-03-20T12:00:00Z")
    )

    assert due(steps) == {
        "confirmation": at("2027-03-20T12:00:00Z"),
        "reminder_day_before": at("2027-03-27T10:00:00Z"),
        "reminder_2h": at("2027-03-28T12:00:00Z"),
        "no_show_followup": at("2027-03-28T14:30:00Z"),
    }


def test_given_an_early_booking_on_the_spring_forward_day_when_quiet_hours_apply_then_nine_is_bst():
    # 10:30 BST = 09:30Z; 2h before is 08:30 BST (quiet) -> 09:00 BST = 08:00Z.
    steps = plan(
        load_journey(), facts("2027-03-28T10:30:00+01:00", tz=LONDON), None, at("2027-03-20T12:00:00Z")
    )

    assert due(steps)["reminder_2h"] == at("2027-03-28T08:00:00Z")


def test_given_a_booking_on_the_fall_back_day_when_planned_then_the_day_before_is_still_bst():
    # 2026-10-25 01:00Z: BST -> GMT. 10:30 GMT = 10:30Z; the day before 10:00 BST = 09:00Z.
    steps = plan(
        load_journey(), facts("2026-10-25T10:30:00+00:00", tz=LONDON), None, at("2026-10-01T12:00:00Z")
    )

    assert due(steps) == {
        "reminder_day_before": at("2026-10-24T09:00:00Z"),
        "reminder_2h": at("2026-10-25T09:00:00Z"),  # 08:30 GMT is quiet -> 09:00 GMT
        "no_show_followup": at("2026-10-25T11:00:00Z"),
    }


def test_given_a_booking_the_day_after_fall_back_when_planned_then_the_day_before_reminder_is_gmt():
    steps = plan(
        load_journey(), facts("2026-10-26T10:00:00+00:00", tz=LONDON), None, at("2026-10-01T12:00:00Z")
    )

    assert due(steps)["reminder_day_before"] == at("2026-10-25T10:00:00Z")


def test_given_a_visit_completed_before_fall_back_when_planned_then_later_steps_are_at_gmt_local_times():
    steps = plan(
        load_journey(),
        facts("2026-10-24T16:00:00+01:00", status="completed", tz=LONDON, category="perm"),
        "completed",
        at("2026-10-24T18:00:00+01:00"),
    )

    assert due(steps) == {
        "aftercare": at("2026-10-24T17:30:00Z"),
        "first_visit_followup": at("2026-10-25T11:00:00Z"),  # the day after, 11:00 GMT (clocks went back)
        "feedback_request": at("2026-10-26T11:00:00Z"),
        "review_request": at("2026-10-31T11:00:00Z"),
        "checkin_1_month": at("2026-11-23T11:00:00Z"),
    }


def test_given_a_local_time_in_the_spring_gap_when_planned_then_it_resolves_forward():
    # 01:30 on 2027-03-28 does not exist in London; it becomes 02:30 BST = 01:30Z.
    journey = load_journey({"steps": {"reminder_day_before": {"offset": "-1d@01:30", "quiet_exempt": True}}})

    steps = plan(journey, facts("2027-03-29T12:00:00+01:00", tz=LONDON), None, at("2027-03-20T12:00:00Z"))

    assert due(steps)["reminder_day_before"] == at("2027-03-28T01:30:00Z")


# --- statuses ------------------------------------------------------------------------------------


def test_given_a_new_booking_when_created_then_the_whole_upcoming_journey_is_planned_in_order():
    steps = plan(
        load_journey(), facts("2026-11-25T15:00:00+08:00"), "created", at("2026-11-22T10:00:00+08:00")
    )

    assert kinds(steps) == ["confirmation", "reminder_day_before", "reminder_2h", "no_show_followup"]
    assert [s.due_at for s in steps] == sorted(s.due_at for s in steps)
    assert all(s.due_at.utcoffset() == timedelta(0) for s in steps)


def test_given_a_confirmed_booking_when_planned_then_there_is_no_2h_reminder():
    steps = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", status="confirmed"),
        None,
        at("2026-11-22T10:00:00+08:00"),
    )

    assert kinds(steps) == ["reminder_day_before", "no_show_followup"]


@pytest.mark.parametrize("event", ["cancelled", None])
def test_given_a_cancelled_booking_when_planned_then_nothing_is_planned(event):
    steps = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", status="cancelled"),
        event,
        at("2026-11-22T10:00:00+08:00"),
    )

    assert steps == []


def test_given_a_checked_in_booking_when_planned_then_nothing_is_planned():
    steps = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", status="checked_in"),
        "checked_in",
        at("2026-11-25T15:05:00+08:00"),
    )

    assert steps == []


@pytest.mark.parametrize(
    "category, checkin",
    [("hair_cut", False), ("nail_gel", False), ("hair_care", False), ("perm", True), ("hair_colour", True)],
)
def test_given_a_completed_visit_when_planned_then_aftercare_feedback_review_and_checkin_by_category(
    category, checkin
):
    now = at("2026-11-25T16:40:00+08:00")

    steps = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", status="completed", category=category),
        "completed",
        now,
    )

    expected = {
        "aftercare": at("2026-11-25T09:10:00Z"),
        "first_visit_followup": at("2026-11-26T03:00:00Z"),  # planned for every visit, checked when due
        "feedback_request": at("2026-11-27T03:00:00Z"),
        "review_request": at("2026-12-02T03:00:00Z"),
    }
    if checkin:
        expected["checkin_1_month"] = at("2026-12-25T03:00:00Z")
    assert due(steps) == expected


def test_given_a_no_show_event_when_planned_then_the_followup_is_sent_at_once():
    now = at("2026-11-25T16:00:00+08:00")

    steps = plan(load_journey(), facts("2026-11-25T15:00:00+08:00", status="no_show"), "no_show", now)

    assert [(s.kind, s.when, s.due_at) for s in steps] == [("no_show_followup", "event:no_show", now)]


def test_given_a_booking_planned_an_hour_before_start_when_planned_then_past_steps_are_dropped():
    now = at("2026-11-25T14:00:00+08:00")

    steps = plan(load_journey(), facts("2026-11-25T15:00:00+08:00"), "created", now)

    assert due(steps) == {"confirmation": now, "no_show_followup": at("2026-11-25T07:30:00Z")}


def test_given_a_booking_whose_start_has_passed_when_replanned_then_nothing_but_the_followup_remains():
    now = at("2026-11-25T15:10:00+08:00")

    steps = plan(load_journey(), facts("2026-11-25T15:00:00+08:00"), None, now)

    assert due(steps) == {"no_show_followup": at("2026-11-25T07:30:00Z")}
    assert (
        plan(load_journey(), facts("2026-11-25T15:00:00+08:00"), None, at("2026-11-25T15:31:00+08:00")) == []
    )


@pytest.mark.parametrize("event", ["created", "rescheduled"])
def test_given_a_booking_made_or_moved_to_a_start_already_past_when_planned_then_nothing_is_planned(event):
    start = "2026-11-25T15:00:00+08:00"

    assert plan(load_journey(), facts(start), event, at("2026-11-25T15:00:00+08:00")) == []
    assert plan(load_journey(), facts(start), event, at("2026-11-27T10:00:00+08:00")) == []
    assert plan(load_journey(), facts(start), event, at("2026-11-25T14:59:00+08:00")) != []


# --- overrides -----------------------------------------------------------------------------------

CHAIN = {"steps": {"reminder_day_before": {"offset": "-1d@18:00"}}}
STORE = {"steps": {"reminder_2h": {"enabled": False}}}


def test_given_chain_and_store_overrides_when_loaded_then_both_apply():
    journey = load_journey(CHAIN, STORE)

    steps = plan(journey, facts("2026-11-25T15:00:00+08:00"), None, at("2026-11-22T10:00:00+08:00"))

    assert due(steps) == {
        "reminder_day_before": at("2026-11-24T10:00:00Z"),
        "no_show_followup": at("2026-11-25T07:30:00Z"),
    }
    assert journey.spec_for("reminder_2h") is None


def test_given_the_same_step_overridden_twice_when_loaded_then_the_store_wins_over_the_chain():
    journey = load_journey(CHAIN, {"steps": {"reminder_day_before": {"offset": "-1d@17:00"}}})

    assert journey.spec_for("reminder_day_before").offset == "-1d@17:00"


def test_given_a_chain_disabling_a_step_when_the_store_enables_it_then_it_is_back():
    journey = load_journey(
        {"steps": {"reminder_2h": {"enabled": False}}}, {"steps": {"reminder_2h": {"enabled": True}}}
    )

    assert journey.spec_for("reminder_2h") is not None


def test_given_overrides_when_loaded_then_the_base_journey_is_left_alone():
    load_journey(CHAIN, STORE, {"quiet_hours": {"start": "20:00"}})

    base = load_journey()
    assert base.spec_for("reminder_day_before").offset == "-1d@10:00"
    assert base.spec_for("reminder_2h") is not None
    assert base.quiet_hours == QuietHours(time(21, 0), time(9, 0))
    assert load_journey(None, {}) == base


def test_given_a_quiet_hours_override_when_planned_then_the_store_quiet_hours_apply():
    journey = load_journey({"quiet_hours": {"start": "22:00", "end": "08:00"}})

    assert journey.quiet_hours == QuietHours(time(22, 0), time(8, 0))
    assert aftercare_due("2026-11-22T21:00:00+08:00", journey) == at("2026-11-22T13:30:00Z")  # 21:30 is fine
    assert aftercare_due("2026-11-22T05:30:00+08:00", journey) == at("2026-11-22T00:00:00Z")  # 06:00 -> 08:00
    assert aftercare_due("2026-11-22T07:30:00+08:00", journey) == at("2026-11-22T00:00:00Z")  # 08:00 exactly


def test_given_a_partial_quiet_hours_override_when_loaded_then_the_other_bound_is_kept():
    journey = load_journey({"quiet_hours": {"end": "10:00"}}, {"quiet_hours": {"start": "20:00"}})

    assert journey.quiet_hours == QuietHours(time(20, 0), time(10, 0))


@pytest.mark.parametrize(
    "override",
    [
        {"steps": {"reminder_2h": {"offest": "-1h"}}},
        {"steps": {"reminder_2h": {"enabled": False, "colour": "red"}}},
        {"steps": {"reminder_2h": {"offset": "-2 hours"}}},
        {"steps": {"reminder_day_before": {"offset": "-2h@10:00"}}},
        {"steps": {"reminder_two_hours": {"enabled": False}}},
        {"reminder_2h": {"enabled": False}},
        {"quiet_hours": {"begin": "22:00"}},
    ],
)
def test_given_an_override_with_unknown_keys_or_a_bad_offset_when_loaded_then_it_raises(override):
    with pytest.raises(ValueError):
        load_journey(override)
    with pytest.raises(ValueError):
        load_journey(None, override)


# --- conditions (only_if) ------------------------------------------------------------------------------


def test_given_a_first_visit_condition_then_only_a_member_with_no_earlier_visit_passes():
    from chalicelib.journeys.plan import SendFacts, conditions_hold

    spec = load_journey().spec_for("first_visit_followup")
    assert spec is not None and spec.only_if == ("first_visit",)
    visit = at("2026-11-25T07:00:00Z")

    assert conditions_hold(spec, SendFacts(visit, first_visit_at=visit))
    assert not conditions_hold(spec, SendFacts(visit, first_visit_at=at("2026-10-01T07:00:00Z")))
    assert not conditions_hold(spec, None)  # no profile to tell: not sent
    assert conditions_hold(load_journey().spec_for("aftercare"), None)  # a step naming none always may go


def test_given_an_unknown_condition_in_an_override_then_loading_fails():
    with pytest.raises(ValueError, match="unknown conditions"):
        load_journey({"steps": {"first_visit_followup": {"only_if": ["first_vist"]}}})


# --- store-local times of day: shared by the store's wake (services/store_wakes.py) --------------------


def test_given_steps_at_a_store_local_time_of_day_when_planned_then_only_they_are_marked_store_time():
    booked = plan(
        load_journey(), facts("2026-11-25T15:00:00+08:00"), "created", at("2026-11-22T10:00:00+08:00")
    )
    done = plan(
        load_journey(),
        facts("2026-11-25T15:00:00+08:00", status="completed", category="perm"),
        None,
        at("2026-11-25T16:30:00+08:00"),
    )

    assert {s.kind: s.store_time for s in booked} == {
        "confirmation": False,  # due now
        "reminder_day_before": True,  # -1d@10:00
        "reminder_2h": False,
        "no_show_followup": False,
    }
    assert {s.kind: s.store_time for s in done} == {
        "aftercare": False,
        "first_visit_followup": True,
        "feedback_request": True,
        "review_request": True,
        "checkin_1_month": True,
    }


def test_given_a_relative_step_pushed_out_of_quiet_hours_when_planned_then_it_is_at_a_store_time():
    steps = plan(load_journey(), facts("2026-11-25T10:00:00+08:00"), None, at("2026-11-22T10:00:00+08:00"))
    late = plan(load_journey(), facts("2026-11-25T15:00:00+08:00"), None, at("2026-11-22T10:00:00+08:00"))

    assert {s.kind: s.store_time for s in steps}[
        "reminder_2h"
    ] is True  # 08:00 -> 09:00, the end of quiet hours
    assert {s.kind: s.store_time for s in late}["reminder_2h"] is False
