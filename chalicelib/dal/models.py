"""PynamoDB models of the single main table (see docs/ARCHITECTURE.md for keys and access patterns).

Every item has `pk`/`sk` strings with a typed prefix. The table name is bound at start-up by the
composition root (`bind`), so the same models serve the deployed stage, the local stack and tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import LIST, NUMBER, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.contracts.step import schedule_name


class _Item(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    @classmethod
    def _get_connection(cls) -> Any:
        connection = super()._get_connection()
        _share_client(connection.connection)
        return connection


# One botocore DynamoDB client for every model of a process. PynamoDB gives each model its own connection, each
# with its own botocore session, and every new session parses botocore's DynamoDB model and endpoint data again
# (about 50 ms a model at a cold start). botocore clients are thread-safe; the models share table, region, host
# and client settings (`_Item.Meta`). Keyed by what the client is built from; `bind` starts afresh. The one client
# is built (with PynamoDB's retry and timeout settings) from the composition root's botocore session when `bind`
# is given one, so it reuses the DynamoDB model boto3 already parsed for the process's other client.
_SHARED_CLIENTS: dict[tuple, Any] = {}
_botocore_session: Callable[[], Any] | None = None
_building: threading.Lock | threading.RLock = threading.Lock()  # the session's owner's lock, when it has one


def _share_client(connection: Any) -> None:
    if connection._client is not None:
        return
    key = (
        connection.region,
        connection.host,
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get("AWS_ACCESS_KEY_ID"),
    )
    with _building:  # botocore sessions are not safe for building clients from two threads at once
        shared = _SHARED_CLIENTS.get(key)
        if shared is None:
            if _botocore_session is not None:
                connection._local.session = _botocore_session()
            _SHARED_CLIENTS[key] = connection.client  # built by PynamoDB, with its retry and timeout settings
            return
    connection._client = shared


def string_list() -> ListAttribute[str]:
    """A nullable `ListAttribute(of=UnicodeAttribute)`, read as `list[str]`."""
    # PynamoDB types `of` as the element's Python type (type[str]), not the attribute class it needs
    return ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]


# Overloaded indexes, each seen through one index class per item type (PynamoDB binds an index class to one
# model). gsi1 (ALL): `STORECONV#<store>#<status>` by last message time (a store's inbox), `STOREMEMBERS#<store>`
# by last visit and `CHAINSTORES#<chain>` by store id (a chain's stores in this region). gsi2 (ALL):
# `CAMPAIGNSEND#<campaign>` by `<status>#<member>`. gsi3 (keys only): `MEMBERBK#<chain>#<member>` by start (a
# member's bookings) and `BIRTHDAY#<store>#<MM-DD>` by member. gsi4 (keys only): `STOREDAY#<store>#<date>`.
class InboxIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class BookingsByMemberIndex(GlobalSecondaryIndex):
    """gsi3 (keys only) `MEMBERBK#<chain>#<member>` by start: read through `whole` (a BatchGetItem)."""

    class Meta:
        index_name = "gsi3"
        projection = KeysOnlyProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class StoresByChainIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class MembersByStoreIndex(GlobalSecondaryIndex):
    """gsi1 `STOREMEMBERS#<primary store>` by `<last visit UTC ISO | 0000>#<member>`."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class BirthdayIndex(GlobalSecondaryIndex):
    """gsi3 (keys only) `BIRTHDAY#<primary store>#<MM-DD>` by member id: read through `whole`."""

    class Meta:
        index_name = "gsi3"
        projection = KeysOnlyProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class CampaignSendsIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class LegacyBookingsByMemberIndex(GlobalSecondaryIndex):
    """gsi1 `MEMBERBK#…`: where bookings written before 2026-11 are until `ops.reindex` (erasure reads it too).
    Remove once `python -m ops.reindex` has run (not --dry-run) in every region."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class BookingsByStoreDayIndex(GlobalSecondaryIndex):
    """gsi4 (keys only) `STOREDAY#<store>#<store-local date>` by `<start UTC ISO>#<booking id>`: read through
    `whole`."""

    class Meta:
        index_name = "gsi4"
        projection = KeysOnlyProjection()

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


def whole[M: _Item](model: type[M], keys_only: Iterable[_Item], known: Iterable[M] = ()) -> list[M]:
    """The items a keys-only index Query found, read whole (BatchGetItem, 100 keys a request), in the index's
    order; an item deleted in between is left out. Items in `known` (just written) are not read again."""
    found = list(keys_only)
    keys = [(item.pk, item.sk) for item in found]
    got: dict[tuple[str, str], M] = {(item.pk, item.sk): item for item in known}
    missing = [key for key in keys if key not in got]
    for start in range(0, len(missing), 100):
        for item in model.batch_get(missing[start : start + 100]):
            got[(item.pk, item.sk)] = item
    return [got[key] for key in keys if key in got]


def bind(
    table_name: str,
    region: str,
    botocore_session: Callable[[], Any] | None = None,
    lock: threading.Lock | threading.RLock | None = None,
) -> None:
    """Point every model at the main table of this stage. `botocore_session` gives the session their one client is
    built from (None: PynamoDB's own), `lock` the lock its owner builds its clients under."""
    global _botocore_session, _building
    _SHARED_CLIENTS.clear()
    _botocore_session = botocore_session
    _building = lock or threading.Lock()
    for model in (
        ChainItem,
        StoreItem,
        BookingItem,
        EventItem,
        MemberItem,
        MessageItem,
        ConversationItem,
        ContactLookupItem,
        InboundReceiptItem,
        TagMemberItem,
        CareClaimItem,
        CareLedgerItem,
        CampaignItem,
        CouponItem,
        CallbackClaimItem,
        SmsNumberItem,
        StylistDayItem,
        MemberClaimItem,
        SignInCodeItem,
        OAuthStateItem,
        MemberLinkItem,
        MemberLinkRefItem,
        WaitlistEntryItem,
        WaitSlotItem,
        MessageChangeItem,
        ProviderMessageItem,
    ):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None  # rebuilt lazily with the new settings


class ChainItem(_Item):
    """pk=CHAIN#<chain_id>, sk=CHAIN"""

    chain_id = UnicodeAttribute()
    name = UnicodeAttribute()
    journey_overrides = JSONAttribute(null=True)
    booking_webhook_url = UnicodeAttribute(null=True)  # where member change requests go (signed)
    sms_number = UnicodeAttribute(
        null=True
    )  # the chain's two-way SMS number (E.164); indexed by SmsNumberItem
    # A hosted second opinion for unsure replies (issue 16; understanding/bedrock.py parse_settings), off if absent.
    second_opinion = JSONAttribute(null=True)
    # Mainland SMS (issue 15): {"routes": {"+86": "alibaba_sms", "*": "sns"}, "<provider>": {"sign_name",
    # "templates": {kind: {"code", "params"}}}}; channels/sms_templates.py reads it, README "SMS providers".
    sms_settings = JSONAttribute(null=True)
    # Issue 15: the chain's channel routing over chalicelib/channels/routing.toml (services/channel_router.py
    # validates it: {"order": [...], "prefer_member_choice": bool, "receipt_wait_seconds": {channel: s}}).
    channel_routing = JSONAttribute(null=True)
    # Issue 17: what follows the feedback request (services/feedback.py): {"no_answer": "send_review" | "skip",
    # "thank_you_coupon": {"offer": "...", "valid_days": 30}}; absent: feedback.toml's defaults.
    feedback_settings = JSONAttribute(null=True)

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
    sms_number = UnicodeAttribute(
        null=True
    )  # the store's two-way SMS number (E.164); indexed by SmsNumberItem
    journey_overrides = JSONAttribute(null=True)
    # The catalogue: chalicelib/catalog/store_catalog.py reads it, and documents each entry's shape.
    catalog = JSONAttribute(
        null=True
    )  # {"services": [{code, name, names, category, minutes, ...}], "stylists": [...]}
    catalog_version = NumberAttribute(null=True)  # bumped by every catalogue write (optimistic locking)
    booking_mode = UnicodeAttribute(null=True)  # "chairside" (members book here) or "external" (the default)
    opening_hours = JSONAttribute(
        null=True
    )  # {"mon": [["10:00", "21:00"]], ...}, store-local; a missing day is closed
    closed_dates = string_list()  # store-local YYYY-MM-DD
    lead_minutes = NumberAttribute(null=True)  # no self-booking closer than this to the start
    cancel_until_minutes = NumberAttribute(null=True)  # no self-cancel or move closer than this to the start
    gsi1pk = UnicodeAttribute(null=True)  # CHAINSTORES#<chain_id>
    gsi1sk = UnicodeAttribute(null=True)  # store_id
    by_chain = StoresByChainIndex()
    # Issue 15: the store's channel routing, over the chain's (same shape as ChainItem.channel_routing).
    channel_routing = JSONAttribute(null=True)
    # Issue 17 part 3: who is texted when nobody online takes a hand-off (else `phone`), and the response limit.
    manager_phone = UnicodeAttribute(null=True)
    handoff_limit_minutes = NumberAttribute(null=True)  # counted in opening hours; default 15
    # Issue 17: where the day-7 review request sends her (services/feedback.py review_link):
    # [{"label": "大众点评", "url": "https://...", "locales": ["zh-CN"]}, ...], the first her locale matches.
    review_links = JSONAttribute(null=True)

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


SCHEDULED = (
    "S"  # a compact step's flag: it has an EventBridge schedule, named from the booking (schedule_name)
)
# A compact step's flag: its store's wake fires it, with the steps of the store's other bookings due at the same
# store-local moment (contracts/store_wake.py); the booking has no schedule of its own for it.
WOKEN = "W"
_UTC_DATETIME = UTCDateTimeAttribute()


class IntegerAttribute(Attribute[int]):
    """A whole number (versions, counts): stored as DynamoDB's N like NumberAttribute, read back as an int
    (PynamoDB types every number a float)."""

    attr_type = NUMBER

    def serialize(self, value: int) -> str:
        return json.dumps(int(value))

    def deserialize(self, value: str) -> int:
        return int(json.loads(value))


def _flag(schedule: str | None) -> str:
    return "" if not schedule else WOKEN if schedule == WOKEN else SCHEDULED


class CompactStepsAttribute(Attribute[list]):
    """A booking's planned steps, each stored as one string `kind|when|due epoch seconds|channel|flag` (about a
    third of a map per step: keeping a booking under 1 KB halves what each of its writes costs); the flag is `S`
    (a schedule of its own, whose name follows from the booking: BookingItem.schedule_names), `W` (its store's
    wake fires it) or empty (sent at once). Items written before, with a map per step, read the same."""

    attr_type = LIST

    def serialize(self, value: list) -> list:
        return [
            {STRING: "|".join((p.kind, p.when, _epoch(p.due_at), p.channel or "", _flag(p.schedule)))}
            for p in value or []
        ]

    def deserialize(self, value: list) -> list:
        steps = []
        for element in value:
            if STRING in element:
                kind, when, epoch, channel, flag = element[STRING].split("|")
                steps.append(
                    PendingStep(
                        kind=kind,
                        when=when,
                        due_at=_from_epoch(epoch),
                        channel=channel or None,
                        schedule=flag or None,
                    )
                )
            else:  # the earlier map form
                raw = element["M"]
                steps.append(
                    PendingStep(
                        kind=raw["kind"]["S"],
                        when=raw["when"]["S"],
                        due_at=_UTC_DATETIME.deserialize(raw["due_at"]["S"]),
                        schedule=raw.get("schedule", {}).get("S"),
                        channel=raw.get("channel", {}).get("S"),
                    )
                )
        return steps


class CompactSlotsAttribute(Attribute[dict]):
    """Calendar buckets a booking holds, {"<stylist>|<UTC date>": ["HHMM", ...]}, stored as JSON with each day's
    contiguous buckets as one "HHMM-HHMM" range (the first and the last bucket). Earlier items stored the lists."""

    attr_type = STRING
    STEP_MINUTES = 5

    def serialize(self, value: dict) -> str:
        return json.dumps(
            {key: ",".join(_ranges(buckets, self.STEP_MINUTES)) for key, buckets in (value or {}).items()},
            separators=(",", ":"),
        )

    def deserialize(self, value: str) -> dict:
        data = json.loads(value)
        return {
            key: (buckets if isinstance(buckets, list) else _expand(buckets, self.STEP_MINUTES))
            for key, buckets in data.items()
        }


def event_ref(event_id: str) -> str:
    """A short, stable reference to a webhook event id (72 bits of its SHA-256)."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:18]


def _epoch(moment: datetime) -> str:
    """Exact to the microsecond (a step's due time is part of its message's key), whole seconds when it is."""
    moment = moment.astimezone(UTC)
    seconds = int((moment.replace(microsecond=0) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    return f"{seconds}.{moment.microsecond:06d}" if moment.microsecond else str(seconds)


def _from_epoch(text: str) -> datetime:
    seconds, _, micros = text.partition(".")
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int(micros or 0))


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[2:])


def _ranges(buckets: list[str], step: int) -> list[str]:
    ranges: list[list[str]] = []
    for hhmm in sorted(buckets):
        if ranges and _minutes(hhmm) - _minutes(ranges[-1][1]) == step:
            ranges[-1][1] = hhmm
        else:
            ranges.append([hhmm, hhmm])
    return [f"{first}-{last}" for first, last in ranges]


def _expand(text: str, step: int) -> list[str]:
    buckets = []
    for part in filter(None, text.split(",")):
        first, last = part.split("-")
        buckets += [f"{m // 60:02d}{m % 60:02d}" for m in range(_minutes(first), _minutes(last) + 1, step)]
    return buckets


class BookingItem(_Item):
    """pk=BOOKING#<chain_id>#<booking_id>, sk=BOOKING

    `version` grows with every applied event; journey steps carry the version they were planned at
    and the worker drops any step whose version is no longer current.
    """

    chain_id = UnicodeAttribute()
    booking_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    status = UnicodeAttribute()
    version = IntegerAttribute()
    start = UTCDateTimeAttribute()
    duration_minutes = NumberAttribute()
    buffer_minutes = NumberAttribute(
        null=True
    )  # held after the service too (booking_event.Booking.buffer_minutes)
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
    # Items before 2026-11; now `recent_events`. Remove (with its read in applied_version) once a Scan for
    # `attribute_exists(last_event_id)` finds no booking in any region: ops.reindex does not rewrite it.
    last_event_id = UnicodeAttribute(null=True)
    recent_events = string_list()
    contact_ref = UnicodeAttribute(
        null=True
    )  # digest of the member fields the last event carried  # "<event ref>:<version>" of the last few applied
    completed_at = UTCDateTimeAttribute(null=True)
    feedback_sentiment = UnicodeAttribute(null=True)
    # Issue 17 (services/feedback.py): her answer to the feedback request -- 1-5, or none for a thumbs emoji or
    # free text -- the member message that gave it (written once: a retry finds it), when, and a thank-you coupon.
    feedback_score = NumberAttribute(null=True)
    feedback_message_id = UnicodeAttribute(null=True)
    feedback_at = UTCDateTimeAttribute(null=True)
    feedback_coupon_code = UnicodeAttribute(null=True)
    coupon_code = UnicodeAttribute(null=True)  # the member-care coupon presented with it
    coupon_status = UnicodeAttribute(null=True)  # chalicelib/care/coupons.py
    pending = CompactStepsAttribute(default=list)
    slots = CompactSlotsAttribute(
        default=dict
    )  # {"<stylist>|<UTC date>": ["HHMM", ...]} calendar buckets held
    gsi3pk = UnicodeAttribute(null=True)  # MEMBERBK#<chain>#<member>
    gsi3sk = UnicodeAttribute(null=True)  # start, UTC ISO
    by_member = BookingsByMemberIndex()
    # Before 2026-11 a booking was on gsi1 (MEMBERBK) and gsi2 (STOREDAY); a put drops them, `ops.reindex` moves them.
    # gsi1/gsi2 here and by_member_before can go once `python -m ops.reindex` has run (not --dry-run) in every region.
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_member_before = LegacyBookingsByMemberIndex()
    gsi4pk = UnicodeAttribute(null=True)  # STOREDAY#<store>#<store-local YYYY-MM-DD of the start>
    gsi4sk = UnicodeAttribute(null=True)  # <start UTC ISO>#<booking id>
    by_store_day = BookingsByStoreDayIndex()

    RECENT_EVENTS = 6

    @property
    def held_minutes(self) -> int:
        """How long the stylist's calendar holds for it: the service and its buffer."""
        return int(self.duration_minutes) + int(self.buffer_minutes or 0)

    def remember_event(self, event_id: str, before: BookingItem | None) -> None:
        """Note that this commit applies `event_id` (with a short ref: the booking stays small)."""
        kept = list(before.recent_events or []) if before is not None else []
        self.recent_events = (kept + [f"{event_ref(event_id)}:{int(self.version)}"])[-self.RECENT_EVENTS :]

    def applied_version(self, event_id: str) -> int | None:
        """The version `event_id` was applied at, when it is one of the booking's last few events."""
        ref = event_ref(event_id)
        for entry in self.recent_events or []:
            seen, _, version = entry.partition(":")
            if seen == ref:
                return int(version)
        if self.last_event_id == event_id:  # an item written before `recent_events`
            return int(self.version)
        return None

    def schedule_names(self, due_after: datetime | None = None) -> list[str]:
        """The EventBridge schedules of its planned steps (the compact form stores a flag: the name follows from
        the booking and the version the steps were planned at, which is the booking's); only those due after
        `due_after` when given."""
        return [
            schedule_name(self.chain_id, self.booking_id, p.kind, int(self.version))
            if p.schedule == SCHEDULED
            else p.schedule
            for p in self.pending or []
            if p.schedule and p.schedule != WOKEN and (due_after is None or p.due_at > due_after)
        ]

    def woken_at(self, due: datetime) -> list[PendingStep]:
        """Its planned steps its store's wake at `due` fires (WOKEN)."""
        return [p for p in self.pending or [] if p.schedule == WOKEN and p.due_at == due]

    def store_day(self, timezone: str) -> str:
        """The store-local date of its start (YYYY-MM-DD): its day on the store's list (gsi4)."""
        return self.start.astimezone(UTC).astimezone(ZoneInfo(timezone)).date().isoformat()

    @staticmethod
    def store_day_key(store_id: str, day: str) -> str:
        return f"STOREDAY#{store_id}#{day}"

    def place_on_store_day(self, timezone: str) -> None:
        """Keep the booking on its store's day list (gsi4): the store-local date of its start."""
        self.gsi4pk = BookingItem.store_day_key(self.store_id, self.store_day(timezone))
        self.gsi4sk = f"{self.start.astimezone(UTC).isoformat()}#{self.booking_id}"

    @staticmethod
    def member_key(chain_id: str, member_id: str) -> str:
        return f"MEMBERBK#{chain_id}#{member_id}"

    @staticmethod
    def key(chain_id: str, booking_id: str) -> tuple[str, str]:
        return f"BOOKING#{chain_id}#{booking_id}", "BOOKING"


class StylistDayItem(_Item):
    """A stylist's day calendar: pk=STYLIST#<chain_id>#<stylist_id>, sk=DAY#<UTC date YYYY-MM-DD>, one attribute
    per held 5-minute bucket, `sHHMM` (UTC) = the id of the booking holding it. The bucket attributes are named
    by the time, so they are written and read with raw expressions (dal/bookings.py); this model names the key,
    the attributes and how a stored item reads."""

    @staticmethod
    def key(chain_id: str, stylist_id: str, day: str) -> tuple[str, str]:
        return f"STYLIST#{chain_id}#{stylist_id}", f"DAY#{day}"

    @staticmethod
    def wire_key(chain_id: str, stylist_id: str, day: str) -> dict[str, dict[str, str]]:
        return wire_key(*StylistDayItem.key(chain_id, stylist_id, day))

    @staticmethod
    def of_key(key: dict[str, dict[str, str]]) -> tuple[str, str]:
        """(stylist_id, day) of a calendar's wire key."""
        return key["pk"]["S"].split("#", 2)[2], key["sk"]["S"].removeprefix("DAY#")

    @staticmethod
    def bucket(hhmm: str) -> str:
        """The attribute of the bucket starting at HHMM (UTC)."""
        return f"s{hhmm}"

    @staticmethod
    def held(raw: dict[str, Any]) -> list[str]:
        """The held buckets ("HHMM", UTC) of a stored (wire-format) calendar item."""
        return sorted(name[1:] for name in raw if len(name) == 5 and name[0] == "s" and name[1:].isdigit())

    @staticmethod
    def holder(raw: dict[str, Any], hhmm_or_attribute: str) -> str | None:
        """The booking id a stored (wire-format) calendar item names for a bucket, if any."""
        attribute = hhmm_or_attribute if hhmm_or_attribute.startswith("s") else f"s{hhmm_or_attribute}"
        return raw.get(attribute, {}).get("S")


def wire_key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    """An item key in DynamoDB's wire format (for the raw calls: transactions, dynamic attributes)."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class EventItem(_Item):
    """pk=EVENT#<chain_id>#<event_id>, sk=EVENT: the answer given. The side effects a duplicate re-applies are
    rebuilt from the booking; items written before 2026-11 carry them in `effects`. Remove `effects` (and its
    read in services/booking_events.py) once none is left: they expire by TTL (EVENT_RETENTION, 35 days), so
    once a Scan for `attribute_exists(effects)` finds no item in any region."""

    booking_id = UnicodeAttribute()
    version = IntegerAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    effects = JSONAttribute(null=True)
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
    # Built from her bookings by chalicelib/care/profile.py after every booking event. No defaults: the booking
    # transaction upserts the contact fields of a MemberItem, and a default would overwrite these.
    visits = NumberAttribute(null=True)
    first_visit_at = UTCDateTimeAttribute(null=True)
    last_visit_at = UTCDateTimeAttribute(null=True)
    total_spend = UnicodeAttribute(null=True)  # decimal string, in the currency of her bookings
    spend_currency = UnicodeAttribute(null=True)
    last_service_code = UnicodeAttribute(null=True)
    last_service_category = UnicodeAttribute(null=True)
    avg_interval_days = NumberAttribute(null=True)  # null until three visits
    services = string_list()  # service names, most visited first
    stylists = string_list()  # stylist names, most visited first
    category_visits = JSONAttribute(null=True)  # {"nail_art": 3, ...}: what tag rules read
    tags = string_list()  # sorted: manual + automatic
    manual_tags = string_list()
    auto_tags = string_list()
    notes = JSONAttribute(null=True)  # staff notes: [{"at", "by", "text"}], newest last
    profile_version = NumberAttribute(null=True)  # bumped by every tag/stat write (optimistic locking)
    gsi1pk = UnicodeAttribute(null=True)  # STOREMEMBERS#<primary_store_id>
    gsi1sk = UnicodeAttribute(null=True)  # <last visit UTC ISO or "0000">#<member_id>
    gsi2pk = UnicodeAttribute(
        null=True
    )  # before 2026-11: BIRTHDAY#... (now gsi3); removed at the next write or
    # by ops.reindex: remove (with its clean-up in dal/care.py) once `python -m ops.reindex` has run (not --dry-run) in every region
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)  # BIRTHDAY#<primary_store_id>#<MM-DD>, only with a birthday
    gsi3sk = UnicodeAttribute(null=True)  # member_id
    # Whether she follows the store's WeChat Official Account, from its subscribe / unsubscribe events (issue 15),
    # as of the event's own time (dal/wechat_follow.py: an older event never overwrites a newer one).
    wechat_following = BooleanAttribute(null=True)
    wechat_following_at = UTCDateTimeAttribute(null=True)
    # Subscription messages she allowed, one element per one-time grant: "<template id> <grant id>"
    # (dal/wechat_follow.py). Spent by the wechat_subscribe channel.
    wechat_grants = UnicodeSetAttribute(null=True)
    by_store = MembersByStoreIndex()
    by_birthday = BirthdayIndex()
    # Issue 15, the channel router (services/channel_router.py): her own choice (wechat | agora | sms | email).
    # No default, for the same reason as the profile fields above.
    preferred_channel = UnicodeAttribute(null=True)
    # Issue 17 §5, remembered preferences (services/member_preferences.py, dal/member_preferences.py): what staff
    # recorded -- favourite_stylist, style_notes, colours, designs, allergies, updated_at, updated_by. Replaced
    # whole by a PUT; no default, so the booking transaction's upsert never touches it.
    preferences = JSONAttribute(null=True)

    @staticmethod
    def key(chain_id: str, member_id: str) -> tuple[str, str]:
        return f"MEMBER#{chain_id}#{member_id}", "PROFILE"

    @staticmethod
    def store_key(store_id: str) -> str:
        return f"STOREMEMBERS#{store_id}"

    @staticmethod
    def store_sort_key(last_visit_at, member_id: str) -> str:
        """Members of a store sort by last visit (UTC ISO); never-visited ones first ("0000")."""
        return f"{last_visit_at.astimezone(UTC).isoformat() if last_visit_at else '0000'}#{member_id}"

    @staticmethod
    def birthday_key(store_id: str, month_day: str) -> str:
        return f"BIRTHDAY#{store_id}#{month_day}"


class TagMemberItem(_Item):
    """pk=TAG#<chain_id>#<tag>, sk=MEMBER#<member_id>: who carries a tag (segments Query it, no Scan)."""

    chain_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    tag = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)  # her primary store
    last_visit_at = UTCDateTimeAttribute(null=True)
    visits = NumberAttribute(null=True)

    @staticmethod
    def key(chain_id: str, tag: str, member_id: str) -> tuple[str, str]:
        return f"TAG#{chain_id}#{tag}", f"MEMBER#{member_id}"

    @staticmethod
    def pk_for(chain_id: str, tag: str) -> str:
        return f"TAG#{chain_id}#{tag}"


