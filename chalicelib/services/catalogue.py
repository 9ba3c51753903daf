"""The catalogue (issue 14): a chain sets up its stores, services and stylists; anyone reads a store's catalogue.

    put_store    PUT /v1/chains/{chain}/stores/{store}       chain_admin (any store of the chain, new ones too);
                                                              store_manager (its own store, update only)
    put_service  PUT /v1/stores/{store}/services/{code}      store_manager of the store, chain_admin
    put_stylist  PUT /v1/stores/{store}/stylists/{stylist}   same
    public       GET /v1/stores/{store}/catalog               no token: active services and stylists only

Each answers `(status, the resource as stored)`: 201 when it was created, 200 otherwise (also when nothing
changed: the same PUT twice is one write). A store is also what it needs to run: every store PUT ensures its
daily care schedule in its time zone (care/schedules.py, as devstack/seed.py does) and its channel defaults
(secrets.py StoreChannelDefaults), both idempotent, so a retry after a failure half-way finishes the work.
Who may: permissions.toml `catalog.write` and `catalog.create_store`, through services/auth.py (404 for a store
the token cannot see, 421 for one served in another region, 403 for a role that may not).
"""

from __future__ import annotations

from typing import Any

from chalicelib.catalog.store_catalog import WEEKDAYS, Hours, Service, StoreCatalog, Stylist
from chalicelib.contracts.catalog import ServiceBody, StoreBody, StylistBody, bad_field
from chalicelib.contracts.validation import parse
from chalicelib.dal.catalogue import CatalogueRepository, Written
from chalicelib.dal.models import StoreItem
from chalicelib.errors import Forbidden, NotFound
from chalicelib.ids import is_id
from chalicelib.services.auth import Staff, lookup_store, require

WRITE = "catalog.write"
CREATE_STORE = "catalog.create_store"


