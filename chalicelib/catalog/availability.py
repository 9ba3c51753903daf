"""When a member can book: the open starts of a service, per stylist, from the catalogue and the calendars.

Pure: no AWS, no clock of its own. The service (services/availability.py) reads the stylists' day calendars
and hands them in as `Calendars`; `calendar_days` says which (stylist, UTC day) calendars a request needs.

A start is open for a stylist when
- it lies on the 15-minute grid of the store's local time (every real zone's offset is a multiple of 15
  minutes, so that is the UTC quarter-hour grid too);
- it is after `now` plus the store's `lead_minutes`;
- the service and its buffer (`Service.blocked_minutes`) fit inside one interval of the stylist's working hours
  that day, which are inside the store's opening hours (`StoreCatalog.working_hours`: closed dates and days off
  give none); hours are store-local wall times, turned into instants with the zone's rules, so a day the clocks
  change has its real length (a wall time the clocks skip resolves forward);
- none of the 5-minute calendar buckets (UTC) the blocked span covers is held (dal/bookings.py `slot_buckets`:
  the start rounds down, the end rounds up).

Every held bucket counts as busy, whoever holds it. A completed visit leaves its buckets on the calendar
(booking_events.py: no write to free them); a claim may take them over (dal/bookings.py `_take_over_stale`),
but telling them apart would cost a read of each holder. They lie in the past (a visit is completed after it
started, and a start inside `lead_minutes` is never offered), so treating them as busy hides nothing a member
could book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.catalog.store_catalog import Service, StoreCatalog, Stylist

GRID_MINUTES = 15
BUCKET_MINUTES = 5  # the calendar's grid (dal/bookings.py BUCKET_MINUTES)
ANY = "any"

# {stylist_id: {UTC date "YYYY-MM-DD": {"HHMM", ...} held buckets}}
Calendars = Mapping[str, Mapping[str, Iterable[str]]]


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, in the store's zone
    stylist_id: str
    stylist_name: str


def stylists_for(catalog: StoreCatalog, service: Service, stylist_id_or_any: str) -> tuple[Stylist, ...]:
    """Who may be booked: every active stylist who does the service ("any"), or the one named if she does it."""
    if stylist_id_or_any == ANY:
        return catalog.stylists_for(service.code)
    stylist = catalog.stylist(stylist_id_or_any)
    return (stylist,) if stylist is not None and stylist.does(service.code) else ()


def local_days(first_day: date, days: int) -> list[date]:
    return [first_day + timedelta(days=i) for i in range(days)]


def calendar_days(
    catalog: StoreCatalog, stylists: Iterable[Stylist], first_day: date, days: int
) -> list[tuple[str, str]]:
    """The (stylist id, UTC date) calendars that hold the stylists' working hours on the store-local days."""
    keys: list[tuple[str, str]] = []
    for stylist in stylists:
        dates: set[str] = set()
        for day in local_days(first_day, days):
            for opens, closes in _intervals(catalog, stylist, day):
                cursor = opens
                while cursor < closes:
                    dates.add(cursor.date().isoformat())
                    cursor = datetime.combine(cursor.date() + timedelta(days=1), time(), UTC)
        keys += [(stylist.id, d) for d in sorted(dates)]
    return keys


def open_starts(
    catalog: StoreCatalog,
    service: Service,
    stylists: Iterable[Stylist],
    first_day: date,
    days: int,
    now: datetime,
    calendars: Calendars,
) -> list[Slot]:
    """Every open start of `service` with each of `stylists` on the store-local days from `first_day`, by start
    (then by the stylists' order)."""
    tz = ZoneInfo(catalog.timezone)
    earliest = now.astimezone(UTC) + timedelta(minutes=max(catalog.lead_minutes, 0))
    blocked = timedelta(minutes=service.blocked_minutes)
    order = {}
    slots: list[Slot] = []
    for rank, stylist in enumerate(stylists):
        order[stylist.id] = rank
        held = {(d, h) for d, buckets in calendars.get(stylist.id, {}).items() for h in buckets}
        for day in local_days(first_day, days):
            for opens, closes in _intervals(catalog, stylist, day):
                start = max(_grid_up(opens), _grid_up(earliest))
                while start + blocked <= closes:
                    if not any(bucket in held for bucket in buckets_of(start, service.blocked_minutes)):
                        slots.append(Slot(start.astimezone(tz), stylist.id, stylist.name))
                    start += timedelta(minutes=GRID_MINUTES)
    slots.sort(key=lambda s: (s.start, order[s.stylist_id]))
    return slots


