"""Catalogue builders for the self-booking tests: a store open for members to book, with services and stylists.

`catalog_store(**overrides)` is a store as `StoreCatalog.of` reads it (unit tests); `open_for_booking(store_id,
**overrides)` writes the same catalogue onto a seeded store item (integration tests: call it before the first
request, as the store directory caches stores for a minute).

The default: a Shanghai store open 10:00-21:00 every day, taking bookings itself (`chairside`), lead time 60
minutes, cancel until 120 minutes before. Services: `cut` (45 minutes + 15 buffer) and `colour` (120 + 15).
Stylists: 小王 (`sh-xiaowang`, both services, 12:00-19:00 from Tuesday to Sunday), Amy (`sh-amy`, cuts only, the
store's hours) and 丽娜 (`sh-lina`, both, the store's hours, 2026-11-24 off).
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SERVICES = [
    {
        "code": "cut",
        "name": "剪发",
        "names": {"zh-CN": "剪发", "en": "Haircut"},
        "category": "haircut",
        "minutes": 45,
        "buffer_minutes": 15,
        "price": {"amount": "198.00", "currency": "CNY"},
        "active": True,
    },
    {
        "code": "colour",
        "name": "染发",
        "names": {"zh-CN": "染发", "en": "Colour"},
        "category": "hair_colour",
        "minutes": 120,
        "buffer_minutes": 15,
        "price": {"amount": "588.00", "currency": "CNY"},
        "active": True,
    },
]

STYLISTS = [
    {
        "id": "sh-xiaowang",
        "name": "小王",
        "services": ["cut", "colour"],
        "working_hours": {d: [["12:00", "19:00"]] for d in WEEK if d != "mon"},
        "days_off": [],
        "active": True,
    },
    {"id": "sh-amy", "name": "Amy", "services": ["cut"], "days_off": [], "active": True},
    {
        "id": "sh-lina",
        "name": "丽娜",
        "services": ["cut", "colour"],
        "days_off": ["2026-11-24"],
        "active": True,
    },
]


def catalogue(**overrides: Any) -> dict[str, Any]:
    """The store fields of the default catalogue, with `overrides` (services, stylists, opening_hours, ...)."""
    fields: dict[str, Any] = {
        "booking_mode": "chairside",
        "opening_hours": {d: [["10:00", "21:00"]] for d in WEEK},
        "closed_dates": [],
        "lead_minutes": 60,
        "cancel_until_minutes": 120,
        "services": copy.deepcopy(SERVICES),
        "stylists": copy.deepcopy(STYLISTS),
    }
    fields.update(copy.deepcopy(overrides))
    return fields


def catalog_store(**overrides: Any) -> SimpleNamespace:
    """A store item's catalogue fields as `StoreCatalog.of` reads them."""
    identity = {
        "store_id": overrides.pop("store_id", "sh-jingan"),
        "chain_id": overrides.pop("chain_id", "demo-chain"),
        "name": "静安店",
        "timezone": overrides.pop("timezone", "Asia/Shanghai"),
        "locale": "zh-CN",
        "address": "",
        "phone": "+862161234567",
    }
    fields = catalogue(**overrides)
    services, stylists = fields.pop("services"), fields.pop("stylists")
    return SimpleNamespace(**identity, **fields, catalog={"services": services, "stylists": stylists})


def open_for_booking(store_id: str = "sh-jingan", **overrides: Any) -> None:
    """Write the catalogue onto the seeded store item (moto)."""
    from chalicelib.dal.models import StoreItem

    fields = catalogue(**overrides)
    store = StoreItem.get(*StoreItem.key(store_id), consistent_read=True)
    store.catalog = {"services": fields.pop("services"), "stylists": fields.pop("stylists")}
    for name, value in fields.items():
        setattr(store, name, value)
    if not store.phone:
        store.phone = "+862161234567"
    store.save()


def member(
    member_id: str,
    *,
    chain_id: str = "demo-chain",
    name: str = "李女士",
    phone: str | None = "+8613800138000",
    locale: str = "zh-CN",
) -> None:
    """A member's profile as sign-in leaves it (moto)."""
    from chalicelib.dal.models import MemberItem

    MemberItem(
        *MemberItem.key(chain_id, member_id),
        chain_id=chain_id,
        member_id=member_id,
        name=name,
        phone=phone,
        locale=locale,
    ).save()
