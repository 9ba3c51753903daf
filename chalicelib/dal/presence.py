"""Staff presence (issue 17 part 3): one heartbeat item per console, one Query per store to read who is online.

A heartbeat writes only when the last one written is older than `MIN_WRITE_SECONDS` (a console that beats more
often costs a failed condition, not a write), and `expires_at` is the DynamoDB TTL and the read check at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.dal.conditions import put_new
from chalicelib.dal.models import StaffPresenceItem

MIN_WRITE_SECONDS = 30


@dataclass(frozen=True)
class Online:
    staff_id: str
    role: str
    stylist_id: str | None
    seen_at: int
    expires_at: int


class PresenceRepository:
    def beat(
        self, store_id: str, staff_id: str, role: str, stylist_id: str | None, now: int, ttl_seconds: int
    ) -> bool:
        """Record a heartbeat; False when a recent one already stands (nothing written)."""
        item = StaffPresenceItem(
            *StaffPresenceItem.key(store_id, staff_id),
            staff_id=staff_id,
            role=role,
            stylist_id=stylist_id,
            seen_at=now,
            expires_at=now + ttl_seconds,
        )
        return put_new(
            item,
            or_if=(StaffPresenceItem.seen_at <= now - MIN_WRITE_SECONDS)
            | (StaffPresenceItem.expires_at <= now)
            | (StaffPresenceItem.role != role),
        )

    def leave(self, store_id: str, staff_id: str) -> None:
        StaffPresenceItem(*StaffPresenceItem.key(store_id, staff_id)).delete()  # absent: no error

    def online(self, store_id: str, now: int) -> list[Online]:
        """Who is online at a store: one Query (a store has a few dozen staff at most)."""
        items = StaffPresenceItem.query(
            StaffPresenceItem.pk_for(store_id),
            StaffPresenceItem.sk.startswith("STAFF#"),
            filter_condition=StaffPresenceItem.expires_at > now,
            consistent_read=True,
            limit=200,
        )
        return sorted(
            (
                Online(i.staff_id, i.role, i.stylist_id or None, int(i.seen_at), int(i.expires_at))
                for i in items
            ),
            key=lambda o: o.staff_id,
        )