class CareClaimItem(_Item):
    """pk=CARE#<chain_id>#<member_id>, sk=OCCASION#<occasion>: a member hears about an occasion at most once.

    status: sending (claimed, lease) | sent | failed | skipped (reason). A campaign's claims are also on gsi2
    `CAMPAIGNSEND#<campaign>` / `<status>#<member>`, so its results and failures are a Query."""

    chain_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    occasion = UnicodeAttribute()
    kind = UnicodeAttribute()
    campaign_id = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    message_pk = UnicodeAttribute(null=True)
    message_sk = UnicodeAttribute(null=True)
    coupon_code = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    lease_until = NumberAttribute(default=0)  # wall-clock epoch seconds
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_campaign = CampaignSendsIndex()

    @staticmethod
    def key(chain_id: str, member_id: str, occasion: str) -> tuple[str, str]:
        return f"CARE#{chain_id}#{member_id}", f"OCCASION#{occasion}"

    @staticmethod
    def campaign_key(campaign_id: str) -> str:
        return f"CAMPAIGNSEND#{campaign_id}"


class CareLedgerItem(_Item):
    """pk=CARE#<chain_id>#<member_id>, sk=LEDGER: her recent marketing sends, for the frequency cap.

    `recent` = [[UTC ISO, kind, occasion], ...] inside the cap's window; `version` makes every change
    conditional, so two concurrent sends cannot both take the last place under the cap."""

    recent = JSONAttribute(default=list)
    version = NumberAttribute(default=0)

    @staticmethod
    def key(chain_id: str, member_id: str) -> tuple[str, str]:
        return f"CARE#{chain_id}#{member_id}", "LEDGER"