class Catalogue:
    def __init__(self, repo: CatalogueRepository, stores: Any, care_schedules: Any, channels: Any) -> None:
        """`stores`: the StoreDirectory (421s, and the cache a write refreshes); `care_schedules`: CareSchedules;
        `channels`: secrets.StoreChannelDefaults."""
        self._repo = repo
        self._stores = stores
        self._care = care_schedules
        self._channels = channels

    # --- writes --------------------------------------------------------------------------------------------
    def put_store(self, staff: Staff, chain_id: str, store_id: str, body: dict) -> tuple[int, dict]:
        if chain_id != staff.chain_id:
            raise NotFound("no such store")  # as a store of another chain: nothing leaks
        if not is_id(store_id):
            raise bad_field("store_id", "must be 1-128 letters, digits or _.:@-", "the store id is not valid")

        def guard(item: StoreItem | None) -> None:
            if item is None:
                if not staff.may(CREATE_STORE):
                    # a store_manager sees only its own stores: a new id is one it cannot see
                    if staff.can_see_store(chain_id, store_id):
                        raise Forbidden(f"a {staff.role} may not do {CREATE_STORE}", CREATE_STORE)
                    raise NotFound("no such store")
                return
            require(staff, WRITE, item.chain_id if item.chain_id == chain_id else None, store_id)

        # A store served in another region: 421 (or 404), never a copy here. Who may is decided before the body
        # is read, on the directory's copy, and again on the write's own consistent read.
        guard(lookup_store(staff, self._stores, store_id))
        parsed = parse(StoreBody, body, "the store is not valid")
        written = self._repo.put_store(chain_id, store_id, parsed, guard)
        store = written.store
        self._stores.remember(store)
        self._care.ensure(store.chain_id, store.store_id, store.timezone)
        self._channels.provision(store.store_id, self._repo.chain_store_ids(store.chain_id))
        return (201 if written.created else 200), store_view(StoreCatalog.of(store), store)

    def put_service(self, staff: Staff, store_id: str, code: str, body: dict) -> tuple[int, dict]:
        self._visible(staff, store_id)
        if not is_id(code):
            raise bad_field("code", "must be 1-128 letters, digits or _.:@-", "the service code is not valid")
        parsed = parse(ServiceBody, body, "the service is not valid")
        written = self._repo.put_service(store_id, code, parsed, self._guard(staff, store_id))
        catalog = self._written(written)
        entry = next(s for s in catalog.services if s.code == code)
        return (201 if written.created else 200), service_view(entry) | _version(written)

    def put_stylist(self, staff: Staff, store_id: str, stylist_id: str, body: dict) -> tuple[int, dict]:
        self._visible(staff, store_id)
        if not is_id(stylist_id):
            raise bad_field(
                "stylist_id", "must be 1-128 letters, digits or _.:@-", "the stylist id is not valid"
            )
        parsed = parse(StylistBody, body, "the stylist is not valid")
        staff_guard = self._guard(staff, store_id)

        def guard(item: StoreItem | None) -> None:
            staff_guard(item)
            codes = {s.code for s in StoreCatalog.of(item).services} if item is not None else set()
            unknown = [code for code in parsed.services if code not in codes]
            if unknown:
                raise bad_field(
                    "services",
                    f"not services of store {store_id}: {', '.join(unknown)}",
                    "the stylist is not valid",
                )

        written = self._repo.put_stylist(store_id, stylist_id, parsed, guard)
        catalog = self._written(written)
        entry = next(s for s in catalog.stylists if s.id == stylist_id)
        return (201 if written.created else 200), stylist_view(entry) | _version(written)

    # --- the public read -----------------------------------------------------------------------------------
    def public(self, store_id: str) -> dict:
        """The store's catalogue for members (no token): what is offered now, by whom, when the store is open."""
        store = self._stores.get(store_id) if is_id(store_id) else None  # another region's: 421
        if store is None:
            raise NotFound("no such store")
        catalog = StoreCatalog.of(store)
        offered = [s for s in catalog.services if s.active]
        codes = [s.code for s in offered]
        return {
            "store": {
                "id": catalog.store_id,
                "name": catalog.name,
                "timezone": catalog.timezone,
                "address": catalog.address,
                "opening_hours": hours_json(catalog.opening_hours),
                "booking_mode": catalog.booking_mode,
                "phone": catalog.phone,
            },
            "services": [
                {
                    "code": s.code,
                    "name": names_of(s),
                    "category": s.category,
                    "minutes": s.minutes,
                    "price": s.price,
                }
                for s in offered
            ],
            "stylists": [
                {"id": s.id, "name": s.name, "services": [c for c in codes if s.does(c)]}
                for s in catalog.stylists
                if s.active
            ],
        }

    # --- helpers -------------------------------------------------------------------------------------------
    def _visible(self, staff: Staff, store_id: str) -> None:
        """404 / 421 / 403 before the body is read (services/auth.py); the write re-checks on its own read."""
        store = lookup_store(staff, self._stores, store_id) if is_id(store_id) else None
        require(staff, WRITE, store.chain_id if store else None, store_id)

    @staticmethod
    def _guard(staff: Staff, store_id: str):
        def guard(item: StoreItem | None) -> None:
            require(staff, WRITE, item.chain_id if item is not None else None, store_id)

        return guard

    def _written(self, written: Written) -> StoreCatalog:
        self._stores.remember(written.store)
        return StoreCatalog.of(written.store)


def _version(written: Written) -> dict[str, int]:
    return {"catalog_version": int(written.store.catalog_version or 0)}


def hours_json(week: dict[str, Hours]) -> dict[str, list[list[str]]]:
    return {
        day: [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in week[day]]
        for day in WEEKDAYS
        if day in week
    }


def names_of(service: Service) -> dict[str, str]:
    """Every locale's name; an entry written before self-booking has one name, shown for both."""
    return {locale: service.names.get(locale) or service.name for locale in ("zh-CN", "en")}


def store_view(catalog: StoreCatalog, store: StoreItem) -> dict[str, Any]:
    return {
        "id": catalog.store_id,
        "chain_id": catalog.chain_id,
        "name": catalog.name,
        "timezone": catalog.timezone,
        "locale": catalog.locale,
        "address": catalog.address,
        "phone": catalog.phone,
        "booking_mode": catalog.booking_mode,
        "opening_hours": hours_json(catalog.opening_hours),
        "closed_dates": sorted(catalog.closed_dates),
        "lead_minutes": catalog.lead_minutes,
        "cancel_until_minutes": catalog.cancel_until_minutes,
        "catalog_version": int(store.catalog_version or 0),
    }


def service_view(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": names_of(service),
        "category": service.category,
        "minutes": service.minutes,
        "buffer_minutes": service.buffer_minutes,
        "price": service.price,
        "active": service.active,
    }


def stylist_view(stylist: Stylist) -> dict[str, Any]:
    return {
        "id": stylist.id,
        "name": stylist.name,
        "services": list(stylist.services) if stylist.services is not None else None,
        "working_hours": hours_json(stylist.working_hours) if stylist.working_hours is not None else None,
        "days_off": sorted(stylist.days_off),
        "active": stylist.active,
    }
