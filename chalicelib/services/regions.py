"""The store directory: which region serves a store that is not in this one (docs/REGIONS.md).

Each region's main table holds one item per store served ELSEWHERE, written by the operator command
`python -m infra.directory put ...`:

    pk = STOREDIR#<store_id>, sk = REGION: {store_id, chain_id, region, api_url, updated_at}

It is routing data only -- a store id, its chain and a region's public API address; no member's data is ever
written to it or read from another region. `StoreDirectory.get` (services/stores.py) asks it when a
store is not found here, and answers 421 (errors.Misdirected) when the store is served in another region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PREFIX = "STOREDIR#"
SORT_KEY = "REGION"
MAX_STORE_ID = 200  # longer is no store id: not worth a read


def directory_key(store_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{PREFIX}{store_id}"}, "sk": {"S": SORT_KEY}}


@dataclass(frozen=True)
class ServedElsewhere:
    store_id: str
    chain_id: str | None
    region: str
    api_url: str


def directory_item(entry: ServedElsewhere, updated_at: datetime) -> dict[str, dict[str, str]]:
    """The DynamoDB item of an entry (the operator command writes it, `RegionDirectory` reads it)."""
    item = {
        **directory_key(entry.store_id),
        "store_id": {"S": entry.store_id},
        "region": {"S": entry.region},
        "api_url": {"S": entry.api_url},
        "updated_at": {"S": updated_at.isoformat()},
    }
    if entry.chain_id:
        item["chain_id"] = {"S": entry.chain_id}
    return item


def parse_item(item: dict[str, Any]) -> ServedElsewhere | None:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return value if isinstance(value, str) and value else None

    store_id, region, api_url = text("store_id"), text("region"), text("api_url")
    if not (store_id and region and api_url):
        return None
    return ServedElsewhere(store_id, text("chain_id"), region, api_url)


class RegionDirectory:
    """Looks a store up in this region's directory (one GetItem), cached per warm container like stores."""

    def __init__(
        self, dynamodb_client: Any, table: str, here: str, wall: Callable[[], float], ttl_seconds: float = 60
    ) -> None:
        self._ddb = dynamodb_client
        self._table = table
        self._here = here
        self._wall = wall
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ServedElsewhere | None]] = {}

    def locate(self, store_id: str) -> ServedElsewhere | None:
        """Where the store is served, when that is another region; None when unknown (or said to be here)."""
        if not store_id or len(store_id) > MAX_STORE_ID:
            return None
        hit = self._cache.get(store_id)
        if hit and hit[0] > self._wall():
            return hit[1]
        found = self._read(store_id)
        if found is not None and found.region == self._here:
            found = None  # an entry for this region: the store is simply not (or no longer) here
        self._cache[store_id] = (self._wall() + self._ttl, found)
        return found

    def _read(self, store_id: str) -> ServedElsewhere | None:
        item = self._ddb.get_item(TableName=self._table, Key=directory_key(store_id)).get("Item")
        return parse_item(item) if item else None
