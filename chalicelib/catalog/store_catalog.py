"""A store's catalogue as the booking code reads it: what is offered, by whom, and when the store is open.

Stored on the store item (dal/models.py `StoreItem`): `opening_hours`, `closed_dates`, `lead_minutes`,
`cancel_until_minutes`, `booking_mode`, and `catalog` =

    {"services": [{"code", "name", "names": {"zh-CN", "en"}, "category", "minutes", "buffer_minutes",
                   "price": {"amount": "198.00", "currency": "CNY"} | null, "active"}],
     "stylists": [{"id", "name", "services": [codes], "working_hours": {"mon": [["10:00", "19:00"]]},
                   "days_off": ["YYYY-MM-DD"], "active"}]}

`name` is the name in the store's own locale (what older readers and message texts use); `names` has every
locale. Entries written before self-booking lack the newer keys and read with the defaults below: no buffer, no
price, active, a stylist who does every service during the store's opening hours. Hours are store-local
"HH:MM" pairs per weekday (mon..sun); a weekday without hours is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_LEAD_MINUTES = 60
DEFAULT_CANCEL_UNTIL_MINUTES = 120

Hours = tuple[tuple[time, time], ...]  # [from, to) intervals of one day, store-local


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    names: dict[str, str]
    category: str
    minutes: int
    buffer_minutes: int
    price: dict[str, str] | None
    active: bool

    def name_in(self, locale: str | None) -> str:
        """Her locale's name, else the language's (zh-TW -> zh-CN), else the store's."""
        if locale and locale in self.names:
            return self.names[locale]
        lang = (locale or "").split("-")[0]
        for key, value in self.names.items():
            if key.split("-")[0] == lang:
                return value
        return self.name

    @property
    def blocked_minutes(self) -> int:
        """How long the stylist's chair is taken: the service and the clean-up after it."""
        return self.minutes + self.buffer_minutes


@dataclass(frozen=True)
class Stylist:
    id: str
    name: str
    services: tuple[str, ...] | None  # None: every service
    working_hours: dict[str, Hours] | None  # None: the store's opening hours
    days_off: frozenset[str]
    active: bool

    def does(self, service_code: str) -> bool:
        return self.services is None or service_code in self.services


@dataclass(frozen=True)
class StoreCatalog:
    store_id: str
    chain_id: str
    name: str
    timezone: str
    locale: str
    address: str
    phone: str
    booking_mode: str
    opening_hours: dict[str, Hours]
    closed_dates: frozenset[str]
    lead_minutes: int
    cancel_until_minutes: int
    services: tuple[Service, ...]
    stylists: tuple[Stylist, ...]

    @classmethod
    def of(cls, store: Any) -> StoreCatalog:
        """The catalogue of a `StoreItem`."""
        raw = store.catalog or {}
        return cls(
            store_id=store.store_id,
            chain_id=store.chain_id,
            name=store.name,
            timezone=store.timezone,
            locale=store.locale or "zh-CN",
            address=store.address or "",
            phone=store.phone or "",
            booking_mode=store.booking_mode or "external",
            opening_hours=parse_week(store.opening_hours or {}),
            closed_dates=frozenset(store.closed_dates or ()),
            lead_minutes=_int(store.lead_minutes, DEFAULT_LEAD_MINUTES),
            cancel_until_minutes=_int(store.cancel_until_minutes, DEFAULT_CANCEL_UNTIL_MINUTES),
            services=tuple(_service(s) for s in raw.get("services", [])),
            stylists=tuple(_stylist(s) for s in raw.get("stylists", [])),
        )

    @property
    def self_booking(self) -> bool:
        return self.booking_mode == "chairside"

    def service(self, code: str) -> Service | None:
        """An active service by code."""
        return next((s for s in self.services if s.code == code and s.active), None)

    def stylist(self, stylist_id: str) -> Stylist | None:
        """An active stylist by id."""
        return next((s for s in self.stylists if s.id == stylist_id and s.active), None)

    def stylists_for(self, service_code: str) -> tuple[Stylist, ...]:
        """The active stylists who do a service, in catalogue order."""
        return tuple(s for s in self.stylists if s.active and s.does(service_code))

    def open_hours(self, day: date) -> Hours:
        """The store's hours on a store-local day (none on a closed date)."""
        if day.isoformat() in self.closed_dates:
            return ()
        return self.opening_hours.get(WEEKDAYS[day.weekday()], ())

    def working_hours(self, stylist: Stylist, day: date) -> Hours:
        """When a stylist takes bookings on a store-local day: her hours within the store's."""
        store = self.open_hours(day)
        if not store or day.isoformat() in stylist.days_off:
            return ()
        if stylist.working_hours is None:
            return store
        own = stylist.working_hours.get(WEEKDAYS[day.weekday()], ())
        return intersect(own, store)


def parse_week(raw: dict[str, Any]) -> dict[str, Hours]:
    """{"mon": [["10:00", "21:00"]], ...} as times. Stored hours were validated when written."""
    return {
        day: tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw.get(day) or ())
        for day in WEEKDAYS
        if raw.get(day)
    }


def intersect(a: Hours, b: Hours) -> Hours:
    out = []
    for a_from, a_to in a:
        for b_from, b_to in b:
            start, end = max(a_from, b_from), min(a_to, b_to)
            if start < end:
                out.append((start, end))
    return tuple(sorted(out))


def _service(raw: dict[str, Any]) -> Service:
    name = raw.get("name") or raw["code"]
    return Service(
        code=raw["code"],
        name=name,
        names=dict(raw.get("names") or {}),
        category=raw.get("category", "other"),
        minutes=int(raw.get("minutes", 60)),
        buffer_minutes=int(raw.get("buffer_minutes", 0)),
        price=raw.get("price"),
        active=raw.get("active", True),
    )


def _stylist(raw: dict[str, Any]) -> Stylist:
    services = raw.get("services")
    hours = raw.get("working_hours")
    return Stylist(
        id=raw["id"],
        name=raw.get("name", ""),
        services=tuple(services) if services is not None else None,
        working_hours=parse_week(hours) if hours is not None else None,
        days_off=frozenset(raw.get("days_off") or ()),
        active=raw.get("active", True),
    )


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)
