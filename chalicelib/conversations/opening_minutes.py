"""Minutes counted in a store's opening hours (issue 17 part 3: "15 minutes in opening hours"). Pure.

`after(start, minutes, ...)` is the moment `minutes` of opening time have passed since `start`: a hand-off at
20:55 in a store that closes at 21:00 and opens at 10:00 is 15 minutes old at 10:10 the next day. A store with no
opening hours counts every minute. Hours are store-local `{"mon": [["10:00", "21:00"]], ...}`; `closed_dates`
store-local `YYYY-MM-DD`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOK_AHEAD_DAYS = 31  # a store closed longer than this: count plain minutes from then on


def _local(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0), tz)
    hours, minutes = hhmm.split(":")
    return datetime.combine(day, time(int(hours), int(minutes)), tz)


def _intervals(day: date, hours: dict, closed: set[str], tz: ZoneInfo) -> Iterable[tuple[datetime, datetime]]:
    if day.isoformat() in closed:
        return ()
    spans = hours.get(WEEKDAYS[day.weekday()]) or ()
    return sorted(
        (_local(day, span[0], tz).astimezone(UTC), _local(day, span[1], tz).astimezone(UTC)) for span in spans
    )


def after(
    start: datetime,
    minutes: int,
    timezone: str,
    opening_hours: dict | None,
    closed_dates: Iterable[str] = (),
) -> datetime:
    """When `minutes` of opening time have passed since `start` (aware; the answer in UTC)."""
    start = start.astimezone(UTC)
    if not opening_hours:
        return start + timedelta(minutes=minutes)
    tz = ZoneInfo(timezone)
    closed = set(closed_dates)
    left = timedelta(minutes=minutes)
    cursor = start
    day = start.astimezone(tz).date() - timedelta(days=1)  # a span that began the evening before
    for _ in range(LOOK_AHEAD_DAYS + 2):
        for opens, closes in _intervals(day, opening_hours, closed, tz):
            begin = max(opens, cursor)
            if begin >= closes:
                continue
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
            cursor = closes
        day += timedelta(days=1)
    return cursor + left
