"""The waitlist's items (dal/models.py `WaitlistEntryItem`, `WaitSlotItem`): entries by store-local day in
waiting order and by member, the one-offer-at-a-time hold of a freed slot, and whether a stylist's calendar is
free at a time. Every write is conditional, so a retried worker or request changes nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.dal.bookings import slot_buckets
from chalicelib.dal.conditions import is_conditional_failure, put_new, update_if
from chalicelib.dal.models import StylistDayItem, WaitlistEntryItem, WaitSlotItem

ENTRY_KEPT = timedelta(days=7)  # after its day, an entry lives on this long (TTL)
SLOT_KEPT = timedelta(days=1)  # after its start, a slot's offer record lives on this long (TTL)
DAY_LIMIT = 500


@dataclass(frozen=True)
class NewEntry:
    waitlist_id: str
    chain_id: str
    store_id: str
    member_id: str
    service_code: str
    stylist_id: str
    date: str
    part_of_day: str
    joined_at: datetime
    keep_until: datetime


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class WaitlistRepository:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._ddb = dynamodb_client
        self._table = table_name

    # --- entries -------------------------------------------------------------------------------------
    @staticmethod
    def _day_sort(joined_at: datetime, waitlist_id: str) -> str:
        return f"{joined_at.astimezone(UTC).isoformat()}#{waitlist_id}"

    def add(self, new: NewEntry) -> bool:
        """Put the entry unless its id is taken (the same request again): True when written."""
        item = WaitlistEntryItem(
            *WaitlistEntryItem.key(new.store_id, new.waitlist_id),
            waitlist_id=new.waitlist_id,
            chain_id=new.chain_id,
            store_id=new.store_id,
            member_id=new.member_id,
            service_code=new.service_code,
            stylist_id=new.stylist_id,
            date=new.date,
            part_of_day=new.part_of_day,
            status="waiting",
            joined_at=new.joined_at,
            updated_at=new.joined_at,
            expires_at=_epoch(new.keep_until),
            gsi1pk=WaitlistEntryItem.member_key(new.chain_id, new.member_id),
            gsi1sk=f"{new.date}#{new.waitlist_id}",
            gsi2pk=WaitlistEntryItem.day_key(new.store_id, new.date),
            gsi2sk=self._day_sort(new.joined_at, new.waitlist_id),
        )
        return put_new(item)

    @staticmethod
    def entry(store_id: str, waitlist_id: str) -> WaitlistEntryItem | None:
        try:
            return WaitlistEntryItem.get(*WaitlistEntryItem.key(store_id, waitlist_id), consistent_read=True)
        except WaitlistEntryItem.DoesNotExist:
            return None

    @staticmethod
    def of_member(chain_id: str, member_id: str, from_day: str) -> list[WaitlistEntryItem]:
        """Her entries from `from_day` on (gsi1; eventually consistent), by day."""
        return list(
            WaitlistEntryItem.by_member.query(
                WaitlistEntryItem.member_key(chain_id, member_id),
                WaitlistEntryItem.gsi1sk >= from_day,
                limit=DAY_LIMIT,
            )
        )

    @staticmethod
    def of_day(store_id: str, day: str) -> list[WaitlistEntryItem]:
        """A store's entries of one store-local day in the order they joined (gsi2; eventually consistent)."""
        return list(WaitlistEntryItem.by_day.query(WaitlistEntryItem.day_key(store_id, day), limit=DAY_LIMIT))

    def rejoin(self, entry: WaitlistEntryItem, now: datetime) -> bool:
        """A member who left asks again: back in line, at the end (joined now)."""
        return update_if(
            entry,
            [
                WaitlistEntryItem.status.set("waiting"),
                WaitlistEntryItem.joined_at.set(now),
                WaitlistEntryItem.updated_at.set(now),
                WaitlistEntryItem.gsi2sk.set(self._day_sort(now, entry.waitlist_id)),
                WaitlistEntryItem.missed.remove(),
            ],
            WaitlistEntryItem.status == "left",
        )

    def leave(self, entry: WaitlistEntryItem, now: datetime) -> bool:
        return update_if(
            entry,
            [WaitlistEntryItem.status.set("left"), WaitlistEntryItem.updated_at.set(now)],
            WaitlistEntryItem.status.is_in("waiting", "offered"),
        )

    def offer(
        self,
        entry: WaitlistEntryItem,
        *,
        start: datetime,
        stylist_id: str,
        until: datetime,
        round: int,
        freed: dict[str, Any],
        now: datetime,
    ) -> bool:
        """waiting -> offered, naming the offer (one at a time)."""
        return update_if(
            entry,
            [
                WaitlistEntryItem.status.set("offered"),
                WaitlistEntryItem.offer_start.set(start),
                WaitlistEntryItem.offer_stylist_id.set(stylist_id),
                WaitlistEntryItem.offer_until.set(until),
                WaitlistEntryItem.offer_round.set(round),
                WaitlistEntryItem.offer_freed.set(freed),
                WaitlistEntryItem.offered_at.set(now),
                WaitlistEntryItem.updated_at.set(now),
            ],
            WaitlistEntryItem.status == "waiting",
        )

    def lapse(self, entry: WaitlistEntryItem, slot_ref: str, round: int, now: datetime) -> bool:
        """offered -> waiting after an unclaimed offer; that slot is never offered to her again."""
        return update_if(
            entry,
            [
                WaitlistEntryItem.status.set("waiting"),
                WaitlistEntryItem.missed.set(list(entry.missed or []) + [slot_ref]),
                WaitlistEntryItem.offer_start.remove(),
                WaitlistEntryItem.offer_stylist_id.remove(),
                WaitlistEntryItem.offer_until.remove(),
                WaitlistEntryItem.offer_round.remove(),
                WaitlistEntryItem.offer_freed.remove(),
                WaitlistEntryItem.updated_at.set(now),
            ],
            (WaitlistEntryItem.status == "offered") & (WaitlistEntryItem.offer_round == round),
        )

    def booked(self, entry: WaitlistEntryItem, booking_id: str, now: datetime) -> bool:
        return update_if(
            entry,
            [
                WaitlistEntryItem.status.set("booked"),
                WaitlistEntryItem.booking_id.set(booking_id),
                WaitlistEntryItem.updated_at.set(now),
            ],
            WaitlistEntryItem.status.is_in("offered", "waiting"),
        )

    # --- a freed slot's offer --------------------------------------------------------------------------
    @staticmethod
    def slot(store_id: str, slot_ref: str) -> WaitSlotItem | None:
        try:
            return WaitSlotItem.get(*WaitSlotItem.key(store_id, slot_ref), consistent_read=True)
        except WaitSlotItem.DoesNotExist:
            return None

    @staticmethod
    def hold_slot(
        store_id: str,
        slot_ref: str,
        *,
        waitlist_id: str,
        round: int,
        until: datetime,
        after_round: int | None,
        slot_start: datetime,
    ) -> bool:
        """Offer the slot to one entry: only when nobody holds it (`after_round` None) or it is still at the
        round read (so two deliveries of one freed time cannot offer it twice)."""
        item = WaitSlotItem(
            *WaitSlotItem.key(store_id, slot_ref),
            waitlist_id=waitlist_id,
            round=round,
            offer_until=until,
            status="offered",
            expires_at=_epoch(slot_start + SLOT_KEPT),
        )
        return put_new(item, or_if=None if after_round is None else WaitSlotItem.round == after_round)

    @staticmethod
    def slot_claimed(store_id: str, slot_ref: str, round: int) -> None:
        item = WaitSlotItem(*WaitSlotItem.key(store_id, slot_ref))
        try:
            item.update(actions=[WaitSlotItem.status.set("claimed")], condition=WaitSlotItem.round == round)
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise

    # --- the stylist's calendar ------------------------------------------------------------------------
    def stylist_free(self, chain_id: str, stylist_id: str, start: datetime, minutes: int) -> bool:
        """No booking holds any 5-minute bucket of [start, start + minutes) on her calendar (consistent reads:
        one GetItem per UTC day touched)."""
        for day_key, hhmms in slot_buckets(stylist_id, start, minutes).items():
            day = day_key.split("|", 1)[1]
            raw = self._ddb.get_item(
                TableName=self._table,
                Key=StylistDayItem.wire_key(chain_id, stylist_id, day),
                ConsistentRead=True,
                ProjectionExpression=", ".join(f"#b{i}" for i in range(len(hhmms))),
                ExpressionAttributeNames={f"#b{i}": StylistDayItem.bucket(h) for i, h in enumerate(hhmms)},
            ).get("Item", {})
            if any(StylistDayItem.holder(raw, h) for h in hhmms):
                return False
        return True
