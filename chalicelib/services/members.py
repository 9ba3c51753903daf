"""A member's profile as staff see it beside the chat (built from bookings and chat)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.dal.models import BookingItem, MemberItem
from chalicelib.errors import NotFound
from chalicelib.services import auth
from chalicelib.services.staff_bookings import booking_view

_ID = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")
MAX_BOOKINGS = 500


class MemberProfiles:
    def __init__(self, stores: Any, verifier: auth.Verifier, clock: Clock) -> None:
        self._stores = stores
        self._verifier = verifier
        self._clock = clock

    def profile(self, authorization: str | None, store_id: str, member_id: str) -> dict[str, Any]:
        staff = auth.authenticate(authorization, self._verifier)
        store = auth.lookup_store(staff, self._stores, store_id) if _ID.match(store_id) else None
        auth.require(staff, "members.read", store.chain_id if store else None, store_id)
        if not _ID.match(member_id):
            raise NotFound("no such member")
        try:
            member = MemberItem.get(*MemberItem.key(store.chain_id, member_id))
        except MemberItem.DoesNotExist:
            raise NotFound("no such member") from None
        bookings = list(BookingItem.by_member.query(BookingItem.member_key(store.chain_id, member_id),
                                                    limit=MAX_BOOKINGS))
        now = self._clock.now()
        visits = [b for b in bookings if b.status == "completed"]
        upcoming = [b for b in bookings if b.status in ("booked", "confirmed") and b.start >= now]
        tz = ZoneInfo(store.timezone)
        if member.opted_out_at is not None:
            status = "opted_out"
        elif member.marketing_paused:
            status = "marketing_paused"
        else:
            status = "active"
        return {
            "id": member_id,
            "name": member.name,
            "locale": member.locale,
            "preferred_channel": "wechat" if member.wechat_openid else ("sms" if member.phone else
                                                                        ("email" if member.email else None)),
            "visits": len(visits),
            "last_visit_at": max(b.start for b in visits).astimezone(tz).isoformat() if visits else None,
            "next_booking_at": min(b.start for b in upcoming).astimezone(tz).isoformat() if upcoming else None,
            "tags": [],
            "consent": {"transactional": True, "marketing": bool(member.marketing_consent)},
            "status": status,
            "services": sorted({b.service_name for b in visits}),
            # The member panel links each to its timeline (GET /v1/stores/{store_id}/bookings/{booking_id}).
            "upcoming": [booking_view(b, tz) for b in sorted(upcoming, key=lambda b: b.start)
                         if b.store_id == store_id],
        }