class CampaignItem(_Item):
    """pk=CAMPAIGN#<chain_id>#<campaign_id>, sk=CAMPAIGN: the campaign, its progress counters and results."""

    chain_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    segment = JSONAttribute()
    template = JSONAttribute()
    coupon = JSONAttribute(null=True)  # {"valid_days": n, "offer": "..."} or None
    status = UnicodeAttribute()  # scheduled | fanning_out | sending | done
    send_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(default="")
    request_hash = UnicodeAttribute(default="")  # the same campaign id with another body is a conflict
    pages = NumberAttribute(default=0)  # fan-out pages done (each page queues the next)
    next_cursor = UnicodeAttribute(null=True)  # the segment cursor of the page after `pages`
    fanned_out = BooleanAttribute(default=False)
    # Progress counters are top-level numbers `n_<counter>` (n_targeted, n_sent, n_skipped_<reason>...) changed
    # only with ADD (chalicelib/care/campaigns.py), so concurrent workers never lose a count.

    @staticmethod
    def key(chain_id: str, campaign_id: str) -> tuple[str, str]:
        return f"CAMPAIGN#{chain_id}#{campaign_id}", "CAMPAIGN"


class CouponItem(_Item):
    """pk=COUPON#<chain_id>#<code>, sk=COUPON: one member's single-use code for one occasion."""

    chain_id = UnicodeAttribute()
    code = UnicodeAttribute()
    member_id = UnicodeAttribute()
    occasion = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    offer = UnicodeAttribute(default="")
    issued_at = UTCDateTimeAttribute()
    expires_at_time = UTCDateTimeAttribute()
    redeemed_at = UTCDateTimeAttribute(null=True)
    redeemed_booking_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(chain_id: str, code: str) -> tuple[str, str]:
        return f"COUPON#{chain_id}#{code}", "COUPON"


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
    # A staff correction of the understood intent (issue 16; dal/corrections.py): who and when (UTC).
    intent_corrected_by = UnicodeAttribute(null=True)
    intent_corrected_at = UTCDateTimeAttribute(null=True)
    # Outbound, issue 15: the provider whose receipts name it, why its channel was chosen, and what receipts said.
    provider = UnicodeAttribute(null=True)
    route_reason = UnicodeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    read_at = UTCDateTimeAttribute(null=True)
    # Issue 15, the router: every channel a send was attempted on (never twice on one).
    tried_channels = string_list()

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
    unknown_sender = BooleanAttribute(null=True)  # an SMS from a number no member of the chain gave
    # Slots offered to her by chat (issue 14; dal/conversations.py PendingOffer): the offer's id, what was offered
    # {"service_code", "expires_at", "locale", "slots": [{"start", "stylist_id", "stylist_name"}]}, and the message that
    # picked one (an offer is pending while unpicked and unexpired).
    offer_id = UnicodeAttribute(null=True)
    offer = JSONAttribute(null=True)
    offer_picked_by = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()  # STORECONV#<store>#<status>
    gsi1sk = UnicodeAttribute()  # last message time, UTC ISO
    inbox = InboxIndex()
    # Issue 17 part 3 (conversations/hand_offs.py): who has the hand-off, and since when she waits for a person.
    assignee = UnicodeAttribute(null=True)  # a staff id (token subject)
    assignee_role = UnicodeAttribute(null=True)
    assigned_at = UTCDateTimeAttribute(null=True)
    waiting_since = UTCDateTimeAttribute(null=True)  # set when handed off, removed by a staff reply
    handoff_id = UnicodeAttribute(null=True)  # the member message that opened the wait (alarm idempotency)

    @staticmethod
    def key(store_id: str, member_id: str) -> tuple[str, str]:
        return f"CONV#{store_id}#{member_id}", "META"

    @staticmethod
    def inbox_key(store_id: str, status: str) -> str:
        return f"STORECONV#{store_id}#{status}"


