"""PynamoDB models of the single main table (see docs/ARCHITECTURE.md for keys and access patterns).

Every item has `pk`/`sk` strings with a typed prefix. The table name is bound at start-up by the
composition root (`bind`), so the same models serve the deployed stage, the local stack and tests.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class _Item(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


# One overloaded index, "gsi1", seen through one index class per item type (PynamoDB binds an index
# class to one model): `STORECONV#<store>#<status>` by last message time (a store's inbox),
# `MEMBERBK#<chain>#<member>` by start (a member's bookings) and `CHAINSTORES#<chain>` by store id (a chain's
# stores in this region).
class InboxIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class BookingsByMemberIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class StoresByChainIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


# A second overloaded index, "gsi2": `STOREDAY#<store>#<store-local date>` by `<start UTC ISO>#<booking id>`
# (a store's bookings of one day, for the staff console's Today screen).
class BookingsByStoreDayIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


def bind(table_name: str, region: str) -> None:
    """Point every model at the main table of this stage."""
    for model in (ChainItem, StoreItem, BookingItem, EventItem, MemberItem, MessageItem, ConversationItem,
                  ContactLookupItem, InboundReceiptItem):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None  # rebuilt lazily with the new settings


class ChainItem(_Item):
    """pk=CHAIN#<chain_id>, sk=CHAIN"""

    chain_id = UnicodeAttribute()
    name = UnicodeAttribute()
    journey_overrides = JSONAttribute(null=True)
    booking_webhook_url = UnicodeAttribute(null=True)  # where member change requests go (signed)

    @staticmethod
    def key(chain_id: str) -> tuple[str, str]:
        return f"CHAIN#{chain_id}", "CHAIN"


class StoreItem(_Item):
    """pk=STORE#<store_id>, sk=STORE (store ids are unique across chains); gsi1: CHAINSTORES#<chain> / store id."""

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
    gsi1pk = UnicodeAttribute(null=True)  # CHAINSTORES#<chain_id>
    gsi1sk = UnicodeAttribute(null=True)  # store_id
    by_chain = StoresByChainIndex()

    @staticmethod
    def key(store_id: str) -> tuple[str, str]:
        return f"STORE#{store_id}", "STORE"

    @staticmethod
    def chain_key(chain_id: str) -> str:
        return f"CHAINSTORES#{chain_id}"


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
    slots = JSONAttribute(default=dict)  # {"<stylist>|<UTC date>": ["HHMM", ...]} calendar buckets held
    gsi1pk = UnicodeAttribute(null=True)  # MEMBERBK#<chain>#<member>
    gsi1sk = UnicodeAttribute(null=True)  # start, UTC ISO
    by_member = BookingsByMemberIndex()
    gsi2pk = UnicodeAttribute(null=True)  # STOREDAY#<store>#<store-local YYYY-MM-DD of the start>
    gsi2sk = UnicodeAttribute(null=True)  # <start UTC ISO>#<booking id>
    by_store_day = BookingsByStoreDayIndex()

    @staticmethod
    def store_day_key(store_id: str, day: str) -> str:
        return f"STOREDAY#{store_id}#{day}"

    def place_on_store_day(self, timezone: str) -> None:
        """Keep the booking on its store's day list (gsi2): the store-local date of its start."""
        start = self.start.astimezone(UTC)
        self.gsi2pk = BookingItem.store_day_key(self.store_id, start.astimezone(ZoneInfo(timezone)).date().isoformat())
        self.gsi2sk = f"{start.isoformat()}#{self.booking_id}"

    @staticmethod
    def member_key(chain_id: str, member_id: str) -> str:
        return f"MEMBERBK#{chain_id}#{member_id}"

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
    last_store_id = UnicodeAttribute(null=True)
    opted_out_at = UTCDateTimeAttribute(null=True)  # "TD"/"退订": no marketing until they opt in again
    marketing_paused = BooleanAttribute(null=True)  # a complaint is open with staff

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
    # Inbound only
    msg_type = UnicodeAttribute(null=True)  # text | image | voice | emoji | event | other
    media_url = UnicodeAttribute(null=True)
    intent = UnicodeAttribute(null=True)
    sentiment = UnicodeAttribute(null=True)
    actions = JSONAttribute(null=True)
    processed = BooleanAttribute(null=True)
    sender = UnicodeAttribute(null=True)  # staff subject for staff replies

    @staticmethod
    def pk_for(store_id: str, member_id: str) -> str:
        return f"CONV#{store_id}#{member_id}"

    @staticmethod
    def sk_for(at_iso: str, message_id: str) -> str:
        return f"MSG#{at_iso}#{message_id}"


class ConversationItem(_Item):
    """pk=CONV#<store_id>#<member_id>, sk=META: one conversation per (store, member), beside its messages."""

    chain_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    member_name = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="open")  # open | needs_human | resolved
    unread = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    last_message_at = UTCDateTimeAttribute()
    last_preview = UnicodeAttribute(default="")
    last_inbound_at = UTCDateTimeAttribute(null=True)
    last_inbound_channel = UnicodeAttribute(null=True)
    last_inbound_address = UnicodeAttribute(null=True)  # the phone, openid or Agora user she wrote from
    sent_since_inbound = NumberAttribute(default=0)  # WeChat customer-service messages since the last inbound
    read_up_to = UnicodeAttribute(null=True)  # message sort key up to which staff have read
    needs_human_reason = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()  # STORECONV#<store>#<status>
    gsi1sk = UnicodeAttribute()  # last message time, UTC ISO
    inbox = InboxIndex()

    @staticmethod
    def key(store_id: str, member_id: str) -> tuple[str, str]:
        return f"CONV#{store_id}#{member_id}", "META"

    @staticmethod
    def inbox_key(store_id: str, status: str) -> str:
        return f"STORECONV#{store_id}#{status}"


class ContactLookupItem(_Item):
    """Who a channel address belongs to: pk=PHONE#<hash of the E.164 number> | WXOPENID#<hash of the openid>,
    sk=MEMBER#<chain_id>#<member_id>. Written with the member on every booking. The hash is the keyed one of
    chalicelib/privacy.py (`LookupHasher`): the address itself is never stored here."""

    chain_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)  # the store of the member's latest booking
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(kind: str, hashed_address: str, chain_id: str, member_id: str) -> tuple[str, str]:
        return ContactLookupItem.pk_for(kind, hashed_address), f"MEMBER#{chain_id}#{member_id}"

    @staticmethod
    def pk_for(kind: str, hashed_address: str) -> str:
        return f"{kind}#{hashed_address}"


class InboundReceiptItem(_Item):
    """pk=INBOUND#<chain_id>#<channel>#<provider message id>, sk=INBOUND: de-duplicates provider
    retries (and staff replies retried with the same client_message_id)."""

    message_pk = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def key(chain_id: str, channel: str, provider_message_id: str) -> tuple[str, str]:
        return f"INBOUND#{chain_id}#{channel}#{provider_message_id}", "INBOUND"