def fits_hours(catalog: StoreCatalog, service: Service, stylist: Stylist, start: datetime) -> bool:
    """Whether the blocked span from `start` lies inside one interval of the stylist's hours that day."""
    day = start.astimezone(ZoneInfo(catalog.timezone)).date()
    end = start + timedelta(minutes=service.blocked_minutes)
    return any(opens <= start and end <= closes for opens, closes in _intervals(catalog, stylist, day))


def fits_store_hours(catalog: StoreCatalog, service: Service, start: datetime) -> bool:
    """Whether the blocked span from `start` lies inside the store's opening hours that day."""
    tz = ZoneInfo(catalog.timezone)
    day = start.astimezone(tz).date()
    end = start + timedelta(minutes=service.blocked_minutes)
    return any(
        _instant(day, opens, tz) <= start and end <= _instant(day, closes, tz)
        for opens, closes in catalog.open_hours(day)
    )


def local_day(catalog: StoreCatalog, moment: datetime) -> date:
    """The store-local date of an instant."""
    return moment.astimezone(ZoneInfo(catalog.timezone)).date()


def on_grid(start: datetime) -> bool:
    utc = start.astimezone(UTC)
    return utc.minute % GRID_MINUTES == 0 and utc.second == 0 and utc.microsecond == 0


def buckets_of(start: datetime, minutes: int) -> list[tuple[str, str]]:
    """The calendar buckets (UTC date, "HHMM") [start, start + minutes) covers, as dal/bookings.py slot_buckets."""
    start = start.astimezone(UTC)
    cursor = start.replace(minute=start.minute - start.minute % BUCKET_MINUTES, second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    out = []
    while cursor < end:
        out.append((cursor.date().isoformat(), cursor.strftime("%H%M")))
        cursor += timedelta(minutes=BUCKET_MINUTES)
    return out


def nearest(
    slots: Iterable[Slot], wanted: datetime, count: int = 3, *, one_per_start: bool = False
) -> list[Slot]:
    """The `count` open slots closest to `wanted` (earlier first on a tie), in time order; with `one_per_start`
    only the first stylist of each start (an "any" request books one)."""
    seen: set[datetime] = set()
    pool = []
    for slot in slots:
        if one_per_start and slot.start in seen:
            continue
        seen.add(slot.start)
        pool.append(slot)
    pool.sort(key=lambda s: (abs((s.start - wanted).total_seconds()), s.start))
    return sorted(pool[:count], key=lambda s: s.start)


# ---------------------------------------------------------------------------------------------------------
def _intervals(catalog: StoreCatalog, stylist: Stylist, day: date) -> list[tuple[datetime, datetime]]:
    """The stylist's working hours on a store-local day, as UTC instants."""
    tz = ZoneInfo(catalog.timezone)
    return [
        (_instant(day, opens, tz), _instant(day, closes, tz))
        for opens, closes in catalog.working_hours(stylist, day)
    ]


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A store-local wall time as a UTC instant; one the clocks skip resolves forward (fold=0 reads it with the
    offset before the change), one they repeat is its first occurrence."""
    return datetime.combine(day, wall, tz).astimezone(UTC)


def _grid_up(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    floor = moment.replace(minute=moment.minute - moment.minute % GRID_MINUTES, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=GRID_MINUTES)