class ContactLookupItem(_Item):
    """Who a channel address belongs to: pk=PHONE#<hash of the E.164 number> | WXOPENID#<hash of the openid>,
    sk=MEMBER#<chain_id>#<member_id>. Written with the member on every booking. The hash is the keyed one of
    chalicelib/pii.py (`LookupHasher`): the address itself is never stored here."""

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


class CallbackClaimItem(_Item):
    """pk=CALLBACK#<channel>#<scope>#<digest of the delivery's id>, sk=CALLBACK: a signed callback's replay
    state. WeChat: scope = store, id = (timestamp, nonce); Agora: scope = chain, id = callId. The first
    delivery binds the id to its body (and Agora's to its sender); kept past the 5-minute window (TTL)."""

    body_hash = UnicodeAttribute()
    sender = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()  # TTL (wall-clock epoch seconds)

    @staticmethod
    def key(channel: str, scope: str, digest: str) -> tuple[str, str]:
        return f"CALLBACK#{channel}#{scope}#{digest}", "CALLBACK"


class StaffAlertItem(_Item):
    """pk=ALERT#<chain>#<member message id>, sk=ALERT: the staff alert one member message raised, claimed before
    the store is texted (`sending` with a short lease, then `sent`), so a retried inbound record never texts the
    store twice. Kept 30 days (TTL)."""

    status = UnicodeAttribute()  # sending | sent
    lease_until = (
        NumberAttribute()
    )  # wall-clock epoch seconds: a `sending` claim older than this is free again
    expires_at = NumberAttribute()  # TTL (wall-clock epoch seconds)

    @staticmethod
    def key(chain_id: str, message_id: str) -> tuple[str, str]:
        return f"ALERT#{chain_id}#{message_id}", "ALERT"


