"""The catalogue's writes: the store item's settings and one service or stylist entry inside its `catalog`.

The stored shapes are chalicelib/catalog/store_catalog.py's (its docstring); this module is the only writer.
Every write is an UpdateItem (a new store: a PutItem) conditional on the `catalog_version` it read, which it
bumps by one: two writers of the same store never lose each other's entry -- the loser re-reads and re-applies
its change (up to MAX_ATTEMPTS times, then ConcurrentUpdate: 503, safe to retry). A write that would change
nothing is not made, so the same PUT twice leaves the item, and its version, as they were.

`guard(item)` is the caller's check of the store it is about to change (who may, whether it exists, whether a
stylist's services are the store's), run on every fresh consistent read, so a decision never rests on a stale
copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.contracts.catalog import ServiceBody, StoreBody, StylistBody, week_json
from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import StoreItem
from chalicelib.errors import ConcurrentUpdate

# Each lost race means another writer committed in between, and each writer commits once: with up to
# MAX_ATTEMPTS writers of one store at the same time, every one of them gets through.
MAX_ATTEMPTS = 10
SIBLING_LIMIT = 10  # a chain's stores read to find its channel defaults (services/catalogue.py)
Guard = Callable[[StoreItem | None], None]


@dataclass(frozen=True)
class Written:
    store: StoreItem  # the store as stored after the write (or as read, when nothing changed)
    created: bool  # the store (put_store) or the entry (put_service, put_stylist) is new
    changed: bool


class CatalogueRepository:
    def store(self, store_id: str) -> StoreItem | None:
        """One consistent GetItem `STORE#<store>` / `STORE`."""
        try:
            return StoreItem.get(*StoreItem.key(store_id), consistent_read=True)
        except StoreItem.DoesNotExist:
            return None

    def chain_store_ids(self, chain_id: str, limit: int = SIBLING_LIMIT) -> list[str]:
        """The first store ids of a chain in this region: one Query of gsi1 `CHAINSTORES#<chain>`."""
        query = StoreItem.by_chain.query(StoreItem.chain_key(chain_id), limit=limit)
        return [store.store_id for store in query][:limit]

    # --- the store -----------------------------------------------------------------------------------------
    def put_store(self, chain_id: str, store_id: str, body: StoreBody, guard: Guard) -> Written:
        wanted = store_values(body)
        for _ in range(MAX_ATTEMPTS):
            item = self.store(store_id)
            guard(item)
            if item is None:
                new = StoreItem(
                    *StoreItem.key(store_id),
                    store_id=store_id,
                    chain_id=chain_id,
                    catalog={"services": [], "stylists": []},
                    catalog_version=1,
                    gsi1pk=StoreItem.chain_key(chain_id),
                    gsi1sk=store_id,
                    **wanted,
                )
                try:
                    new.save(condition=StoreItem.pk.does_not_exist())
                except Exception as exc:
                    if not is_conditional_failure(exc):
                        raise
                    continue  # created meanwhile: decide again on what is there now
                return Written(new, created=True, changed=True)
            changes = {name: value for name, value in wanted.items() if _stored(item, name) != value}
            catalog = item.catalog or {}
            if "locale" in changes:  # each service's `name` is the name in the store's locale
                catalog = {
                    **catalog,
                    "services": [_renamed(s, wanted["locale"]) for s in catalog.get("services") or []],
                }
            if item.gsi1pk != StoreItem.chain_key(item.chain_id):  # a store written before the chain index
                changes |= {"gsi1pk": StoreItem.chain_key(item.chain_id), "gsi1sk": store_id}
            if not changes and catalog == (item.catalog or {}):
                return Written(item, created=False, changed=False)
            if catalog != (item.catalog or {}):
                changes["catalog"] = catalog
            if self._update(item, changes):
                return Written(item, created=False, changed=True)
        raise ConcurrentUpdate(f"store {store_id}: the catalogue kept changing")

    # --- one entry of the catalogue ----------------------------------------------------------------------
    def put_service(self, store_id: str, code: str, body: ServiceBody, guard: Guard) -> Written:
        return self._put_entry(
            store_id, "services", "code", code, lambda item: service_entry(code, body, item), guard
        )

    def put_stylist(self, store_id: str, stylist_id: str, body: StylistBody, guard: Guard) -> Written:
        return self._put_entry(
            store_id, "stylists", "id", stylist_id, lambda _item: stylist_entry(stylist_id, body), guard
        )

    def _put_entry(
        self,
        store_id: str,
        kind: str,
        key: str,
        value: str,
        build: Callable[[StoreItem], dict[str, Any]],
        guard: Guard,
    ) -> Written:
        for _ in range(MAX_ATTEMPTS):
            item = self.store(store_id)
            guard(item)
            if item is None:  # the guard refuses a missing store; this is for the type checker
                raise ConcurrentUpdate(f"store {store_id} is gone")
            catalog = dict(item.catalog or {})
            entries = list(catalog.get(kind) or [])
            entry = build(item)
            at = next((i for i, e in enumerate(entries) if e.get(key) == value), None)
            if at is not None and entries[at] == entry:
                return Written(item, created=False, changed=False)
            if at is None:
                entries.append(entry)
            else:
                entries[at] = entry
            catalog[kind] = entries
            if self._update(item, {"catalog": catalog}):
                return Written(item, created=at is None, changed=True)
        raise ConcurrentUpdate(f"store {store_id}: the catalogue kept changing")

    def _update(self, item: StoreItem, changes: dict[str, Any]) -> bool:
        """SET `changes` and `catalog_version + 1`, on the version read; False when another write came first."""
        version = item.catalog_version
        condition = (
            StoreItem.catalog_version == version
            if version is not None
            else StoreItem.catalog_version.does_not_exist()
        ) & (StoreItem.chain_id == item.chain_id)
        actions = [getattr(StoreItem, name).set(value) for name, value in changes.items()]
        actions.append(StoreItem.catalog_version.set(int(version or 0) + 1))
        try:
            item.update(actions=actions, condition=condition)
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise
            return False
        return True


def store_values(body: StoreBody) -> dict[str, Any]:
    """The store item's attributes a store PUT sets, in their stored form."""
    return {
        "name": body.name,
        "timezone": body.timezone,
        "locale": body.locale,
        "address": body.address,
        "phone": body.phone,
        "booking_mode": body.booking_mode,
        "opening_hours": week_json(body.opening_hours) or {},
        "closed_dates": [d.isoformat() for d in body.closed_dates],
        "lead_minutes": body.lead_minutes,
        "cancel_until_minutes": body.cancel_until_minutes,
    }


