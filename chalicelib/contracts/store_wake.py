"""A store's wake: the body one schedule puts on the steps queue at a store-local time of day ("-1d@10:00",
"+2d@11:00"), standing for every step of the store's bookings of one day that is due then (services/store_wakes.py).

Bookings that start on the same store-local day share their day-before reminder at 10:00, and visits completed the
same day share their feedback and review requests at 11:00: one scheduled invocation instead of one per booking.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from chalicelib.errors import ValidationFailed

STORE_WAKE = "store_wake"


@dataclass(frozen=True)
class StoreWake:
    chain_id: str
    store_id: str
    day: str  # the store-local day (YYYY-MM-DD) the bookings start on: their store-day list (gsi4)
    due_at: str  # ISO 8601, UTC

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "type": STORE_WAKE}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> StoreWake:
        try:
            data = json.loads(body)
            if data.get("type") != STORE_WAKE:
                raise ValueError("type")
            wake = cls(**{k: data[k] for k in cls.__dataclass_fields__})
            if not all(isinstance(getattr(wake, k), str) for k in cls.__dataclass_fields__):
                raise ValueError("fields are strings")
            date.fromisoformat(wake.day)
            if datetime.fromisoformat(wake.due_at).tzinfo is None:
                raise ValueError("due_at needs a zone")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationFailed(f"not a store wake: {exc}") from None
        return wake

    @property
    def due(self) -> datetime:
        return datetime.fromisoformat(self.due_at)

    @property
    def schedule_name(self) -> str:
        """One schedule per (store, due moment, bookings' day), at most 64 characters."""
        store = hashlib.sha256(f"{self.chain_id}\x00{self.store_id}".encode()).hexdigest()[:20]
        return f"wake-{store}-{self.due.astimezone(UTC):%Y%m%dT%H%M%S}-{self.day.replace('-', '')}"