class SmsNumberItem(_Item):
    """pk=SMSNUMBER#<E.164 number>, sk=SMSNUMBER: whose two-way SMS number this is. A store's number names
    its store; a chain's number names the store that takes texts from numbers the chain does not know."""

    number = UnicodeAttribute()
    chain_id = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)  # None: the chain's number
    home_store_id = UnicodeAttribute()  # where a text to this number from an unknown number is kept

    @staticmethod
    def key(number: str) -> tuple[str, str]:
        return f"SMSNUMBER#{number}", "SMSNUMBER"


# --- members signing in (issue 14): services/member_directory.py, member_sessions.py, member_links.py ------------
class MemberClaimItem(_Item):
    """pk=MEMBERCLAIM#<chain_id>#<PHONE|WXOPENID>#<keyed hash of the address>, sk=CLAIM: the one member of a chain
    that signs in with this phone number or openid. Put only if absent, so two sign-ins racing for a new address
    create one member. The address itself is never stored (pii.LookupHasher); erased with the member."""

    chain_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(chain_id: str, kind: str, hashed_address: str) -> tuple[str, str]:
        return f"MEMBERCLAIM#{chain_id}#{kind}#{hashed_address}", "CLAIM"


class SignInCodeItem(_Item):
    """pk=SIGNIN#<chain_id>#<keyed hash of the phone>, sk=CODE: the phone's current sign-in code, as a keyed hash
    (never the code), and the times codes were sent in the last hour (the rate limit). Every change is conditional
    on `version`. Kept (TTL) an hour after the last code was sent."""

    chain_id = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    issued_at = NumberAttribute()  # epoch seconds (domain clock) the current code was sent
    sent = ListAttribute[float](of=NumberAttribute, default=list)  # type: ignore[arg-type]  # epochs, last hour
    tries = NumberAttribute(default=0)  # wrong codes entered for the current code
    used = BooleanAttribute(default=False)
    version = IntegerAttribute(default=0)
    expires_at = NumberAttribute()  # TTL

    @staticmethod
    def key(chain_id: str, phone_hash: str) -> tuple[str, str]:
        return f"SIGNIN#{chain_id}#{phone_hash}", "CODE"


