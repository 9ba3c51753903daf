"""Test data builders: a realistic booking event with overridable parts."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime
from typing import Any

_ids = itertools.count(1)

SH_STORE = "sh-jingan"
LDN_STORE = "ldn-soho"


def booking_event(
    *,
    type: str = "booking.created",
    booking_id: str = "bk-1",
    store_id: str = SH_STORE,
    start: datetime | str = "2026-11-25T15:00:00+08:00",
    occurred_at: datetime | str | None = None,
    duration: int = 90,
    category: str = "hair_colour",
    stylist: str = "sh-xiaowang",
    member_id: str = "m-1",
    phone: str | None = "+8613800138000",
    email: str | None = None,
    locale: str = "zh-CN",
    event_id: str | None = None,
    **booking_overrides: Any,
) -> dict:
    as_text = lambda v: v.isoformat() if isinstance(v, datetime) else v  # noqa: E731
    event = {
        "event_id": event_id or f"evt-{next(_ids)}",
        "type": type,
        "occurred_at": as_text(occurred_at or "2026-11-22T10:00:00+08:00"),
        "booking": {
            "id": booking_id,
            "store_id": store_id,
            "start": as_text(start),
            "duration_minutes": duration,
            "service": {
                "code": f"svc-{category}",
                "name": {"hair_colour": "染发", "perm": "烫发"}.get(category, "剪发"),
                "category": category,
            },
            "stylist": {"id": stylist, "name": "小王"},
            "member": {
                "id": member_id,
                "name": "李女士",
                "phone": phone,
                "email": email,
                "locale": locale,
                "birthday": "1990-05-01",
                "wechat_openid": None,
            },
            "price": {"amount": "388.00", "currency": "CNY"},
            "notes": "",
        },
    }
    event["booking"].update(copy.deepcopy(booking_overrides))
    return event
