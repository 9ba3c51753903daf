"""EventBridge Scheduler schedule expressions, evaluated the way the service evaluates them (for the local stack).

    at(2026-11-25T10:00:00)        once, wall time in the schedule's time zone
    rate(5 minutes)                every 5 minutes (minute|minutes|hour|hours|day|days) from StartDate
    cron(0 10 * * ? *)             minutes hours day-of-month month day-of-week year, in the time zone

Cron fields: minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT
(1 = Sunday), year 1970-2199; each may be `*`, a value, a range `a-b`, a step `a/n`, `*/n` or `a-b/n`, or a
comma list of those. Exactly one of day-of-month and day-of-week is `?` (AWS refuses both or neither).
`L`, `W` and `#` are valid on AWS but not implemented here: they are refused with a clear ValueError rather
than misread.

Daylight saving time, as EventBridge Scheduler documents it: a cron wall time that does not exist (the hour the
clocks skip in spring) is skipped, and a wall time that happens twice (autumn) fires once, at its first
occurrence. A rate counts real elapsed time (a day is 24 hours), so it ignores the zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_AT = re.compile(r"^\s*at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)\s*$")
_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*$")
_CRON = re.compile(r"^\s*cron\((.*)\)\s*$")

_MONTHS = {
    name: i
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_WEEKDAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
LAST_YEAR = 2199


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _WEEKDAYS),
    _Field("year", 1970, LAST_YEAR),
)


def _value(text: str, field: _Field) -> int:
    token = text.strip().upper()
    if field.names and token in field.names:
        return field.names[token]
    if token and re.fullmatch(r"\d*L?W?", token) and not token.isdigit():
        raise ValueError(f"cron {field.name}: 'L' and 'W' are not supported by the local scheduler")
    if not token.isdigit():
        raise ValueError(f"cron {field.name}: {text!r} is not a number{' or a name' if field.names else ''}")
    value = int(token)
    if not field.low <= value <= field.high:
        raise ValueError(f"cron {field.name}: {value} is outside {field.low}-{field.high}")
    return value


def _parse_field(text: str, field: _Field) -> frozenset[int] | None:
    """The values a field allows; None for `?` (no constraint from this field)."""
    if text == "?":
        if field.name not in ("day-of-month", "day-of-week"):
            raise ValueError(f"cron {field.name}: '?' is only allowed in day-of-month or day-of-week")
        return None
    if "#" in text:
        raise ValueError(f"cron {field.name}: '#' (nth weekday) is not supported by the local scheduler")
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"cron {field.name}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"cron {field.name}: bad step in {part!r}")
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, field), _value(last, field)
            if low > high:
                raise ValueError(f"cron {field.name}: range {base!r} runs backwards")
        else:
            low = _value(base, field)
            high = field.high if step_text else low  # "5/15": from 5 to the end of the field, every 15
        values.update(range(low, high + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # day of month; None when "?"
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday; None when "?"
    years: frozenset[int]

    def matches_day(self, day: date) -> bool:
        if self.days is not None:
            return day.day in self.days
        assert self.weekdays is not None
        return day.isoweekday() % 7 + 1 in self.weekdays  # isoweekday: Monday 1 .. Sunday 7

    def next_after(self, after: datetime, timezone: str) -> datetime | None:
        """The first fire time strictly after `after` (aware), as an aware UTC datetime; None if there is none."""
        zone = ZoneInfo(timezone)
        start = after.astimezone(zone)
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        for year in sorted(y for y in self.years if y >= start.year):
            for month in sorted(self.months):
                if (year, month) < (start.year, start.month):
                    continue
                day = date(year, month, 1)
                while day.month == month:
                    if day >= start.date() and self.matches_day(day):
                        found = _first_time_on(day, times, zone, after)
                        if found is not None:
                            return found
                    day += timedelta(days=1)
        return None


def _first_time_on(
    day: date, times: list[tuple[int, int]], zone: ZoneInfo, after: datetime
) -> datetime | None:
    for hour, minute in times:
        wall = datetime(
            day.year, day.month, day.day, hour, minute, tzinfo=zone
        )  # fold=0: the first occurrence
        instant = wall.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
            continue  # the clocks skip this wall time (spring forward): EventBridge Scheduler skips it too
        if instant > after:
            return instant
    return None


def parse_cron(expression: str) -> Cron:
    """`cron(...)` -> Cron; ValueError naming the field for anything AWS would refuse or this does not do."""
    match = _CRON.match(expression or "")
    if not match:
        raise ValueError(f"not a cron expression: {expression!r}")
    parts = match.group(1).split()
    if len(parts) != 6:
        raise ValueError(
            f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}"
        )
    minutes, hours, days, months, weekdays, years = (
        _parse_field(p, f) for p, f in zip(parts, _FIELDS, strict=True)
    )
    if (days is None) == (weekdays is None):
        raise ValueError("cron: exactly one of day-of-month and day-of-week must be '?'")
    assert minutes is not None and hours is not None and months is not None and years is not None
    return Cron(minutes, hours, days, months, weekdays, years)


def parse_rate(expression: str) -> timedelta:
    match = _RATE.match(expression or "")
    if not match:
        raise ValueError(f"not a rate expression: {expression!r}")
    value, unit = int(match.group(1)), match.group(2)
    if value <= 0:
        raise ValueError("rate: the value must be a positive number")
    if (value == 1) != (not unit.endswith("s")):
        raise ValueError(f"rate: say '1 {unit.rstrip('s')}' or '{value} {unit.rstrip('s')}s'")
    return timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")])


def at_time(expression: str, timezone: str | None = None) -> datetime | None:
    """When a one-time `at(...)` expression is due (aware UTC); None if `expression` is not one."""
    match = _AT.match(expression or "")
    if not match:
        return None
    wall = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    return wall.replace(tzinfo=ZoneInfo(timezone or "UTC")).astimezone(UTC)


def is_recurring(expression: str) -> bool:
    return bool(_RATE.match(expression or "") or _CRON.match(expression or ""))


def next_occurrence(
    expression: str,
    timezone: str | None,
    after: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> datetime | None:
    """The first occurrence of a recurring expression strictly after `after` (and not before `start`, not after
    `end`, the schedule's StartDate/EndDate); None when there is none. `start` anchors a rate (required).

    Raises ValueError for an expression AWS would refuse (or that this evaluator does not support) and
    KeyError (ZoneInfoNotFoundError) for an unknown zone.
    """
    if start is not None and after < start:
        after = start - timedelta(microseconds=1)  # an occurrence exactly at StartDate counts
    if _RATE.match(expression or ""):
        if start is None:
            raise ValueError("rate: needs the schedule's start to count from")
        period = parse_rate(expression)
        steps = (after - start) // period + 1
        found: datetime | None = start + steps * period
    else:
        found = parse_cron(expression).next_after(after, timezone or "UTC")
    if found is None or (end is not None and found > end):
        return None
    return found