class OAuthStateItem(_Item):
    """pk=OAUTHSTATE#<nonce>, sk=STATE: a WeChat OAuth `state` already used (single use); expires with it."""

    expires_at = NumberAttribute()  # TTL

    @staticmethod
    def key(nonce: str) -> tuple[str, str]:
        return f"OAUTHSTATE#{nonce}", "STATE"


class MemberLinkItem(_Item):
    """pk=MLINK#<code>, sk=MLINK: a short "manage my booking" (or waitlist claim) link: whose, which booking,
    what the page is told (`fragment`), until when (TTL; also checked on read, TTL deletion is lazy)."""

    chain_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    booking_id = UnicodeAttribute(null=True)
    fragment = JSONAttribute(null=True)  # {"claim": "...", "start": "..."}: added to the redirect's fragment
    expires_at = NumberAttribute()  # TTL, epoch seconds

    @staticmethod
    def key(code: str) -> tuple[str, str]:
        return f"MLINK#{code}", "MLINK"


class MemberLinkRefItem(_Item):
    """pk=MLINKREF#<digest of (chain, store, member, booking, fragment)>, sk=MLINKREF: the link already minted
    for this target, so every message about a booking carries the same one."""

    code = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL, epoch seconds

    @staticmethod
    def key(digest: str) -> tuple[str, str]:
        return f"MLINKREF#{digest}", "MLINKREF"


