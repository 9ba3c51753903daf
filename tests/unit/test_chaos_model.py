"""The soak's own model and checker (chaos/): they decide what `make chaos` reports, so they are tested too."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest

from chaos import model
from chaos.scenario import build_bookings, plan_stops
from devstack.seed import STORES

JOURNEY = tomllib.loads((Path(model.__file__).parents[1] / "chalicelib/journeys/journeys.toml").read_text())
T0 = datetime(2026, 11, 22, 0, 35, tzinfo=UTC)
SOAK_STORES = [
    {"id": s["id"], "timezone": s["timezone"], "locale": s["locale"], "services": s["catalog"]["services"]}
    for s in STORES
]


def test_the_model_names_the_journey_as_journeys_toml_does():
    steps = {step["kind"]: step for step in JOURNEY["step"]}
    named = {
        model.CONFIRMATION,
        model.RESCHEDULE_CONFIRMATION,
        model.NO_SHOW,
        model.ONE_MONTH,
        *model.UPCOMING,
        *model.AFTER_VISIT,
    }
    assert named == set(steps)  # every step is expected somewhere, none invented
    assert tuple(steps[model.ONE_MONTH]["categories"]) == model.ONE_MONTH_CATEGORIES
    assert all(steps[kind]["when"] == "upcoming" for kind in model.UPCOMING)
    assert all(steps[kind]["when"] == "completed" for kind in model.AFTER_VISIT)


@pytest.mark.parametrize(
    ("fate", "category", "kinds"),
    [
        ("cancelled", "perm", {("confirmation", 1)}),
        (
            "no_show",
            "hair_cut",
            {("confirmation", 1), ("reminder_day_before", 1), ("reminder_2h", 1), ("no_show_followup", 1)},
        ),
        (
            "completed",
            "hair_cut",
            {
                ("confirmation", 1),
                ("reminder_day_before", 1),
                ("reminder_2h", 1),
                ("aftercare", 3),
                ("first_visit_followup", 3),
                ("feedback_request", 3),
                ("review_request", 3),
            },
        ),
        (
            "rescheduled",
            "perm",
            {
                ("confirmation", 1),
                ("reschedule_confirmation", 2),
                ("reminder_day_before", 2),
                ("reminder_2h", 2),
                ("aftercare", 4),
                ("first_visit_followup", 4),
                ("feedback_request", 4),
                ("review_request", 4),
                ("checkin_1_month", 4),
            },
        ),
    ],
)
def test_expected_messages_per_fate(fate, category, kinds):
    assert model.expected_messages(fate, category) == kinds


def test_check_counts_duplicates_stale_and_lost():
    expected = {
        "a": model.expected_messages("cancelled", "perm"),
        "b": model.expected_messages("no_show", "perm"),
    }
    sent = {
        "a": [("confirmation", 1), ("confirmation", 1), ("reminder_2h", 1)],
        "b": [("confirmation", 1), ("reminder_day_before", 1), ("reminder_2h", 1), None],
    }
    verdict = model.check(expected, sent)
    assert (verdict.expected, verdict.delivered, verdict.duplicates, verdict.stale, verdict.lost) == (
        5,
        4,
        1,
        2,
        1,
    )
    assert not verdict.ok
    assert model.check(expected, {"a": [("confirmation", 1)], "b": sorted(expected["b"])}).ok


def test_an_sms_is_named_by_the_message_with_its_text():
    history = [
        {"id": "out-0a1b-reminder_2h-v2", "direction": "out", "text": "see you at 14:00"},
        {"id": "in-1", "direction": "in", "text": "ok"},
    ]
    assert model.attribute(["see you at 14:00", "ok", "??"], history) == [("reminder_2h", 2), None, None]


def test_the_scenario_never_double_books_a_stylist_and_deals_the_fates():
    bookings = build_bookings(1000, SOAK_STORES, T0)
    assert Counter(b.fate for b in bookings) == {
        "completed": 700,
        "cancelled": 100,
        "rescheduled": 100,
        "no_show": 100,
    }
    held = [(b.stylist["id"], b.start) for b in bookings] + [
        (b.stylist["id"], b.new_start) for b in bookings if b.new_start
    ]
    assert len(held) == len(set(held))  # 3-hour spacing: no service (at most 150 minutes) overlaps
    assert len({b.phone for b in bookings}) == 1000
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(b.phone)) for b in bookings)
    assert all(b.start - T0 >= timedelta(hours=24) for b in bookings)  # reminders' minimum lead holds


def test_stale_events_are_older_than_what_came_before_them_and_every_event_is_in_time_order():
    bookings = build_bookings(90, SOAK_STORES, T0)
    stops = plan_stops(bookings, T0)
    assert [s.at for s in stops] == sorted(s.at for s in stops)
    latest: dict[str, datetime] = {}
    stale = 0
    for stop in stops:
        for delivery in stop.deliveries:
            occurred = datetime.fromisoformat(delivery.body["occurred_at"])
            if delivery.stale:
                stale += 1
                assert occurred < latest[delivery.booking_id]
            else:
                assert occurred <= stop.at
                latest[delivery.booking_id] = occurred
    assert stale >= 18  # every cancelled and rescheduled booking, some completed ones
    # A stop before every slot (no-shows' too), so the 2-hour reminder is never fired together with the nudge.
    slots = {b.slot - timedelta(minutes=30) for b in bookings if b.fate != "cancelled"}
    assert slots <= {s.at for s in stops}


def _row(booking_id: str, stylist: str, start: str, minutes: int = 60, status: str = "booked") -> dict:
    return {
        "id": booking_id,
        "status": status,
        "start": start,
        "duration_minutes": minutes,
        "stylist": {"id": stylist},
    }


def test_double_bookings_are_overlapping_holding_bookings_of_one_stylist():
    rows = [
        _row("a", "s1", "2026-11-24T15:00:00+08:00"),
        _row("b", "s1", "2026-11-24T15:30:00+08:00"),  # overlaps a
        _row("c", "s1", "2026-11-24T16:00:00+08:00"),  # touches a, overlaps b
        _row("d", "s2", "2026-11-24T15:00:00+08:00"),  # another stylist
        _row(
            "e", "s1", "2026-11-24T07:15:00+00:00", status="completed"
        ),  # 15:15 in Shanghai: overlaps a, b, c
        _row("f", "s1", "2026-11-24T15:00:00+08:00", status="cancelled"),  # lets its time go
        _row("g", "s1", "2026-11-24T15:00:00+08:00", status="no_show"),
        _row("a", "s1", "2026-11-24T15:00:00+08:00"),  # the same booking read twice counts once
    ]

    assert model.double_bookings(rows) == 5  # a-b, a-e, b-c, b-e, e-c
    assert model.double_bookings([rows[0], rows[2], rows[3]]) == 0


def test_races_take_the_soaks_stylists_at_times_none_of_its_bookings_touch():
    from chaos.contention import RACE_SERVICE, build_races

    bookings = build_bookings(300, SOAK_STORES, T0)
    races = build_races(bookings, T0, 60)

    assert len(races) == 60 and len({(r.stylist["id"], r.start) for r in races}) == 60
    soak_stylists = {b.stylist["id"] for b in bookings}
    assert {r.stylist["id"] for r in races} <= soak_stylists
    assert {r.store["id"] for r in races} == {s["id"] for s in SOAK_STORES}
    race_minutes = timedelta(minutes=RACE_SERVICE["minutes"] + RACE_SERVICE["buffer_minutes"])
    soak = [
        (b.stylist["id"], slot, slot + timedelta(minutes=150)) for b in bookings for slot in {b.start, b.slot}
    ]
    for race in races:
        for stylist, start, end in soak:
            if stylist == race.stylist["id"]:
                assert race.start >= end or race.start + race_minutes <= start
    assert all(r.start - T0 >= timedelta(days=1) for r in races)  # outside any lead time
    assert all(not r.webhook(T0)["booking"]["member"].get("phone") for r in races)  # no journey messages


# --- waitlist races and the summary line (issue 14) ----------------------------------------------------------
def test_waitlist_races_go_to_stores_outside_quiet_hours_at_times_nothing_else_holds():
    from zoneinfo import ZoneInfo

    from chaos.contention import OFFER_HOURS, WAITLIST_HOUR, build_races, build_waitlist_races

    bookings = build_bookings(60, SOAK_STORES, T0)
    for hour in range(24):  # whenever the soak starts, some store can offer (but 00:00-00:59 UTC in summer)
        for t0 in (T0.replace(hour=hour), T0.replace(month=7, hour=hour)):
            races = build_waitlist_races(bookings, t0, 6)
            assert bool(races) is not (t0.month == 7 and hour == 0), t0
            for race in races:
                assert t0.astimezone(ZoneInfo(race.store["timezone"])).hour in OFFER_HOURS
                assert race.local_start.hour == WAITLIST_HOUR  # evening: no soak booking is freed then
    races = build_waitlist_races(bookings, T0, 6)
    taken = {(b.stylist["id"], s) for b in bookings for s in (b.start, b.slot)}
    taken |= {(r.stylist["id"], r.start) for r in build_races(bookings, T0, 12)}
    held = {(r.stylist["id"], r.start) for r in races}
    assert len(held) == len(races) == 6
    assert all(
        abs((start - other).total_seconds()) >= 3600 for (s, start) in held for (o, other) in taken if s == o
    )
    assert len({m for r in races for m in r.waiters()}) == 6 * len(races[0].waiters())


def test_the_summary_line_counts_waitlist_claims_and_double_bookings():
    from chaos.contention import Contention
    from chaos.report import figures, summary_line
    from chaos.soak import Options, Report

    contention = Contention(races=2, waitlist_races=3, waitlist_offers=3, waitlist_claims=3, won_by_claim=2)
    contention.double_bookings = 0
    report = Report(build_bookings(6, SOAK_STORES, T0), model.Verdict(), Counter(), contention=contention)

    report.fallbacks.update({"fallback_permanent": 2, "fallback_no_receipt": 1})  # issue 15
    report.subscriptions_sent = 4

    line = summary_line(report)
    assert line.startswith("SUMMARY bookings=6 ")
    assert line.endswith(" waitlist_claims=3 double_bookings=0 fallbacks=3 subscription_messages=4")
    assert "| WeChat subscription messages accepted | 4 |" in figures(
        report, Options(), "python -m chaos", T0
    )
    assert "| 3 claims in 3 races (3 freed times offered to the longest waiting) |" in figures(
        report, Options(), "python -m chaos", T0
    )


def test_a_bookings_buffer_is_part_of_the_time_it_holds():
    cut = {**_row("a", "s1", "2026-11-24T15:00:00+08:00"), "duration_minutes": 45, "buffer_minutes": 15}
    next_one = _row("b", "s1", "2026-11-24T15:45:00+08:00")

    assert model.double_bookings([cut, next_one]) == 1  # 15:45 is inside a's buffer
    assert model.double_bookings([{**cut, "buffer_minutes": 0}, next_one]) == 0


def test_a_fallback_on_another_channel_is_not_a_duplicate_but_twice_on_one_channel_is():
    confirmation, reminder = ("confirmation", 1), ("reminder_2h", 1)
    # no receipt from WeChat: the one fallback carried it by SMS as well
    merged = model.across_channels({"wechat_template": [confirmation], "sms": [confirmation, reminder]})
    assert Counter(merged) == {confirmation: 1, reminder: 1}
    verdict = model.check({"b": frozenset({confirmation, reminder})}, {"b": merged})
    assert (verdict.duplicates, verdict.lost, verdict.stale) == (0, 0, 0)
    # the same channel twice is a duplicate; an unexplained message on any channel stays unexplained
    twice = model.across_channels({"wechat_template": [confirmation, confirmation], "sms": [None]})
    assert Counter(twice) == {confirmation: 2, None: 1}
    verdict = model.check({"b": frozenset({confirmation})}, {"b": twice})
    assert (verdict.duplicates, verdict.stale) == (1, 1)


def test_followers_of_the_first_store_are_every_other_member_there():
    bookings = build_bookings(30, SOAK_STORES, T0)
    followers = [b for b in bookings if b.wechat_openid]
    assert followers and {b.store["id"] for b in followers} == {SOAK_STORES[0]["id"]}
    assert len(followers) == len({b.wechat_openid for b in followers})
    assert (
        followers[0].event("created", "e", T0)["booking"]["member"]["wechat_openid"]
        == followers[0].wechat_openid
    )


def test_subscription_messages_are_named_by_her_messages_on_that_channel_and_an_extra_one_is_unexplained():
    from chaos.soak import _subscriptions_of

    history = [  # newest first, as the messages API lists them
        {"id": "out-b1c0-checkin_1_month-v1", "direction": "out", "channel": "sms"},
        {"id": "out-b1c0-feedback_request-v1", "direction": "out", "channel": "wechat_subscribe"},
        {"id": "out-b1c0-first_visit_followup-v1", "direction": "out", "channel": "wechat_subscribe"},
        {"id": "in-1", "direction": "in", "channel": "wechat"},
    ]
    accepted = Counter({"o-her": 3, "o-other": 1})

    named = _subscriptions_of("o-her", history, accepted)

    assert named == [
        ("first_visit_followup", 1),
        ("feedback_request", 1),
        None,
    ]  # one sent twice: unexplained
    assert accepted == Counter({"o-her": 0, "o-other": 1})  # hers are taken out; the rest stay unexplained
    assert _subscriptions_of("o-nobody", history, accepted) == []
