"""Bookings, their webhook events and the stylists' calendars.

A booking change is one DynamoDB transaction: the booking (conditional on the version that was read),
the event record (conditional on being new: de-duplication), the member profile, and the stylist's
day calendars. A calendar is one item per (stylist, UTC day) with one attribute per 5-minute bucket
(`s1500` = booking id); a booking claims its buckets with `attribute_not_exists(sHHMM) OR sHHMM =
:me`, so two overlapping bookings can never both commit -- the overlap check is the write itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.models import Model

from chalicelib.dal.conditions import (
    ITEM_CONDITION_FAILED,
    NEW_ITEM,
    TRANSACTION_CANCELED,
    cancellation_reasons,
    error_code,
    failed_items,
    is_conditional_failure,
    put_new,
)
from chalicelib.dal.models import (
    BookingItem,
    ChainItem,
    ContactLookupItem,
    CouponItem,
    EventItem,
    MemberItem,
    MemberSnapshot,
    StoreItem,
    StylistDayItem,
    whole,
    wire_key,
)
from chalicelib.errors import ConcurrentUpdate, StylistUnavailable
from chalicelib.observability import logger

BUCKET_MINUTES = 5


def slot_buckets(stylist_id: str, start: datetime, minutes: int) -> dict[str, list[str]]:
    """The 5-minute buckets [start, start+minutes) covers, as {"<stylist>|<UTC date>": ["HHMM"]}.

    The start rounds down and the end rounds up, so off-grid times are never double-booked (two
    bookings that merely touch at an off-grid minute may be refused; salons book on a 5-minute grid).
    """
    start = start.astimezone(UTC)
    first = start.replace(minute=start.minute - start.minute % BUCKET_MINUTES, second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    buckets: dict[str, list[str]] = {}
    cursor = first
    while cursor < end:
        buckets.setdefault(f"{stylist_id}|{cursor.date().isoformat()}", []).append(cursor.strftime("%H%M"))
        cursor += timedelta(minutes=BUCKET_MINUTES)
    return buckets


@dataclass(frozen=True)
class MemberContacts:
    """Where a member's messages come from, for the contact lookups a booking writes: her addresses as keyed
    hashes (privacy.LookupHasher; the address itself is never stored), and the store of the booking."""

    chain_id: str
    member_id: str
    store_id: str
    at: datetime
    phone_hash: str | None = None
    wechat_openid_hash: str | None = None


@dataclass(frozen=True)
class CouponHandover:
    """A member-care coupon changing hands with a booking's commit (care/coupons.py decides which way)."""

    coupon: CouponItem
    booking_id: str
    redeem: bool  # True: the booking takes the code; False: the booking (cancelled) gives it back
    at: datetime


@dataclass
class BookingCommit:
    booking: BookingItem
    expected_version: int | None  # None: the booking must not exist yet
    held_before: dict[str, list[str]] = field(default_factory=dict)
    hold_after: dict[str, list[str]] = field(default_factory=dict)
    coupon: CouponHandover | None = None  # redeem or release a member-care coupon with the booking
    # Contact lookups ride along when the booking is written in a transaction anyway (a new booking: one write
    # request fewer); otherwise the caller puts them after the commit. `lookups_written` says which happened.
    contacts: MemberContacts | None = None
    lookups_written: bool = False
    # Report counter updates (dal/report_counters.py `updates`): inside the transaction when the commit is one,
    # else written right after the conditional put (a crash in between loses that count, never doubles it; a
    # failed one is logged, never the booking's failure).
    also: list[dict[str, Any]] = field(default_factory=list)


class DuplicateEvent(Exception):
    pass