# --- the waitlist (issue 14; chalicelib/dal/waitlist.py reads and writes these) ------------------------------
class WaitlistByMemberIndex(GlobalSecondaryIndex):
    """gsi1 `WAITMEMBER#<chain>#<member>` by `<date>#<waitlist id>`: a member's waitlist entries."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class WaitlistByDayIndex(GlobalSecondaryIndex):
    """gsi2 `WAITDAY#<store>#<store-local date>` by `<joined at UTC ISO>#<waitlist id>`: a day's line, FIFO."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class WaitlistEntryItem(_Item):
    """pk=WAITLIST#<store_id>#<waitlist_id>, sk=ENTRY: a member waiting for a time on one store-local day.

    status: waiting | offered (one offer at a time: `offer_*`) | booked | left. `missed`: the slots (slot refs)
    whose offer she let lapse, never offered to her again."""

    waitlist_id = UnicodeAttribute()
    chain_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    service_code = UnicodeAttribute()
    stylist_id = UnicodeAttribute()  # a stylist's id or "any"
    date = UnicodeAttribute()  # store-local YYYY-MM-DD
    part_of_day = UnicodeAttribute()  # morning | afternoon | evening | any
    status = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    offer_start = UTCDateTimeAttribute(null=True)
    offer_stylist_id = UnicodeAttribute(null=True)
    offer_until = UTCDateTimeAttribute(null=True)
    offered_at = UTCDateTimeAttribute(null=True)
    offer_round = NumberAttribute(null=True)
    offer_freed = JSONAttribute(null=True)  # the freed time offered (the waitlist queue's `freed` body)
    missed = string_list()
    booking_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL: a week after the day
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_member = WaitlistByMemberIndex()
    by_day = WaitlistByDayIndex()

    @staticmethod
    def key(store_id: str, waitlist_id: str) -> tuple[str, str]:
        return f"WAITLIST#{store_id}#{waitlist_id}", "ENTRY"

    @staticmethod
    def member_key(chain_id: str, member_id: str) -> str:
        return f"WAITMEMBER#{chain_id}#{member_id}"

    @staticmethod
    def day_key(store_id: str, day: str) -> str:
        return f"WAITDAY#{store_id}#{day}"


