"""The store directory's items (docs/REGIONS.md): one per store served ELSEWHERE, in each region's main table.

    pk = STOREDIR#<store_id>, sk = REGION: {store_id, chain_id, region, api_url, updated_at}

Written by the operator command `python -m infra.directory put ...` (one repository per region's client), read
by `RegionDirectory` (services/regions.py). Low-level client calls with the wire format, like before: the
directory may be written into another region's table, so the repository takes whichever client it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PREFIX = "STOREDIR#"
SORT_KEY = "REGION"


@dataclass(frozen=True)
class ServedElsewhere:
    store_id: str
    chain_id: str | None
    region: str
    api_url: str


def directory_key(store_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{PREFIX}{store_id}"}, "sk": {"S": SORT_KEY}}


def directory_item(entry: ServedElsewhere, updated_at: datetime) -> dict[str, dict[str, str]]:
    """The DynamoDB item of an entry (`RegionDirectoryRepository.put` writes it; tests seed it)."""
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


class RegionDirectoryRepository:
    """One region's directory: a low-level DynamoDB client (of that region) and its main table's name."""

    def __init__(self, dynamodb_client: Any, table: str) -> None:
        self._ddb = dynamodb_client
        self._table = table

    def get(self, store_id: str, consistent: bool = False) -> ServedElsewhere | None:
        """One GetItem; None when there is no entry (or it is incomplete)."""
        extra = {"ConsistentRead": True} if consistent else {}
        item = self._ddb.get_item(TableName=self._table, Key=directory_key(store_id), **extra).get("Item")
        return parse_item(item) if item else None

    def put(self, entry: ServedElsewhere, updated_at: datetime) -> None:
        self._ddb.put_item(TableName=self._table, Item=directory_item(entry, updated_at))

    def delete(self, store_id: str) -> None:
        self._ddb.delete_item(TableName=self._table, Key=directory_key(store_id))
