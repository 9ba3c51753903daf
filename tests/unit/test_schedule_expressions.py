"""The local stack's reading of EventBridge Scheduler expressions (cron, rate, at), time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack.schedule_expressions import at_time, is_recurring, next_occurrence, parse_cron, parse_rate

LONDON = "Europe/London"
SHANGHAI = "Asia/Shanghai"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def occurrences(expression: str, tz: str, after: str, count: int, **kw) -> list[str]:
    found, moment = [], utc(after)
    for _ in range(count):
        moment = next_occurrence(expression, tz, moment, **kw)
        if moment is None:
            break
        found.append(moment.astimezone(ZoneInfo(tz)).isoformat())
    return found


def test_daily_at_ten_in_the_stores_zone():
    assert occurrences("cron(0 10 * * ? *)", SHANGHAI, "2026-11-22T09:59:00+08:00", 2) == [
        "2026-11-22T10:00:00+08:00",
        "2026-11-23T10:00:00+08:00",
    ]
    # Strictly after: a fire at exactly 10:00 is not found again.
    assert occurrences("cron(0 10 * * ? *)", SHANGHAI, "2026-11-22T10:00:00+08:00", 1) == [
        "2026-11-23T10:00:00+08:00"
    ]


def test_london_ten_oclock_follows_summer_time():
    # 10:00 London is 09:00 UTC in summer and 10:00 UTC in winter; clocks go back on 25 October 2026.
    got = [utc(t) for t in occurrences("cron(0 10 * * ? *)", LONDON, "2026-10-24T00:00:00+00:00", 2)]
    assert [t.isoformat() for t in got] == ["2026-10-24T09:00:00+00:00", "2026-10-25T10:00:00+00:00"]


def test_spring_forward_skips_the_missing_wall_time():
    # 29 March 2026: London clocks jump from 01:00 to 02:00, so 01:30 does not exist that day.
    assert occurrences("cron(30 1 * * ? *)", LONDON, "2026-03-28T12:00:00+00:00", 2) == [
        "2026-03-30T01:30:00+01:00",
        "2026-03-31T01:30:00+01:00",
    ]


def test_fall_back_fires_a_repeated_wall_time_once():
    # 25 October 2026: 01:00-01:59 London happens twice (BST, then GMT); 01:30 fires at the first one only.
    got = occurrences("cron(30 1 * * ? *)", LONDON, "2026-10-24T12:00:00+00:00", 2)
    assert got == ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"]
    # Every 30 minutes across the repeated hour: each wall time once.
    walls = occurrences("cron(0/30 0-2 25 10 ? 2026)", LONDON, "2026-10-24T23:00:00+01:00", 10)
    assert [w[11:16] for w in walls] == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]


def test_lists_ranges_steps_names_and_the_year_field():
    assert occurrences("cron(15,45 9-10 ? * MON-FRI 2026)", SHANGHAI, "2026-11-20T10:50:00+08:00", 3) == [
        "2026-11-23T09:15:00+08:00",
        "2026-11-23T09:45:00+08:00",
        "2026-11-23T10:15:00+08:00",
    ]
    assert occurrences("cron(0 8 ? * 1 *)", SHANGHAI, "2026-11-22T09:00:00+08:00", 1) == [
        "2026-11-29T08:00:00+08:00"
    ]  # 1 = Sunday
    assert occurrences("cron(*/20 12 1 JAN,jul ? *)", "UTC", "2026-11-22T00:00:00+00:00", 4) == [
        "2027-01-01T12:00:00+00:00",
        "2027-01-01T12:20:00+00:00",
        "2027-01-01T12:40:00+00:00",
        "2027-07-01T12:00:00+00:00",
    ]
    assert occurrences("cron(0 0 29 2 ? 2029-2031)", "UTC", "2026-01-01T00:00:00+00:00", 1) == []
    assert occurrences("cron(0 0 29 2 ? *)", "UTC", "2026-01-01T00:00:00+00:00", 1) == [
        "2028-02-29T00:00:00+00:00"
    ]


def test_start_and_end_dates_bound_a_cron():
    kw = {"start": utc("2026-12-01T00:00:00+08:00"), "end": utc("2026-12-02T23:00:00+08:00")}
    assert occurrences("cron(0 10 * * ? *)", SHANGHAI, "2026-11-22T00:00:00+08:00", 5, **kw) == [
        "2026-12-01T10:00:00+08:00",
        "2026-12-02T10:00:00+08:00",
    ]


def test_rate_counts_from_the_start_in_real_time():
    start = utc("2026-03-28T10:00:00+00:00")
    got = occurrences("rate(1 day)", LONDON, "2026-03-28T10:00:00+00:00", 2, start=start)
    # A day is 24 hours: across the spring change the wall time moves from 10:00 GMT to 11:00 BST.
    assert got == ["2026-03-29T11:00:00+01:00", "2026-03-30T11:00:00+01:00"]
    assert next_occurrence("rate(15 minutes)", None, start, start=start) == start + timedelta(minutes=15)
    assert next_occurrence("rate(15 minutes)", None, start - timedelta(days=1), start=start) == start
    assert parse_rate("rate(2 hours)") == timedelta(hours=2)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 10 * *)", "6 fields"),
        ("cron(60 10 * * ? *)", "minutes: 60 is outside 0-59"),
        ("cron(0 10 L * ? *)", "'L' and 'W' are not supported"),
        ("cron(0 10 15W * ? *)", "'L' and 'W' are not supported"),
        ("cron(0 10 ? * 6#3 *)", "'#' (nth weekday) is not supported"),
        ("cron(0 ? * * ? *)", "'?' is only allowed"),
        ("cron(0 10 5-1 * ? *)", "runs backwards"),
        ("cron(0/0 10 * * ? *)", "bad step"),
        ("cron(0 10 * FOO ? *)", "not a number or a name"),
        ("rate(1 days)", "say '1 day'"),
        ("rate(5 minute)", "say '1 minute' or '5 minutes'"),
    ],
)
def test_what_aws_refuses_or_we_do_not_do_is_refused_clearly(expression, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        if expression.startswith("rate"):
            parse_rate(expression)
        else:
            parse_cron(expression)


def test_at_and_recurring_are_told_apart():
    assert at_time("at(2026-11-25T10:00:00)", SHANGHAI) == utc("2026-11-25T02:00:00+00:00")
    assert at_time("cron(0 10 * * ? *)") is None
    assert is_recurring("cron(0 10 * * ? *)") and is_recurring("rate(5 minutes)")
    assert not is_recurring("at(2026-11-25T10:00:00)")