class WaitSlotItem(_Item):
    """pk=WAITSLOT#<store_id>#<slot ref>, sk=OFFER: who a freed time is offered to now (one entry at a time).

    `round` grows with each offer of the slot; `offer_until` is when the current one lapses; status offered |
    claimed."""

    waitlist_id = UnicodeAttribute()
    round = NumberAttribute()
    offer_until = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # TTL: a day after the slot's start

    @staticmethod
    def key(store_id: str, slot_ref: str) -> tuple[str, str]:
        return f"WAITSLOT#{store_id}#{slot_ref}", "OFFER"


class MessageChangeItem(_Item):
    """pk=CONV#<store_id>#<member_id>, sk=SEQ#<seq, 12 digits>: one entry of the conversation's arrival sequence
    (issue 15 §7), beside its messages: a message recorded (`message`) or a message's status moved (`status`).
    Dense from 1 and append-only: entry n+1 is put (if absent) only after entry n was read, so a consistent Query
    after any seq sees every later entry (dal/message_changes.py)."""

    seq = IntegerAttribute()
    change = UnicodeAttribute()  # message | status
    message_sk = UnicodeAttribute()
    status = UnicodeAttribute()  # the message's status this change announced
    at = UTCDateTimeAttribute()

    @staticmethod
    def sk_for(seq: int) -> str:
        return f"SEQ#{seq:012d}"


class ProviderMessageItem(_Item):
    """pk=PROVMSG#<provider>#<provider message id>, sk=PROVMSG: which outbound message a provider's receipt names,
    written when the send is recorded; a receipt that comes first is held here (`early`) until then (TTL)."""

    message_pk = UnicodeAttribute(null=True)
    message_sk = UnicodeAttribute(null=True)
    early = string_list()  # "<status>|<UTC ISO time>|<provider code>" of receipts that came before the send
    expires_at = NumberAttribute()  # TTL

    @staticmethod
    def key(provider: str, provider_message_id: str) -> tuple[str, str]:
        return f"PROVMSG#{provider}#{provider_message_id}", "PROVMSG"


class StaffPresenceItem(_Item):
    """pk=PRESENCE#<store_id>, sk=STAFF#<staff id>: one console's heartbeat (issue 17 part 3). `expires_at` is both
    the TTL and the read check (TTL deletion is lazy), so a closed console goes offline with no sweeper."""

    staff_id = UnicodeAttribute()
    role = UnicodeAttribute()
    stylist_id = UnicodeAttribute(null=True)  # the catalogue stylist this staff member is, if any
    seen_at = NumberAttribute()  # epoch seconds of the last heartbeat written
    expires_at = NumberAttribute()  # epoch seconds; TTL

    @staticmethod
    def key(store_id: str, staff_id: str) -> tuple[str, str]:
        return StaffPresenceItem.pk_for(store_id), f"STAFF#{staff_id}"

    @staticmethod
    def pk_for(store_id: str) -> str:
        return f"PRESENCE#{store_id}"
