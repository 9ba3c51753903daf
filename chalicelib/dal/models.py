"""PynamoDB models of the single main table (see docs/ARCHITECTURE.md for keys and access patterns).

Every item has `pk`/`sk` strings with a typed prefix. The table name is bound at start-up by the
composition root (`bind`), so the same models serve the deployed stage, the local stack and tests.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model


class _Item(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def bind(table_name: str, region: str) -> None:
    """Point every model at the main table of this stage."""
    for model in (ChainItem, StoreItem, BookingItem, EventItem, MemberItem, MessageItem):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None  # rebuilt lazily with the new settings


class ChainItem(_Item):
    """pk=CHAIN#<chain_id>, sk=CHAIN"""

    chain_id = UnicodeAttribute()
    name = UnicodeAttribute()
    journey_overrides = JSONAttribute(null=True)

    @staticmethod
    def key(chain_id: str) -> tuple[str, str]:
        return f"CHAIN#{chain_id}", "CHAIN"


class StoreItem(_Item):
    """pk=STORE#<store_id>, sk=STORE (store ids are unique across chains)."""

    store_id = UnicodeAttribute()
    chain_id = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    locale = UnicodeAttribute(default="zh-CN")
    address = UnicodeAttribute(default="")
    directions = UnicodeAttribute(default="")
    phone = UnicodeAttribute(default="")
    journey_overrides = JSONAttribute(null=True)
    catalog = JSONAttribute(null=True)  # {"stylists": [{id, name}], "services": [{code, name, category, minutes}]}

    @staticmethod
    def key(store_id: str) -> tuple[str, str]:
        return f"STORE#{store_id}", "STORE"


class MemberSnapshot(MapAttribute):
    id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    wechat_openid = UnicodeAttribute(null=True)


class PendingStep(MapAttribute):
    kind = UnicodeAttribute()
    when = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()
    schedule = UnicodeAttribute(null=True)  # EventBridge schedule name; None when sent at once
    channel = UnicodeAttribute(null=True)


class BookingItem(_Item):
    """pk=BOOKING#<chain_id>#<booking_id>, sk=BOOKING

    `version` grows with every applied event; journey steps carry the version they were planned at
    and the worker drops any step whose version is no longer current.
    """

    chain_id = UnicodeAttribute()
    booking_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    start = UTCDateTimeAttribute()
    duration_minutes = NumberAttribute()
    service_code = UnicodeAttribute()
    service_name = UnicodeAttribute()
    category = UnicodeAttribute()
    stylist_id = UnicodeAttribute()
    stylist_name = UnicodeAttribute(default="")
    member = MemberSnapshot()
    price_amount = UnicodeAttribute(null=True)
    price_currency = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    booked_at = UTCDateTimeAttribute()
    last_event_at = UTCDateTimeAttribute()
    last_event_id = UnicodeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    feedback_sentiment = UnicodeAttribute(null=True)
    pending = ListAttribute(of=PendingStep, default=list)
    slots = JSONAttribute(default=dict)  # {"<UTC date>": ["HHMM", ...]} stylist buckets held

    @staticmethod
    def key(chain_id: str, booking_id: str) -> tuple[str, str]:
        return f"BOOKING#{chain_id}#{booking_id}", "BOOKING"


class EventItem(_Item):
    """pk=EVENT#<chain_id>#<event_id>, sk=EVENT: the answer given, and the side effects to (re)apply."""

    booking_id = UnicodeAttribute()
    version = NumberAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    effects = JSONAttribute(default=dict)
    expires_at = NumberAttribute()  # TTL

    @staticmethod
    def key(chain_id: str, event_id: str) -> tuple[str, str]:
        return f"EVENT#{chain_id}#{event_id}", "EVENT"


class MemberItem(_Item):
    """pk=MEMBER#<chain_id>#<member_id>, sk=PROFILE"""

    chain_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    wechat_openid = UnicodeAttribute(null=True)
    marketing_consent = BooleanAttribute(null=True)
    primary_store_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(chain_id: str, member_id: str) -> tuple[str, str]:
        return f"MEMBER#{chain_id}#{member_id}", "PROFILE"


class MessageItem(_Item):
    """pk=CONV#<store_id>#<member_id>, sk=MSG#<UTC ISO time>#<message id>: one conversation per
    (store, member), read newest first with a Query."""

    message_id = UnicodeAttribute()
    chain_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    direction = UnicodeAttribute()  # out | in
    channel = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | sent | delivered | read | failed
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    booking_id = UnicodeAttribute(null=True)
    booking_version = NumberAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    lease_until = NumberAttribute(default=0)  # wall-clock epoch seconds a sending worker holds it

    @staticmethod
    def pk_for(store_id: str, member_id: str) -> str:
        return f"CONV#{store_id}#{member_id}"

    @staticmethod
    def sk_for(at_iso: str, message_id: str) -> str:
        return f"MSG#{at_iso}#{message_id}"
