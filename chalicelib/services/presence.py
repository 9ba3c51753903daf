"""Who of a store's staff is online (issue 17 part 3): a console's heartbeat, its goodbye, and the store's list.

A heartbeat names the staff member by the token (subject, role) and, when the store's catalogue lists a stylist
whose `staff_id` (else whose own `id`) is the token's subject, that stylist: hand-offs go to a member's own stylist
by it. Online = a heartbeat within hand_offs.toml's `online_seconds`.
"""

from __future__ import annotations

from typing import Any

from chalicelib.clock import Clock
from chalicelib.conversations.hand_offs import settings
from chalicelib.dal.models import StoreItem
from chalicelib.dal.presence import PresenceRepository
from chalicelib.services import auth


def stylist_of(store: StoreItem, staff_id: str) -> str | None:
    """The catalogue stylist this staff member is, if any (`staff_id` on the entry, else the entry's own id)."""
    for stylist in (store.catalog or {}).get("stylists", []) or []:
        if isinstance(stylist, dict) and staff_id in (stylist.get("staff_id"), stylist.get("id")):
            return str(stylist.get("id"))
    return None


class StaffPresence:
    def __init__(self, stores: Any, repo: PresenceRepository, clock: Clock) -> None:
        self._stores = stores
        self._repo = repo
        self._clock = clock

    def beat(self, staff: auth.Staff, store_id: str) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "presence.write")
        now = int(self._clock.now().timestamp())
        ttl = int(settings()["presence"]["online_seconds"])
        self._repo.beat(store_id, staff.subject, staff.role, stylist_of(store, staff.subject), now, ttl)
        return {"online": True, "staff_id": staff.subject, "next_beat_seconds": ttl // 2} | self._list(
            store_id, now
        )

    def leave(self, staff: auth.Staff, store_id: str) -> dict[str, Any]:
        auth.authorize_store(staff, self._stores, store_id, "presence.write")
        self._repo.leave(store_id, staff.subject)
        return {"online": False, "staff_id": staff.subject}

    def online(self, staff: auth.Staff, store_id: str) -> dict[str, Any]:
        auth.authorize_store(staff, self._stores, store_id, "presence.read")
        return self._list(store_id, int(self._clock.now().timestamp()))

    def _list(self, store_id: str, now: int) -> dict[str, Any]:
        return {
            "staff": [
                {
                    "staff_id": o.staff_id,
                    "role": o.role,
                    "stylist_id": o.stylist_id,
                    "online_until": o.expires_at,
                }
                for o in self._repo.online(store_id, now)
            ]
        }
