"""Open starts (catalog/availability.py): the grid, lead time, hours, buffers, held buckets, days across two UTC
days, and days the clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.catalog import availability as rules
from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.dal.bookings import slot_buckets
from tests.support.catalog import catalog_store

SH = ZoneInfo("Asia/Shanghai")
LDN = ZoneInfo("Europe/London")
TUE = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SH)


def _catalog(**overrides) -> StoreCatalog:
    return StoreCatalog.of(catalog_store(**overrides))


def _starts(catalog, service="cut", stylist="any", first=TUE, days=1, now=NOW, calendars=None) -> list[str]:
    svc = catalog.service(service)
    stylists = rules.stylists_for(catalog, svc, stylist)
    slots = rules.open_starts(catalog, svc, stylists, first, days, now, calendars or {})
    return [f"{s.start.isoformat()} {s.stylist_id}" for s in slots]


def _times(catalog, **kwargs) -> list[str]:
    return [line.split(" ")[0][11:16] for line in _starts(catalog, **kwargs)]


def _held(stylist: str, start: datetime, minutes: int) -> dict:
    """Calendars as the repository reads them: a booking holding [start, start + minutes)."""
    calendars: dict = {}
    for key, buckets in slot_buckets(stylist, start, minutes).items():
        _, day = key.split("|")
        calendars.setdefault(stylist, {}).setdefault(day, []).extend(buckets)
    return calendars


def _one_stylist(hours=(("10:00", "12:00"),), **kwargs) -> StoreCatalog:
    return _catalog(
        stylists=[{"id": "s1", "name": "小王", "services": ["cut"]}],
        opening_hours={
            d: [list(h) for h in hours] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        **kwargs,
    )


def test_starts_lie_on_the_quarter_hour_and_the_service_with_its_buffer_ends_by_closing():
    catalog = _one_stylist()  # cut: 45 minutes + 15 buffer = 60 blocked

    assert _times(catalog, stylist="s1") == ["10:00", "10:15", "10:30", "10:45", "11:00"]
    assert _starts(catalog, stylist="s1")[0] == "2026-11-24T10:00:00+08:00 s1"


def test_the_buffer_counts_against_closing_time():
    catalog = _one_stylist(services=[{"code": "cut", "name": "剪发", "minutes": 45, "buffer_minutes": 30}])

    assert _times(catalog, stylist="s1")[-1] == "10:45"  # 10:45 + 45 + 30 = 12:00


def test_nothing_in_the_past_or_inside_the_lead_time():
    catalog = _one_stylist(hours=(("10:00", "13:00"),), lead_minutes=60)
    now = datetime(2026, 11, 24, 10, 5, tzinfo=SH)

    assert _times(catalog, stylist="s1", now=now) == ["11:15", "11:30", "11:45", "12:00"]  # 11:05 rounds up
    assert _times(catalog, stylist="s1", first=date(2026, 11, 23), now=now) == []  # yesterday
    assert _times(catalog, stylist="s1", now=datetime(2026, 11, 24, 10, 0, tzinfo=SH))[0] == "11:00"


def test_a_held_bucket_blocks_every_start_whose_span_covers_it():
    catalog = _one_stylist()
    calendars = _held("s1", datetime(2026, 11, 24, 10, 30, tzinfo=SH), 5)

    assert _times(catalog, stylist="s1", calendars=calendars) == ["10:45", "11:00"]


def test_a_start_may_begin_exactly_when_a_booking_ends_and_end_exactly_when_one_begins():
    catalog = _one_stylist(hours=(("10:00", "14:00"),))
    calendars = _held("s1", datetime(2026, 11, 24, 12, 0, tzinfo=SH), 60)  # 12:00-13:00 taken

    times = _times(catalog, stylist="s1", calendars=calendars)

    assert "11:00" in times and "11:15" not in times and "12:45" not in times and "13:00" in times


def test_another_stylists_bookings_do_not_block_her():
    catalog = _catalog()
    calendars = _held("sh-amy", datetime(2026, 11, 24, 10, 0, tzinfo=SH), 660)

    got = _starts(catalog, stylist="any", calendars=calendars)

    assert not any(line.endswith("sh-amy") for line in got)
    assert "2026-11-24T12:00:00+08:00 sh-xiaowang" in got


def test_the_stylists_hours_inside_the_stores_closed_dates_and_days_off():
    catalog = _catalog(closed_dates=["2026-11-25"])

    by_stylist = {}
    for line in _starts(catalog, stylist="any"):
        start, stylist = line.split(" ")
        by_stylist.setdefault(stylist, []).append(start[11:16])
    # xiaowang works 12:00-19:00 on Tuesdays (store 10:00-21:00); lina has 2026-11-24 off; amy works store hours
    assert by_stylist["sh-xiaowang"][0] == "12:00" and by_stylist["sh-xiaowang"][-1] == "18:00"
    assert "sh-lina" not in by_stylist
    assert by_stylist["sh-amy"][0] == "10:00" and by_stylist["sh-amy"][-1] == "20:00"
    assert _starts(catalog, stylist="any", first=date(2026, 11, 25)) == []  # closed


def test_a_stylist_who_does_not_do_the_service_has_no_starts_for_it():
    catalog = _catalog()

    assert _starts(catalog, service="colour", stylist="sh-amy") == []
    assert {line.split(" ")[1] for line in _starts(catalog, service="colour")} == {"sh-xiaowang"}


def test_starts_are_ordered_by_time_then_by_the_stylists_catalogue_order():
    got = _starts(_catalog(), stylist="any")

    assert got == sorted(
        got, key=lambda line: (line.split(" ")[0], ["sh-xiaowang", "sh-amy"].index(line[26:]))
    )


def test_a_store_local_day_spans_two_utc_days_and_both_calendars_are_read():
    # 07:00-12:00 in Shanghai is 23:00 (the day before) to 04:00 UTC
    catalog = _one_stylist(hours=(("07:00", "12:00"),))
    keys = rules.calendar_days(catalog, catalog.stylists, TUE, 1)
    calendars = _held(
        "s1", datetime(2026, 11, 23, 23, 30, tzinfo=UTC), 5
    )  # 07:30 local, on the 23rd's calendar

    assert keys == [("s1", "2026-11-23"), ("s1", "2026-11-24")]
    times = _times(catalog, stylist="s1", calendars=calendars)
    assert times[:2] == ["07:45", "08:00"] and "07:00" not in times and "07:30" not in times


def test_spring_forward_in_london_starts_carry_the_new_offset_and_the_skipped_hour_has_none():
    # 2027-03-28: at 01:00 GMT the clocks go to 02:00 BST
    day = date(2027, 3, 28)
    catalog = _one_stylist(timezone="Europe/London", hours=(("00:00", "04:00"),))
    now = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)

    got = [line.split(" ")[0] for line in _starts(catalog, stylist="s1", first=day, now=now)]

    # 00:00 GMT to 04:00 BST is three real hours: the last 60-minute start is 03:00 BST
    assert got[0] == "2027-03-28T00:00:00+00:00" and got[-1] == "2027-03-28T03:00:00+01:00"
    assert "2027-03-28T00:45:00+00:00" in got and "2027-03-28T02:00:00+01:00" in got
    assert not any(start[11:13] == "01" for start in got)  # 01:xx does not exist that night
    assert len(got) == 9


def test_spring_forward_day_daytime_hours_map_to_utc_buckets_an_hour_earlier():
    day = date(2027, 3, 28)
    catalog = _one_stylist(timezone="Europe/London", hours=(("10:00", "12:00"),))
    now = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    calendars = _held("s1", datetime(2027, 3, 28, 9, 0, tzinfo=UTC), 15)  # 10:00-10:15 BST

    got = [
        line.split(" ")[0] for line in _starts(catalog, stylist="s1", first=day, now=now, calendars=calendars)
    ]

    assert got == [
        "2027-03-28T10:15:00+01:00",
        "2027-03-28T10:30:00+01:00",
        "2027-03-28T10:45:00+01:00",
        "2027-03-28T11:00:00+01:00",
    ]


def test_fall_back_in_london_the_repeated_hour_is_offered_twice():
    day = date(2026, 10, 25)  # at 02:00 BST the clocks go back to 01:00 GMT
    catalog = _one_stylist(timezone="Europe/London", hours=(("00:00", "03:00"),))
    now = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)

    got = [line.split(" ")[0] for line in _starts(catalog, stylist="s1", first=day, now=now)]

    assert "2026-10-25T01:00:00+01:00" in got and "2026-10-25T01:00:00+00:00" in got
    assert got[-1] == "2026-10-25T02:00:00+00:00" and len(got) == 13  # four real hours, less the last one


def test_buckets_match_the_calendar_claim():
    for start in (
        datetime(2026, 11, 24, 23, 45, tzinfo=UTC),
        datetime(2027, 3, 28, 0, 30, tzinfo=LDN),
        datetime(2026, 11, 24, 10, 7, tzinfo=SH),
    ):
        claim = slot_buckets("s1", start, 95)
        mine = rules.buckets_of(start, 95)
        assert [(k.split("|")[1], h) for k, hs in claim.items() for h in hs] == mine


def test_fits_hours_and_the_grid():
    catalog = _catalog()
    cut = catalog.service("cut")
    xiaowang = catalog.stylist("sh-xiaowang")

    assert rules.fits_hours(catalog, cut, xiaowang, datetime(2026, 11, 24, 18, 0, tzinfo=SH))
    assert not rules.fits_hours(catalog, cut, xiaowang, datetime(2026, 11, 24, 18, 15, tzinfo=SH))
    assert not rules.fits_hours(catalog, cut, xiaowang, datetime(2026, 11, 24, 11, 0, tzinfo=SH))
    assert rules.fits_store_hours(catalog, cut, datetime(2026, 11, 24, 11, 0, tzinfo=SH))
    assert not rules.fits_store_hours(catalog, cut, datetime(2026, 11, 24, 20, 30, tzinfo=SH))
    assert rules.on_grid(datetime(2026, 11, 24, 11, 45, tzinfo=SH))
    assert not rules.on_grid(datetime(2026, 11, 24, 11, 50, tzinfo=SH))
    assert not rules.on_grid(datetime(2026, 11, 24, 11, 45, 30, tzinfo=SH))


@pytest.mark.parametrize("one_per_start", [False, True])
def test_the_nearest_open_slots_in_time_order(one_per_start):
    base = datetime(2026, 11, 24, 12, 0, tzinfo=SH)
    slots = [
        rules.Slot(base + timedelta(minutes=m), s, s)
        for m, s in ((-60, "a"), (-15, "a"), (-15, "b"), (30, "a"), (45, "b"), (120, "a"))
    ]

    got = [
        (int((s.start - base).total_seconds() // 60), s.stylist_id)
        for s in rules.nearest(slots, base, 3, one_per_start=one_per_start)
    ]

    assert got == (
        [(-15, "a"), (30, "a"), (45, "b")] if one_per_start else [(-15, "a"), (-15, "b"), (30, "a")]
    )
