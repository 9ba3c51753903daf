"""Everything held about one member of a chain, read for an export and removed for an erasure.

Queries only, never a Scan: the member's bookings through gsi1 (`MEMBERBK#<chain>#<member>`), the chain's stores
through gsi1 (`CHAINSTORES#<chain>`), each conversation as its own partition (`CONV#<store>#<member>`: messages, META, arrival sequence), and the
profile, contact lookups and sign-in claims (`MEMBERCLAIM#...`) by their full keys, her care records (occasion claims and the frequency ledger) as
their own partition (`CARE#<chain>#<member>`), her tag memberships and coupons by their full keys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import (
    BookingItem,
    ContactLookupItem,
    ConversationItem,
    CouponItem,
    MemberClaimItem,
    MemberItem,
    MemberSnapshot,
    MessageChangeItem,
    MessageItem,
    ProviderMessageItem,
    StoreItem,
    TagMemberItem,
    whole,
)
from chalicelib.errors import ConcurrentUpdate

ERASED = "erased"  # what an erased booking's member snapshot keeps as its id
BATCH = 25  # BatchWriteItem's limit


@dataclass
class Conversation:
    store_id: str
    meta: ConversationItem | None
    messages: list[MessageItem] = field(default_factory=list)  # oldest first
    changes: list[tuple[str, str]] = field(default_factory=list)  # its arrival sequence's keys (issue 15)

    @property
    def empty(self) -> bool:
        return self.meta is None and not self.messages


class MemberDataRepository:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._ddb = dynamodb_client
        self._table = table_name

    # --- reads ------------------------------------------------------------------------------------
    def member(self, chain_id: str, member_id: str) -> MemberItem | None:
        try:
            return MemberItem.get(*MemberItem.key(chain_id, member_id), consistent_read=True)
        except MemberItem.DoesNotExist:
            return None

    def bookings(self, chain_id: str, member_id: str) -> list[BookingItem]:
        """Every booking of the member (gsi1, all pages), oldest start first."""
        key = BookingItem.member_key(chain_id, member_id)
        found = {
            b.pk: b for b in BookingItem.by_member_before.query(key)
        }  # until ops.reindex ran in every region
        found.update((b.pk, b) for b in whole(BookingItem, BookingItem.by_member.query(key)))
        return list(found.values())

    def booking(self, chain_id: str, booking_id: str) -> BookingItem | None:
        try:
            return BookingItem.get(*BookingItem.key(chain_id, booking_id), consistent_read=True)
        except BookingItem.DoesNotExist:
            return None

    def chain_store_ids(self, chain_id: str) -> list[str]:
        """The chain's stores in this region (gsi1 `CHAINSTORES#<chain>`)."""
        return [store.store_id for store in StoreItem.by_chain.query(StoreItem.chain_key(chain_id))]

    def conversation(self, store_id: str, member_id: str) -> Conversation:
        """The conversation's META and every message of it (one partition, all pages)."""
        pk = MessageItem.pk_for(store_id, member_id)
        try:
            meta = ConversationItem.get(*ConversationItem.key(store_id, member_id), consistent_read=True)
        except ConversationItem.DoesNotExist:
            meta = None
        messages = list(MessageItem.query(pk, MessageItem.sk.startswith("MSG#"), consistent_read=True))
        changes = [
            (c.pk, c.sk)
            for c in MessageChangeItem.query(
                pk,
                MessageChangeItem.sk.startswith("SEQ#"),
                consistent_read=True,
                attributes_to_get=["pk", "sk"],
            )
        ]
        return Conversation(store_id, meta, messages, changes)

    def care_records(self, chain_id: str, member_id: str) -> list[dict[str, Any]]:
        """Her occasion claims and frequency ledger (one partition, all pages), as DynamoDB items."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"CARE#{chain_id}#{member_id}"}},
        }
        while True:
            answer = self._ddb.query(**query)
            items += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return items
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # --- erasure ----------------------------------------------------------------------------------
    def delete_care_records(self, records: list[dict[str, Any]]) -> int:
        self._delete_all([{"pk": r["pk"], "sk": r["sk"]} for r in records])
        return len(records)

    def delete_tag_membership(self, chain_id: str, tag: str, member_id: str) -> bool:
        return self._delete(*TagMemberItem.key(chain_id, tag, member_id))

    def delete_coupon(self, chain_id: str, code: str) -> bool:
        return self._delete(*CouponItem.key(chain_id, code))

    def anonymize_booking(self, booking: BookingItem) -> None:
        """Keep what the salon's calendar needs (status, start, duration, service, stylist, held slots, version);
        drop the member snapshot, the digest of her contact details (`contact_ref`), notes, price and feedback, unlink the booking from the member (gsi3, and gsi1 before 2026-11) and
        clear its pending steps. The version moves on, so a step planned before (a schedule that fired, a
        queued message, a replayed booking event) is stale for the sending worker. ConcurrentUpdate when the
        booking changed since it was read."""
        version = int(booking.version)
        try:
            booking.update(
                actions=[
                    BookingItem.version.set(version + 1),
                    BookingItem.pending.set([]),
                    BookingItem.member.set(MemberSnapshot(id=ERASED, name="")),
                    BookingItem.gsi3pk.remove(),
                    BookingItem.gsi3sk.remove(),
                    BookingItem.gsi1pk.remove(),
                    BookingItem.gsi1sk.remove(),
                    BookingItem.notes.remove(),
                    BookingItem.contact_ref.remove(),  # a digest of her contact details, keyed or (older) not
                    BookingItem.price_amount.remove(),
                    BookingItem.price_currency.remove(),
                    BookingItem.feedback_sentiment.remove(),
                    BookingItem.feedback_score.remove(),
                    BookingItem.feedback_message_id.remove(),
                    BookingItem.feedback_at.remove(),
                    BookingItem.feedback_coupon_code.remove(),
                ],
                condition=BookingItem.version == version,
            )
        except Exception as exc:  # UpdateError wraps the ClientError
            if is_conditional_failure(exc):
                raise ConcurrentUpdate() from None
            raise

    def delete_conversation(self, conversation: Conversation) -> tuple[int, int]:
        """Delete the messages and the META of a conversation: (messages, conversations) deleted."""
        keys = [{"pk": {"S": m.pk}, "sk": {"S": m.sk}} for m in conversation.messages]
        keys += [
            {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in conversation.changes
        ]  # its arrival sequence
        keys += [  # what makes its sends findable by provider id (receipts)
            {"pk": {"S": pk}, "sk": {"S": sk}}
            for pk, sk in (
                ProviderMessageItem.key(m.provider, m.provider_message_id)
                for m in conversation.messages
                if m.direction == "out" and m.provider and m.provider_message_id
            )
        ]
        if conversation.meta is not None:
            keys.append({"pk": {"S": conversation.meta.pk}, "sk": {"S": conversation.meta.sk}})
        self._delete_all(keys)
        return len(conversation.messages), int(conversation.meta is not None)

    def delete_lookup(self, kind: str, hashed_address: str, chain_id: str, member_id: str) -> bool:
        pk, sk = ContactLookupItem.key(kind, hashed_address, chain_id, member_id)
        return self._delete(pk, sk)

    def delete_claim(self, chain_id: str, kind: str, hashed_address: str, member_id: str) -> bool:
        """The chain's sign-in claim on an address (MemberClaimItem), when it names this member."""
        try:
            MemberClaimItem(*MemberClaimItem.key(chain_id, kind, hashed_address)).delete(
                condition=MemberClaimItem.member_id == member_id
            )
        except Exception as exc:  # DeleteError wraps the ClientError
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def delete_member(self, chain_id: str, member_id: str) -> bool:
        return self._delete(*MemberItem.key(chain_id, member_id))

    # --- helpers ----------------------------------------------------------------------------------
    def _delete(self, pk: str, sk: str) -> bool:
        """Delete one item; True when there was one."""
        answer = self._ddb.delete_item(
            TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ReturnValues="ALL_OLD"
        )
        return bool(answer.get("Attributes"))

    def _delete_all(self, keys: list[dict[str, Any]]) -> None:
        for start in range(0, len(keys), BATCH):
            requests = {self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH]]}
            for attempt in range(10):
                answer = self._ddb.batch_write_item(RequestItems=requests)
                requests = answer.get("UnprocessedItems") or {}
                if not requests:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise ConcurrentUpdate()  # throttled throughout: the erasure is retried as a whole (idempotent)
