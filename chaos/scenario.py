"""The soak's bookings and the order of what happens to them, on the domain clock.

Each store gets its share of bookings; every stylist takes up to six of them (11:00 and 14:00 store-local
on days 2, 3 and 4 after the soak starts), so the booking system never double-books a stylist (the API
would rightly refuse it). A rescheduled booking moves three days later, to a slot nobody else holds.
Fates are dealt in fixed shares: 10% cancelled, 10% rescheduled (then completed), 10% no-shows, the rest
completed. Every event carries its own `occurred_at`; "stale" events are older than one already applied.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SHARES = {"cancelled": 0.10, "rescheduled": 0.10, "no_show": 0.10}  # the rest: completed
SLOTS = [(day, hour) for day in (2, 3, 4) for hour in (11, 14)]  # per stylist: days after today, local hour
RESCHEDULE_DAYS = 3
CHECK_IN_BEFORE = timedelta(minutes=30)
NO_SHOW_EVENT_AFTER = timedelta(hours=1)  # the booking system reports it after our 30-minute grace
COMPLETE_AFTER = timedelta(hours=3)  # services last at most 150 minutes
CHANGES_AT = timedelta(hours=1)  # cancellations and reschedules, after every booking exists
STALE_CHECKIN_SHARE = 0.2  # of completed bookings: a late, older check-in event after the completion
PHONES = {
    "Asia/Shanghai": "+86139{:08d}",
    "Europe/London": "+447911{:06d}",
    "America/New_York": "+1917555{:04d}",
}


@dataclass(frozen=True)
class Booking:
    id: str
    store: dict[str, Any]  # as local.json lists it: id, timezone, locale, services
    member_id: str
    phone: str
    service: dict[str, Any]
    stylist: dict[str, str]
    start: datetime  # UTC
    fate: str
    new_start: datetime | None = None  # rescheduled bookings only
    wechat_openid: str | None = (
        None  # follows the store's Official Account (issue 15): templates for service notices
    )

    @property
    def slot(self) -> datetime:
        """The slot the booking finally holds."""
        return self.new_start or self.start

    def event(self, kind: str, event_id: str, occurred_at: datetime, start: datetime | None = None) -> dict:
        tz = ZoneInfo(self.store["timezone"])
        return {
            "event_id": event_id,
            "type": f"booking.{kind}",
            "occurred_at": occurred_at.astimezone(tz).isoformat(),
            "booking": {
                "id": self.id,
                "store_id": self.store["id"],
                "start": (start or self.start).astimezone(tz).isoformat(),
                "duration_minutes": self.service["minutes"],
                "service": {k: self.service[k] for k in ("code", "name", "category")},
                "stylist": self.stylist,
                "member": {
                    "id": self.member_id,
                    "name": f"Soak {self.member_id}",
                    "phone": self.phone,
                    "email": None,
                    "locale": self.store["locale"],
                    "wechat_openid": self.wechat_openid,
                },
                "notes": "",
            },
        }


@dataclass(frozen=True)
class Delivery:
    """One webhook the booking system sends (and, like every webhook here, sends twice)."""

    booking_id: str
    body: dict
    stale: bool = False  # older than an event already applied: must be ignored


@dataclass
class Stop:
    """A moment on the domain clock: move there, let the workers catch up, then deliver these."""

    at: datetime
    deliveries: list[Delivery] = field(default_factory=list)


def build_bookings(n: int, stores: list[dict[str, Any]], t0: datetime, seed: int = 7) -> list[Booking]:
    rng = random.Random(seed)  # a reproducible scenario, not security
    fates = [fate for fate, share in SHARES.items() for _ in range(round(n * share))]
    fates += ["completed"] * (n - len(fates))
    rng.shuffle(fates)
    bookings = []
    for i, fate in enumerate(fates):
        store = stores[i % len(stores)]
        j = i // len(stores)  # index within the store
        tz = ZoneInfo(store["timezone"])
        day, hour = SLOTS[j % len(SLOTS)]
        today = t0.astimezone(tz).date()

        def at(days: int, hour: int = hour, tz: ZoneInfo = tz, today: Any = today) -> datetime:
            return datetime.combine(today + timedelta(days=days), time(hour), tz).astimezone(UTC)

        stylist_no = j // len(SLOTS)
        bookings.append(
            Booking(
                id=f"soak-{store['id']}-{j:05d}",
                store=store,
                member_id=f"soak-m-{store['id']}-{j:05d}",
                phone=PHONES[store["timezone"]].format(j),
                service=rng.choice(store["services"]),
                stylist={"id": f"{store['id']}-soak-{stylist_no}", "name": f"Stylist {stylist_no}"},
                start=at(day),
                fate=fate,
                new_start=at(day + RESCHEDULE_DAYS) if fate == "rescheduled" else None,
                # issue 15: every other member of the first store (the one the fake WeChat reports to) follows it
                wechat_openid=f"o-soak-{store['id']}-{j:05d}"
                if i % len(stores) == 0 and j % 2 == 0
                else None,
            )
        )
    return bookings


def plan_stops(bookings: list[Booking], t0: datetime, seed: int = 7) -> list[Stop]:
    """Every webhook of the soak, grouped by the domain moment it is delivered at, in time order."""
    rng = random.Random(seed + 1)
    stops: dict[datetime, Stop] = {}

    def stop(at: datetime) -> Stop:
        return stops.setdefault(at, Stop(at))

    changes = t0 + CHANGES_AT
    later: list[tuple[datetime, Booking, str]] = []  # (not before, booking, what): at the next stop after
    for b in bookings:
        stop(t0).deliveries.append(Delivery(b.id, b.event("created", f"{b.id}-created", t0)))
        if b.fate == "cancelled":
            stop(changes).deliveries += [
                Delivery(b.id, b.event("cancelled", f"{b.id}-cancelled", changes)),
                # Arrives after the cancellation but happened before it: must not revive the booking.
                Delivery(
                    b.id,
                    b.event(
                        "rescheduled",
                        f"{b.id}-moved-early",
                        changes - timedelta(minutes=30),
                        start=b.start + timedelta(days=1),
                    ),
                    stale=True,
                ),
            ]
            continue
        if b.fate == "rescheduled":
            stop(changes).deliveries += [
                Delivery(b.id, b.event("rescheduled", f"{b.id}-rescheduled", changes, start=b.new_start)),
                # A re-sent creation (new event id) that happened before the move: must not move it back.
                Delivery(
                    b.id, b.event("created", f"{b.id}-created-again", t0 + timedelta(minutes=10)), stale=True
                ),
            ]
        # A stop before every slot, no-shows' too: the 2-hour reminder goes before the no-show nudge is due,
        # as it does when time passes by itself (a jump past both would fire them together, in any order).
        check_in = b.slot - CHECK_IN_BEFORE
        stop(check_in)
        if b.fate == "no_show":
            later.append((b.slot + NO_SHOW_EVENT_AFTER, b, "no_show"))
            continue
        stop(check_in).deliveries.append(
            Delivery(b.id, b.event("checked_in", f"{b.id}-checked-in", check_in, start=b.slot))
        )
        later.append((b.slot + COMPLETE_AFTER, b, "completed"))

    times = sorted(stops)
    final = max((not_before for not_before, _, _ in later), default=times[-1])
    for not_before, b, what in sorted(later, key=lambda item: (item[0], item[1].id)):
        index = bisect.bisect_left(times, not_before)
        at = times[index] if index < len(times) else final
        deliveries = stop(at).deliveries
        deliveries.append(Delivery(b.id, b.event(what, f"{b.id}-{what}", at, start=b.slot)))
        if what == "completed" and rng.random() < STALE_CHECKIN_SHARE:
            deliveries.append(
                Delivery(
                    b.id,
                    b.event(
                        "checked_in",
                        f"{b.id}-checked-in-late",
                        b.slot - CHECK_IN_BEFORE - timedelta(minutes=1),
                        start=b.slot,
                    ),
                    stale=True,
                )
            )
    return [stops[at] for at in sorted(stops)]
