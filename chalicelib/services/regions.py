"""The store directory: which region serves a store that is not in this one (docs/REGIONS.md).

Each region's main table holds one item per store served ELSEWHERE (its shape: chalicelib/dal/regions.py),
written by the operator command `python -m infra.directory put ...`.

It is routing data only -- a store id, its chain and a region's public API address; no member's data is ever
written to it or read from another region. `StoreDirectory.get` (services/stores.py) asks it when a
store is not found here, and answers 421 (errors.Misdirected) when the store is served in another region.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.dal.regions import RegionDirectoryRepository, ServedElsewhere

__all__ = ["RegionDirectory", "ServedElsewhere"]

MAX_STORE_ID = 200  # longer is no store id: not worth a read


class RegionDirectory:
    """Looks a store up in this region's directory (one GetItem), cached per warm container like stores."""

    def __init__(
        self,
        repo: RegionDirectoryRepository,
        here: str,
        wall: Callable[[], float],
        ttl_seconds: float = 60,
    ) -> None:
        self._repo = repo
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
        found = self._repo.get(store_id)
        if found is not None and found.region == self._here:
            found = None  # an entry for this region: the store is simply not (or no longer) here
        self._cache[store_id] = (self._wall() + self._ttl, found)
        return found
