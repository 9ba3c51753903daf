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

from chalicelib.dal.models import BookingItem, ChainItem, ContactLookupItem, EventItem, MemberItem, StoreItem
from chalicelib.errors import ConcurrentUpdate, StylistUnavailable

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


@dataclass
class BookingCommit:
    booking: BookingItem
    expected_version: int | None  # None: the booking must not exist yet
    event: EventItem
    member: MemberItem | None
    held_before: dict[str, list[str]] = field(default_factory=dict)
    hold_after: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[ContactLookupItem] = field(default_factory=list)
    coupon_update: dict[str, Any] | None = None  # redeem or release a member-care coupon with the booking


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
        return _get(ChainItem, *ChainItem.key(chain_id))

    def booking(self, chain_id: str, booking_id: str, consistent: bool = True) -> BookingItem | None:
        return _get(BookingItem, *BookingItem.key(chain_id, booking_id), consistent=consistent)

    def event(self, chain_id: str, event_id: str) -> EventItem | None:
        return _get(EventItem, *EventItem.key(chain_id, event_id), consistent=True)

    def member(self, chain_id: str, member_id: str) -> MemberItem | None:
        return _get(MemberItem, *MemberItem.key(chain_id, member_id))

    # --- writes -----------------------------------------------------------------------------------
    def record_event(self, event: EventItem) -> None:
        """Remember an acknowledged-but-ignored event so its duplicates get the same answer."""
        try:
            event.save(condition=EventItem.pk.does_not_exist())
        except Exception as exc:  # noqa: BLE001 - PutError wraps the ClientError
            if _is_conditional_failure(exc):
                raise DuplicateEvent() from None
            raise

    def commit(self, change: BookingCommit, chain_id: str) -> None:
        items: list[dict[str, Any]] = []
        roles: list[str] = []

        booking_put: dict[str, Any] = {"TableName": self._table, "Item": change.booking.serialize()}
        if change.expected_version is None:
            booking_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            booking_put["ConditionExpression"] = "version = :v"
            booking_put["ExpressionAttributeValues"] = {":v": {"N": str(change.expected_version)}}
        items.append({"Put": booking_put})
        roles.append("booking")

        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": change.event.serialize(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        roles.append("event")

        if change.member is not None:
            items.append({"Update": self._member_update(change.member)})
            roles.append("member")
        for lookup in change.lookups:
            items.append({"Put": {"TableName": self._table, "Item": lookup.serialize()}})
            roles.append("lookup")

        if change.coupon_update is not None:
            items.append({"Update": change.coupon_update})
            roles.append("coupon")

        booking_id = change.booking.booking_id
        for key in sorted(set(change.held_before) | set(change.hold_after)):
            update = self._calendar_update(
                chain_id, key, booking_id, change.held_before.get(key, []), change.hold_after.get(key, [])
            )
            if update:
                items.append({"Update": update})
                roles.append("calendar")

        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            failed = {roles[i] for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            if "event" in failed:
                raise DuplicateEvent() from None
            if "calendar" in failed:
                raise StylistUnavailable(
                    "the stylist already has a booking at that time",
                    {"booking.stylist.id": "already booked between these times", "booking.start": "overlaps"},
                ) from None
            if "booking" in failed or "coupon" in failed:
                raise ConcurrentUpdate() from None  # re-read: the coupon's answer may now differ
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                raise ConcurrentUpdate() from None
            raise

    def set_status_if_version(self, chain_id: str, booking_id: str, version: int, allowed: tuple[str, ...],
                              status: str) -> bool:
        """Record a status the worker observed (e.g. a no-show), only if nothing changed meanwhile."""
        item = BookingItem(*BookingItem.key(chain_id, booking_id))
        try:
            item.update(
                actions=[BookingItem.status.set(status)],
                condition=(BookingItem.version == version) & BookingItem.status.is_in(*allowed),
            )
        except Exception as exc:  # noqa: BLE001
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    # --- helpers ----------------------------------------------------------------------------------
    def _member_update(self, member: MemberItem) -> dict[str, Any]:
        """Upsert the contact fields a booking carries; leave everything else on the profile alone
        (a field the booking system left out is kept, not erased)."""
        data = member.serialize()
        pk, sk = data.pop("pk"), data.pop("sk")
        names, values, sets = {}, {}, []
        for i, (attr, value) in enumerate(sorted(data.items())):
            names[f"#a{i}"] = attr
            values[f":v{i}"] = value
            if attr == "marketing_consent" and value.get("BOOL") is True:
                # A booking system's "yes" only counts for a member we hold no answer for: it must never
                # undo a withdrawal ("TD", 退订) made to us later. A "no" always applies.
                sets.append(f"#a{i} = if_not_exists(#a{i}, :v{i})")
            else:
                sets.append(f"#a{i} = :v{i}")
        return {
            "TableName": self._table,
            "Key": {"pk": pk, "sk": sk},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _calendar_update(self, chain_id: str, key: str, booking_id: str, before: list[str],
                         after: list[str]) -> dict[str, Any] | None:
        acquire = sorted(set(after) - set(before))
        release = sorted(set(before) - set(after))
        if not acquire and not release:
            return None
        stylist_id, day = key.rsplit("|", 1)
        names: dict[str, str] = {}
        conditions, sets, removes = [], [], []
        for hhmm in acquire:
            names[f"#s{hhmm}"] = f"s{hhmm}"
            sets.append(f"#s{hhmm} = :me")
            conditions.append(f"(attribute_not_exists(#s{hhmm}) OR #s{hhmm} = :me)")
        for hhmm in release:
            # Only this booking can hold these buckets: every claim is conditional (see module doc).
            names[f"#s{hhmm}"] = f"s{hhmm}"
            removes.append(f"#s{hhmm}")
        expression = " ".join(
            part for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            ) if part
        )
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": f"STYLIST#{chain_id}#{stylist_id}"}, "sk": {"S": f"DAY#{day}"}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if acquire:
            update["ConditionExpression"] = " AND ".join(conditions)
            update["ExpressionAttributeValues"] = {":me": {"S": booking_id}}
        return update


def _get(model: type, pk: str, sk: str, consistent: bool = False):
    try:
        return model.get(pk, sk, consistent_read=consistent)
    except model.DoesNotExist:
        return None


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause", None) or exc.__cause__
    code = getattr(exc, "cause_response_code", None)
    if code is None and isinstance(cause, ClientError):
        code = cause.response["Error"]["Code"]
    return code == "ConditionalCheckFailedException"
