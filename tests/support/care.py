"""Member-care test helpers: a member with visits, through the booking webhook like the booking system."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.builders import SH_STORE, booking_event


def visit(
    harness: Any,
    member_id: str = "m-1",
    *,
    consent: bool | None = True,
    store_id: str = SH_STORE,
    booking_id: str | None = None,
    start: str = "2026-11-20T15:00:00+08:00",
    category: str = "hair_colour",
    phone: str | None = "+8613800138000",
    stylist: str = "sh-xiaowang",
    amount: str = "388.00",
    locale: str = "zh-CN",
    birthday: str = "1990-05-01",
    name: str = "李女士",
) -> str:
    """A booking of hers, created and completed (one visit); its booking id."""
    booking_id = booking_id or f"bk-{uuid.uuid4().hex[:8]}"
    member = {"id": member_id, "name": name, "phone": phone, "locale": locale, "birthday": birthday}
    if consent is not None:
        member["marketing_consent"] = consent
    common = {
        "booking_id": booking_id,
        "store_id": store_id,
        "start": start,
        "category": category,
        "stylist": stylist,
        "member": member,
        "price": {"amount": amount, "currency": "CNY"},
    }
    for kind in ("booking.created", "booking.completed"):
        status, body = harness.post(
            booking_event(type=kind, occurred_at="2026-11-22T09:00:00+08:00", **common)
        )
        assert status == 202, body
    return booking_id
