"""The stores of this region, cached per warm container; a store served by another region answers 421 here."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.dal.bookings import BookingRepository
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.errors import Misdirected
from chalicelib.services.regions import ServedElsewhere


class StoreDirectory:
    """Stores change rarely; keep them for a minute per warm container.

    Every request that names a store finds it here (booking and message webhooks, WeChat and Agora callbacks,
    staff endpoints), so this is where a store served by another region is turned away: when it is not found
    here and `elsewhere` (services/regions.py) says which region serves it, `get` raises Misdirected (421
    with that region's endpoint) before anything else is read or written for the request."""

    def __init__(
        self,
        repo: BookingRepository,
        wall: Callable[[], float],
        ttl_seconds: float = 60,
        elsewhere: Callable[[str], ServedElsewhere | None] | None = None,
    ) -> None:
        self._repo = repo
        self._wall = wall
        self._ttl = ttl_seconds
        self._elsewhere = elsewhere
        self._cache: dict[str, tuple[float, StoreItem | None]] = {}
        self._chains: dict[str, tuple[float, ChainItem | None]] = {}

    def get(self, store_id: str) -> StoreItem | None:
        hit = self._cache.get(store_id)
        if hit and hit[0] > self._wall():
            store = hit[1]
        else:
            store = self._repo.store(store_id)
            self._cache[store_id] = (self._wall() + self._ttl, store)
        if store is None and self._elsewhere is not None:
            remote = self._elsewhere(store_id)
            if remote is not None:
                raise Misdirected(store_id, remote.region, remote.api_url, remote.chain_id)
        return store

    def remember(self, store: StoreItem) -> None:
        """A store this container has just written (services/catalogue.py): its next reads here see it."""
        self._cache[store.store_id] = (self._wall() + self._ttl, store)

    def forget_chain(self, chain_id: str) -> None:
        """A chain this container has just written (services/store_settings.py): its next read here reads it."""
        self._chains.pop(chain_id, None)

    def of_chain(self, store_id: str, chain_id: str) -> StoreItem | None:
        """The store when it is this (signed) chain's. Another chain's store is as unknown as any, even one
        served in another region, so its existence does not leak; the chain's own gets the 421."""
        try:
            store = self.get(store_id)
        except Misdirected as elsewhere:
            if elsewhere.chain_id != chain_id:
                return None
            raise
        return store if store is not None and store.chain_id == chain_id else None

    def overrides(self, store: StoreItem) -> tuple[dict | None, dict | None]:
        """The chain's and the store's journey overrides; the chain is kept for the same minute as stores."""
        chain = self._chain(store)
        return (chain.journey_overrides if chain else None), store.journey_overrides

    def routing(self, store: StoreItem) -> tuple[dict | None, dict | None]:
        """The chain's and the store's channel routing overrides (services/channel_router.py), cached alike."""
        chain = self._chain(store)
        return (chain.channel_routing if chain else None), store.channel_routing

    def feedback_settings(self, store: StoreItem) -> dict | None:
        """The chain's feedback settings (issue 17; services/feedback.py), cached alike."""
        chain = self._chain(store)
        return chain.feedback_settings if chain else None

    def _chain(self, store: StoreItem) -> ChainItem | None:
        hit = self._chains.get(store.chain_id)
        if hit and hit[0] > self._wall():
            return hit[1]
        chain = self._repo.chain(store.chain_id)
        self._chains[store.chain_id] = (self._wall() + self._ttl, chain)
        return chain
