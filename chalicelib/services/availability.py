"""Open times of a store's services (`GET /v1/stores/{store}/availability`, and for the booking, chat and waitlist
services): the catalogue (store item) and one BatchGetItem of the stylists' day calendars per 100 (stylist, UTC
day) keys -- never a read per slot, never a Scan. The rules are catalog/availability.py's.

Errors: a store that is not there is 404 (the path); a service or stylist the store does not offer is 400 naming
the query parameter (`service`, `stylist`) -- what the query names is the request's fault, like the body's.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.catalog import availability as rules
from chalicelib.catalog.availability import ANY, Slot
from chalicelib.catalog.store_catalog import Service, StoreCatalog
from chalicelib.clock import Clock
from chalicelib.dal.bookings import BookingRepository
from chalicelib.errors import ManagedElsewhere, NotFound, ValidationFailed
from chalicelib.ids import is_id


class Availability:
    def __init__(self, stores: Any, repo: BookingRepository, clock: Clock) -> None:
        self._stores = stores  # services/stores.py StoreDirectory
        self._repo = repo
        self._clock = clock

    def open_starts(
        self, catalog: StoreCatalog, service_code: str, stylist_id_or_any: str, first_day: date, days: int
    ) -> list[Slot]:
        """Every open start of a service on `days` store-local days from `first_day`, with the named stylist or
        any who does it; one Slot per start and stylist, by start. An unknown service or stylist has none, and so
        has a store whose bookings live in the chain's own booking system (`booking_mode = "external"`)."""
        service = catalog.service(service_code)
        if service is None or not catalog.self_booking:
            return []
        return self.starts_of(
            catalog, service, rules.stylists_for(catalog, service, stylist_id_or_any), first_day, days
        )

    def starts_of(
        self, catalog: StoreCatalog, service: Service, stylists: tuple, first_day: date, days: int
    ) -> list[Slot]:
        keys = rules.calendar_days(catalog, stylists, first_day, days)
        calendars = self._repo.calendars(catalog.chain_id, keys) if keys else {}
        return rules.open_starts(catalog, service, stylists, first_day, days, self._clock.now(), calendars)

    def for_request(self, store_id: str, params: dict[str, str]) -> dict[str, Any]:
        """`GET /v1/stores/{store}/availability?service=&stylist=&from=&days=` (public)."""
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None:
            raise NotFound("no such store")
        catalog = StoreCatalog.of(store)
        # imported here: the waitlist worker, which reads open times too, never loads pydantic
        from chalicelib.contracts.self_booking import AvailabilityQuery
        from chalicelib.contracts.validation import parse

        query = parse(AvailabilityQuery, dict(params), "the query is not valid")
        if not catalog.self_booking:
            raise ManagedElsewhere("this store's bookings are made in the chain's own booking system")
        service = catalog.service(query.service)
        if service is None:
            raise ValidationFailed("unknown service", {"service": "no such service at this store"})
        if query.stylist != ANY:
            stylist = catalog.stylist(query.stylist)
            if stylist is None:
                raise ValidationFailed("unknown stylist", {"stylist": "no such stylist at this store"})
            if not stylist.does(service.code):
                raise ValidationFailed("stylist does not do it", {"stylist": "does not do this service"})
        tz = ZoneInfo(catalog.timezone)
        first_day = query.first_day or self._clock.now().astimezone(tz).date()
        slots = self.open_starts(catalog, service.code, query.stylist, first_day, query.days)
        return {"timezone": catalog.timezone, "slots": [slot_view(s) for s in slots]}


def slot_view(slot: Slot) -> dict[str, Any]:
    return {"start": slot.start.isoformat(), "stylist_id": slot.stylist_id, "stylist_name": slot.stylist_name}