class BookingRepository:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._ddb = dynamodb_client
        self._table = table_name

    # --- reads ------------------------------------------------------------------------------------
    def store(self, store_id: str) -> StoreItem | None:
        return _get(StoreItem, *StoreItem.key(store_id))

    def chain(self, chain_id: str) -> ChainItem | None:
        return chain_of(chain_id)

    def booking(self, chain_id: str, booking_id: str, consistent: bool = True) -> BookingItem | None:
        return _get(BookingItem, *BookingItem.key(chain_id, booking_id), consistent=consistent)

    def event(self, chain_id: str, event_id: str) -> EventItem | None:
        """Eventually consistent: a record just written may be missed, and the booking's `recent_events` (read
        consistently next) then tells that the event was applied."""
        return _get(EventItem, *EventItem.key(chain_id, event_id))

    def member(self, chain_id: str, member_id: str, consistent: bool = False) -> MemberItem | None:
        return _get(MemberItem, *MemberItem.key(chain_id, member_id), consistent=consistent)

    def store_day(self, store_id: str, day: str, limit: int | None = 500) -> list[BookingItem]:
        """A store's bookings starting on one store-local day, by start time (gsi4; eventually consistent).
        `limit` None: all of them, page by page."""
        return whole(
            BookingItem, BookingItem.by_store_day.query(BookingItem.store_day_key(store_id, day), limit=limit)
        )

    def member_bookings(self, chain_id: str, member_id: str, limit: int = 100) -> list[BookingItem]:
        """A member's bookings, latest start first (gsi3, keys only, then BatchGetItem; eventually consistent)."""
        return whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id), scan_index_forward=False, limit=limit
            ),
        )

    def calendars(self, chain_id: str, keys: list[tuple[str, str]]) -> dict[str, dict[str, list[str]]]:
        """The held buckets of stylists' day calendars, {stylist_id: {UTC date: ["HHMM", ...]}}, for (stylist id,
        UTC date) keys: BatchGetItem, 100 keys a request (eventually consistent; the claim itself decides)."""
        held: dict[str, dict[str, list[str]]] = {}
        wire = [StylistDayItem.wire_key(chain_id, stylist_id, day) for stylist_id, day in dict.fromkeys(keys)]
        for first in range(0, len(wire), 100):
            request: dict[str, Any] = {self._table: {"Keys": wire[first : first + 100]}}
            for _ in range(8):
                got = self._ddb.batch_get_item(RequestItems=request)
                for item in got.get("Responses", {}).get(self._table, []):
                    stylist_id, day = StylistDayItem.of_key(item)
                    held.setdefault(stylist_id, {})[day] = StylistDayItem.held(item)
                request = got.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise ConcurrentUpdate()  # throttled throughout: the caller answers 503, safe to retry
        return held

    # --- items of a change -------------------------------------------------------------------------
    @staticmethod
    def booking_from_event(
        chain_id: str,
        payload: Any,
        *,
        status: str,
        version: int,
        start: datetime,
        occurred: datetime,
        current: BookingItem | None,
        now: datetime,
    ) -> BookingItem:
        """The booking as a webhook event's payload (models/booking_event.py `Booking`) makes it, at `version`,
        keeping what only Chairside knows of the `current` one (when it was booked, completed, her feedback)."""
        member = payload.member
        return BookingItem(
            *BookingItem.key(chain_id, payload.id),
            chain_id=chain_id,
            booking_id=payload.id,
            store_id=payload.store_id,
            status=status,
            version=version,
            start=start,
            duration_minutes=payload.duration_minutes,
            buffer_minutes=payload.buffer_minutes or None,
            service_code=payload.service.code,
            service_name=payload.service.name,
            category=payload.service.category,
            stylist_id=payload.stylist.id,
            stylist_name=payload.stylist.name,
            member=MemberSnapshot(
                id=member.id,
                name=member.name,
                phone=member.phone,
                email=member.email,
                locale=member.locale,
                wechat_openid=member.wechat_openid,
            ),
            price_amount=payload.price.amount if payload.price else None,
            price_currency=payload.price.currency if payload.price else None,
            notes=payload.notes or None,
            booked_at=current.booked_at if current else now,
            last_event_at=occurred,
            completed_at=now if status == "completed" else (current.completed_at if current else None),
            feedback_sentiment=current.feedback_sentiment if current else None,
            feedback_score=current.feedback_score if current else None,
            feedback_message_id=current.feedback_message_id if current else None,
            feedback_at=current.feedback_at if current else None,
            feedback_coupon_code=current.feedback_coupon_code if current else None,
            gsi3pk=BookingItem.member_key(chain_id, member.id),
            gsi3sk=start.isoformat(),
        )

    @staticmethod
    def copy(booking: BookingItem) -> BookingItem:
        """A detached copy of a booking read, to become its next version."""
        return BookingItem.from_raw_data(booking.serialize())

    # --- writes -----------------------------------------------------------------------------------
    def record_event(
        self,
        chain_id: str,
        event_id: str,
        *,
        booking_id: str,
        version: int,
        status_code: int,
        response: dict[str, Any],
        keep_until: datetime,
        keep_existing: bool = False,
    ) -> None:
        """Remember an event's answer (until `keep_until`) so its duplicates get the same one. The first record
        stands: DuplicateEvent when there is one already, or nothing when `keep_existing`."""
        event = EventItem(
            *EventItem.key(chain_id, event_id),
            booking_id=booking_id,
            version=version,
            status_code=status_code,
            response=response,
            expires_at=int(keep_until.timestamp()),
        )
        if not put_new(event) and not keep_existing:
            raise DuplicateEvent()

    def put_lookups(self, contacts: MemberContacts) -> None:
        """Contact lookups are plain idempotent puts (the same key and values again change nothing)."""
        for lookup in _lookup_items(contacts):
            lookup.save()

    def commit(self, change: BookingCommit, chain_id: str) -> None:
        """Write the booking, conditional on the version read. A change of the stylist's calendar (or of a coupon)
        goes with it in one transaction; a status-only change is a single conditional put, half the price."""
        items: list[dict[str, Any]] = []
        roles: list[str] = []

        booking_put: dict[str, Any] = {"TableName": self._table, "Item": change.booking.serialize()}
        if change.expected_version is None:
            booking_put["ConditionExpression"] = NEW_ITEM
        else:
            booking_put["ConditionExpression"] = "version = :v"
            booking_put["ExpressionAttributeValues"] = {":v": {"N": str(change.expected_version)}}
        items.append({"Put": booking_put})
        roles.append("booking")

        if change.coupon is not None:
            items.append({"Update": self._coupon_update(change.coupon)})
            roles.append("coupon")

        booking_id = change.booking.booking_id
        for key in sorted(set(change.held_before) | set(change.hold_after)):
            update = self._calendar_update(
                chain_id, key, booking_id, change.held_before.get(key, []), change.hold_after.get(key, [])
            )
            if update:
                items.append({"Update": update})
                roles.append("calendar" if "ConditionExpression" in update else "release")

        if all(
            role in ("booking", "release") for role in roles
        ):  # (no lookups: they are not needed to decide)
            # Nothing to claim: the booking alone decides (a conditional put), and buckets it gives up are
            # released after it -- only this booking can hold them, so a release that a crash left undone is a
            # hold on time nobody else had, which a duplicate of the event releases (release_leftovers).
            try:
                self._ddb.put_item(**booking_put)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    raise ConcurrentUpdate() from None
                raise
            for entry in items[1:]:
                self._ddb.update_item(**entry["Update"])
            self._write_counts(change.also)
            return
        # Inside the transaction (2 WRU each rather than 1 after it): a new booking stays within its write
        # requests (make bench: <= 3 per booking.created) and its count is all or nothing with it.
        for update in change.also:
            items.append({"Update": update})
            roles.append("report")
        lookups = _lookup_items(change.contacts) if change.contacts is not None else []
        for lookup in lookups:
            items.append({"Put": {"TableName": self._table, "Item": lookup.serialize()}})
            roles.append("lookup")
        for attempt in range(3):
            try:
                self._ddb.transact_write_items(TransactItems=items)
                break
            except ClientError as exc:
                if error_code(exc) != TRANSACTION_CANCELED:
                    raise
                reasons = cancellation_reasons(exc)
                failed = {roles[i] for i in failed_items(exc)}
                if (
                    failed
                    and failed <= {"calendar", "holder"}
                    and attempt < 2
                    and self._take_over_stale(chain_id, items, roles, reasons, booking_id)
                ):
                    continue  # the time was held only by bookings that have let it go: claim it over them
                error = self._error_for(failed, reasons)
                if error is None:
                    raise
                raise error from None
        change.lookups_written = bool(lookups)

    def _write_counts(self, updates: list[dict[str, Any]]) -> None:
        """The report counter updates of a change that was written: a failure is logged, never the change's."""
        for update in updates:
            try:
                self._ddb.update_item(**update)
            except Exception:  # noqa: BLE001 - a lost count is logged, never a failed booking
                logger.exception("report counter not written")

    @staticmethod
    def _error_for(failed: set[str], reasons: list[dict]) -> Exception | None:
        """What a cancelled transaction means; None: nothing known (the ClientError stands)."""
        if failed & {
            "calendar",
            "holder",
        }:  # (a release has no condition; a holder that kept changing counts)
            return StylistUnavailable(
                "the stylist already has a booking at that time",
                {"booking.stylist.id": "already booked between these times", "booking.start": "overlaps"},
            )
        if failed & {"booking", "coupon"}:
            return ConcurrentUpdate()  # re-read: the coupon's answer may now differ
        if any(r.get("Code") == "TransactionConflict" for r in reasons):
            return ConcurrentUpdate()
        return None

    def _take_over_stale(
        self, chain_id: str, items: list[dict], roles: list[str], reasons: list[dict], booking_id: str
    ) -> bool:
        """A claim failed on buckets other bookings hold. When every such holder has let that time go (a completed
        visit leaves its buckets on the calendar rather than paying a write to free them), rewrite the claim to
        take those buckets over -- conditional on each bucket still naming its holder, with a ConditionCheck
        that each holder is still at the version read -- and say so (True). False: a real overlap."""
        holders: dict[str, BookingItem | None] = {}
        recheck = any(
            roles[i] == "holder" and r.get("Code") == ITEM_CONDITION_FAILED for i, r in enumerate(reasons)
        )
        for i, reason in enumerate(reasons):
            if roles[i] != "calendar" or not (recheck or reason.get("Code") == ITEM_CONDITION_FAILED):
                continue
            update = items[i]["Update"]
            update["ExpressionAttributeValues"] = {
                ":me": {"S": booking_id}
            }  # tokens of an earlier attempt go
            stored = self._ddb.get_item(TableName=self._table, Key=update["Key"], ConsistentRead=True).get(
                "Item", {}
            )
            stylist_id, day = StylistDayItem.of_key(update["Key"])
            conditions = []
            for name, attribute in sorted(update["ExpressionAttributeNames"].items()):
                holder = StylistDayItem.holder(stored, attribute)
                if holder is None or holder == booking_id:
                    conditions.append(f"(attribute_not_exists({name}) OR {name} = :me)")
                    continue
                if holder not in holders:
                    holders[holder] = self.booking(chain_id, holder)
                held = holders[holder]
                if held is not None and attribute[1:] in held.slots.get(f"{stylist_id}|{day}", []):
                    return False  # the holder still holds it: a real overlap
                token = f":h{len(update['ExpressionAttributeValues'])}"
                update["ExpressionAttributeValues"][token] = {"S": holder}
                conditions.append(f"{name} = {token}")
            update["ConditionExpression"] = " AND ".join(conditions)
        for i in reversed(range(len(roles))):  # checks of an earlier attempt: one operation per item
            if roles[i] == "holder":
                del items[i], roles[i]
        for holder, held in holders.items():
            check: dict[str, Any] = {
                "TableName": self._table,
                "Key": wire_key(*BookingItem.key(chain_id, holder)),
            }
            if held is None:
                check["ConditionExpression"] = NEW_ITEM
            else:
                check["ConditionExpression"] = "version = :v"
                check["ExpressionAttributeValues"] = {":v": {"N": str(int(held.version))}}
            items.append({"ConditionCheck": check})
            roles.append("holder")
        return True

    def release_leftovers(self, chain_id: str, booking: BookingItem) -> None:
        """Release calendar buckets of the booking's time that still name it although it holds none of them
        (a release after a status-only commit that did not happen). Each removal is conditional on the bucket
        still naming this booking. A completed visit keeps its buckets on purpose (see `_take_over_stale`)."""
        if booking.status == "completed":
            return
        mine = slot_buckets(booking.stylist_id, booking.start, booking.held_minutes)
        for key, buckets in mine.items():
            held = set(booking.slots.get(key, []))
            stylist_id, day = key.rsplit("|", 1)
            calendar_key = StylistDayItem.wire_key(chain_id, stylist_id, day)
            item = self._ddb.get_item(TableName=self._table, Key=calendar_key, ConsistentRead=True).get(
                "Item", {}
            )
            left = [
                h for h in buckets if h not in held and StylistDayItem.holder(item, h) == booking.booking_id
            ]
            if not left:
                continue
            try:
                self._ddb.update_item(
                    TableName=self._table,
                    Key=calendar_key,
                    UpdateExpression="REMOVE " + ", ".join(f"#s{h}" for h in left),
                    ConditionExpression=" AND ".join(f"#s{h} = :me" for h in left),
                    ExpressionAttributeNames={f"#s{h}": StylistDayItem.bucket(h) for h in left},
                    ExpressionAttributeValues={":me": {"S": booking.booking_id}},
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise

    def set_status_if_version(
        self,
        chain_id: str,
        booking_id: str,
        version: int,
        allowed: tuple[str, ...],
        status: str,
        also: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record a status the worker observed (e.g. a no-show), only if nothing changed meanwhile; then the
        report counter updates `also` (only when it moved: a duplicate counts nothing)."""
        item = BookingItem(*BookingItem.key(chain_id, booking_id))
        try:
            item.update(
                actions=[BookingItem.status.set(status)],
                condition=(BookingItem.version == version) & BookingItem.status.is_in(*allowed),
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        self._write_counts(also or [])
        return True

    # --- helpers ----------------------------------------------------------------------------------
    def _calendar_update(
        self, chain_id: str, key: str, booking_id: str, before: list[str], after: list[str]
    ) -> dict[str, Any] | None:
        acquire = sorted(set(after) - set(before))
        release = sorted(set(before) - set(after))
        if not acquire and not release:
            return None
        stylist_id, day = key.rsplit("|", 1)
        names: dict[str, str] = {}
        conditions, sets, removes = [], [], []
        for hhmm in acquire:
            names[f"#s{hhmm}"] = StylistDayItem.bucket(hhmm)
            sets.append(f"#s{hhmm} = :me")
            conditions.append(f"(attribute_not_exists(#s{hhmm}) OR #s{hhmm} = :me)")
        for hhmm in release:
            # Only this booking can hold these buckets: every claim is conditional (see module doc).
            names[f"#s{hhmm}"] = StylistDayItem.bucket(hhmm)
            removes.append(f"#s{hhmm}")
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": StylistDayItem.wire_key(chain_id, stylist_id, day),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if acquire:
            update["ConditionExpression"] = " AND ".join(conditions)
            update["ExpressionAttributeValues"] = {":me": {"S": booking_id}}
        return update

    def _coupon_update(self, handover: CouponHandover) -> dict[str, Any]:
        """The coupon's transaction Update: redeem an unredeemed code, or release the one this booking holds."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": wire_key(handover.coupon.pk, handover.coupon.sk),
        }
        if not handover.redeem:
            return {
                **update,
                "UpdateExpression": "REMOVE redeemed_at, redeemed_booking_id",
                "ConditionExpression": "redeemed_booking_id = :b",
                "ExpressionAttributeValues": {":b": {"S": handover.booking_id}},
            }
        return {
            **update,
            "UpdateExpression": "SET redeemed_at = :at, redeemed_booking_id = :b",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(redeemed_booking_id)",
            "ExpressionAttributeValues": {
                ":at": {"S": CouponItem.redeemed_at.serialize(handover.at)},
                ":b": {"S": handover.booking_id},
            },
        }


def chain_of(chain_id: str) -> ChainItem | None:
    """A chain's item (its journey overrides, its booking system's webhook URL); None when unknown."""
    return _get(ChainItem, *ChainItem.key(chain_id))


def _lookup_items(contacts: MemberContacts) -> list[ContactLookupItem]:
    """One lookup item per channel address, keyed by the address's keyed hash (never the address itself)."""
    hashes = [("PHONE", contacts.phone_hash), ("WXOPENID", contacts.wechat_openid_hash)]
    return [
        ContactLookupItem(
            *ContactLookupItem.key(kind, hashed, contacts.chain_id, contacts.member_id),
            chain_id=contacts.chain_id,
            member_id=contacts.member_id,
            store_id=contacts.store_id,
            updated_at=contacts.at,
        )
        for kind, hashed in hashes
        if hashed
    ]


def _get[M: Model](model: type[M], pk: str, sk: str, consistent: bool = False) -> M | None:
    try:
        return model.get(pk, sk, consistent_read=consistent)
    except model.DoesNotExist:
        return None