def service_entry(code: str, body: ServiceBody, store: StoreItem) -> dict[str, Any]:
    names = body.name.as_dict()
    return {
        "code": code,
        "name": _local_name(names, store.locale),
        "names": names,
        "category": body.category,
        "minutes": body.minutes,
        "buffer_minutes": body.buffer_minutes,
        "price": body.price.model_dump() if body.price else None,
        "active": body.active,
    }


def stylist_entry(stylist_id: str, body: StylistBody) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": stylist_id,
        "name": body.name,
        "services": list(body.services),
        "days_off": [d.isoformat() for d in body.days_off],
        "active": body.active,
    }
    if body.working_hours is not None:  # absent: she works the store's opening hours
        entry["working_hours"] = week_json(body.working_hours)
    return entry


def _local_name(names: dict[str, str], locale: str | None) -> str:
    return names.get(locale or "zh-CN") or names.get("zh-CN") or next(iter(names.values()))


def _renamed(service: dict[str, Any], locale: str) -> dict[str, Any]:
    names = service.get("names")
    return {**service, "name": _local_name(names, locale)} if names else service


def _stored(item: StoreItem, name: str) -> Any:
    value = getattr(item, name)
    if name == "closed_dates":
        return list(value or [])
    if name == "opening_hours":
        return value or {}
    if name in ("lead_minutes", "cancel_until_minutes") and value is not None:
        return int(value)
    return value
