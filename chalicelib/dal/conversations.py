"""Conversations: the META item beside a (store, member) partition of messages, inbound receipts for
de-duplication, and the contact lookups that tell whose phone or openid wrote in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.cursors import CursorSigner, invalid_cursor
from chalicelib.dal import message_changes
from chalicelib.dal.conditions import is_conditional_failure, put_new, put_new_entry, update_if
from chalicelib.dal.models import (
    BookingItem,
    ContactLookupItem,
    ConversationItem,
    InboundReceiptItem,
    MemberItem,
    MessageItem,
    whole,
)

STATUSES = ("open", "needs_human", "resolved")


@dataclass(frozen=True)
class StoredInbound:
    message: MessageItem
    duplicate: bool


@dataclass(frozen=True)
class OfferedSlot:
    start: datetime  # aware
    stylist_id: str
    stylist_name: str


@dataclass(frozen=True)
class PendingOffer:
    """Slots offered to a member by chat: she may pick one by its number until `expires_at`."""

    offer_id: str
    service_code: str
    slots: tuple[OfferedSlot, ...]
    expires_at: datetime
    locale: str = "zh-CN"  # the language the offer was written in (her "1" has none)
    picked_by: str | None = None  # the message id that picked a slot of it

    def open_to(self, message_id: str, now: datetime) -> bool:
        """Whether this message may pick from it: unexpired, and unpicked or picked by this very message (a
        retried worker)."""
        return now < self.expires_at and self.picked_by in (None, message_id)


@dataclass(frozen=True)
class ConversationPage:
    items: list[ConversationItem]
    next_cursor: str | None


class ConversationRepository:
    def __init__(
        self, dynamodb_client: Any, table_name: str, lookup_hash: Callable[[str], str], cursors: CursorSigner
    ) -> None:
        self._ddb = dynamodb_client
        self._cursors = cursors  # inbox cursors continue only the (store, status) listing they came from
        self._table = table_name
        self._lookup_hash = lookup_hash  # privacy.LookupHasher, as the booking webhook writes the lookups

    # --- reads ------------------------------------------------------------------------------------
    def get(self, store_id: str, member_id: str) -> ConversationItem | None:
        try:
            return ConversationItem.get(*ConversationItem.key(store_id, member_id), consistent_read=True)
        except ConversationItem.DoesNotExist:
            return None

    def message(self, pk: str, sk: str) -> MessageItem | None:
        try:
            return MessageItem.get(pk, sk, consistent_read=True)
        except MessageItem.DoesNotExist:
            return None

    def receipt(self, chain_id: str, channel: str, provider_message_id: str) -> InboundReceiptItem | None:
        try:
            return InboundReceiptItem.get(
                *InboundReceiptItem.key(chain_id, channel, provider_message_id), consistent_read=True
            )
        except InboundReceiptItem.DoesNotExist:
            return None

    def inbox(self, store_id: str, status: str, limit: int, cursor: str | None) -> ConversationPage:
        pk = ConversationItem.inbox_key(store_id, status)
        scope = f"inbox|{store_id}|{status}"
        start = None
        if cursor:
            keys = self._cursors.decode(scope, cursor)
            if (
                not isinstance(keys, list)
                or len(keys) != 3
                or not all(isinstance(k, str) and k for k in keys)
            ):
                raise invalid_cursor()
            conv_pk, conv_sk, gsi_sk = keys
            start = {"pk": {"S": conv_pk}, "sk": {"S": conv_sk}, "gsi1pk": {"S": pk}, "gsi1sk": {"S": gsi_sk}}
        results = ConversationItem.inbox.query(
            pk, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = list(results)
        last = results.last_evaluated_key
        next_cursor = None
        if last and len(items) == limit:
            next_cursor = self._cursors.encode(scope, [last["pk"]["S"], last["sk"]["S"], last["gsi1sk"]["S"]])
        return ConversationPage(items, next_cursor)

    def address_digest(self, address: str) -> str:
        """The keyed hash a contact lookup is keyed by (never the address itself)."""
        return self._lookup_hash(address)

    def members_by_address(self, kind: str, address: str) -> list[ContactLookupItem]:
        """Members who gave this phone number or openid, most recently seen first."""
        found = list(ContactLookupItem.query(ContactLookupItem.pk_for(kind, self._lookup_hash(address))))
        return sorted(found, key=lambda item: item.updated_at, reverse=True)

    def upcoming_booking(
        self, chain_id: str, member_id: str, store_id: str, after: datetime, statuses: tuple[str, ...]
    ) -> BookingItem | None:
        """The member's next booking at this store in one of `statuses` starting after `after` (Query on the
        member's bookings, by start)."""
        for booking in whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id),
                BookingItem.gsi3sk > after.astimezone(UTC).isoformat(),
                limit=20,
            ),
        ):
            if booking.store_id == store_id and booking.status in statuses and booking.start > after:
                return booking
        return None

    def latest_booking(self, chain_id: str, member_id: str, store_id: str) -> BookingItem | None:
        """The member's most recent booking at this store (the service a reply is most likely about)."""
        for booking in whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id), scan_index_forward=False, limit=20
            ),
        ):
            if booking.store_id == store_id:
                return booking
        return None

    def offer(self, store_id: str, member_id: str) -> PendingOffer | None:
        """The slots last offered in this conversation (picked or not, expired or not), or None."""
        conversation = self.get(store_id, member_id)
        if conversation is None or not conversation.offer_id or not isinstance(conversation.offer, dict):
            return None
        raw = conversation.offer
        return PendingOffer(
            offer_id=conversation.offer_id,
            service_code=str(raw.get("service_code", "")),
            slots=tuple(
                OfferedSlot(
                    datetime.fromisoformat(s["start"]), str(s["stylist_id"]), str(s.get("stylist_name", ""))
                )
                for s in raw.get("slots", [])
            ),
            expires_at=datetime.fromisoformat(raw["expires_at"]),
            locale=str(raw.get("locale") or "zh-CN"),
            picked_by=conversation.offer_picked_by,
        )

    # --- writes -----------------------------------------------------------------------------------
    def set_offer(self, store_id: str, member_id: str, offer: PendingOffer) -> None:
        """Offer slots in this conversation, replacing any earlier offer (unpicked)."""
        conversation = ConversationItem(*ConversationItem.key(store_id, member_id))
        conversation.update(
            actions=[
                ConversationItem.offer_id.set(offer.offer_id),
                ConversationItem.offer.set(
                    {
                        "service_code": offer.service_code,
                        "expires_at": offer.expires_at.isoformat(),
                        "locale": offer.locale,
                        "slots": [
                            {
                                "start": s.start.isoformat(),
                                "stylist_id": s.stylist_id,
                                "stylist_name": s.stylist_name,
                            }
                            for s in offer.slots
                        ],
                    }
                ),
                ConversationItem.offer_picked_by.remove(),
            ],
            condition=ConversationItem.pk.exists(),
        )

    def take_offer(self, store_id: str, member_id: str, offer_id: str, message_id: str) -> bool:
        """Mark the offer picked by this message, so no later message picks from it; True also when this very
        message had taken it (a retry). False when it was replaced, or taken by another message."""
        conversation = ConversationItem(*ConversationItem.key(store_id, member_id))
        return update_if(
            conversation,
            [ConversationItem.offer_picked_by.set(message_id)],
            (ConversationItem.offer_id == offer_id)
            & (
                ConversationItem.offer_picked_by.does_not_exist()
                | (ConversationItem.offer_picked_by == message_id)
            ),
        )

    def store_inbound(
        self,
        message: MessageItem,
        channel: str,
        provider_message_id: str,
        member_name: str,
        at: datetime,
        expires_at: int,
        *,
        unknown_sender: bool = False,
    ) -> StoredInbound:
        """Message, receipt and conversation in one transaction: stored once, before we acknowledge.
        `unknown_sender`: the conversation is marked as from a number the chain does not know."""
        receipt = InboundReceiptItem(
            *InboundReceiptItem.key(message.chain_id, channel, provider_message_id),
            message_pk=message.pk,
            message_sk=message.sk,
            expires_at=expires_at,
        )
        conv_pk, conv_sk = ConversationItem.key(message.store_id, message.member_id)
        touch = self._touch(conv_pk, conv_sk, message, member_name, at, inbound=True)
        if unknown_sender:
            touch["UpdateExpression"] = touch["UpdateExpression"].replace(
                "SET ", "SET unknown_sender = :unknown, ", 1
            )
            touch["ExpressionAttributeValues"][":unknown"] = {"BOOL": True}
        items = [
            {"Put": put_new_entry(self._table, receipt)},
            {"Put": {"TableName": self._table, "Item": message.serialize()}},
            {"Update": touch},
        ]
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except self._ddb.exceptions.TransactionCanceledException as exc:
            if is_conditional_failure(exc, item=0):  # the receipt: stored before
                seen = self.receipt(message.chain_id, channel, provider_message_id)
                existing = self.message(seen.message_pk, seen.message_sk) if seen else None
                if existing is not None:
                    # Numbered again, in case the first delivery died between storing and numbering it.
                    message_changes.append(existing.pk, "message", existing.sk, existing.status, at)
                    return StoredInbound(existing, duplicate=True)
            raise
        message_changes.append(message.pk, "message", message.sk, message.status, at)
        return StoredInbound(message, duplicate=False)

    def claim_client_message(
        self, chain_id: str, store_id: str, client_message_id: str, message: MessageItem, expires_at: int
    ) -> MessageItem | None:
        """A staff reply's client id, so a retried POST sends nothing twice: None when new, else the
        message the first POST recorded. The id is scoped to the conversation (`staff:<store>#<member>`: ids
        never hold `#`), so the same id in another conversation is another reply, sent to that member."""
        scope = f"staff:{store_id}#{message.member_id}"
        legacy = self.receipt(chain_id, f"staff:{store_id}", client_message_id)
        if legacy is not None and legacy.message_pk == message.pk:
            # Recorded before ids were scoped to a conversation (store-wide). Only a retry of that very reply,
            # in the same conversation, is answered with it; this read can go once those receipts expire (30 days).
            return self.message(legacy.message_pk, legacy.message_sk)
        receipt = InboundReceiptItem(
            *InboundReceiptItem.key(chain_id, scope, client_message_id),
            message_pk=message.pk,
            message_sk=message.sk,
            expires_at=expires_at,
        )
        if put_new(receipt):
            return None
        seen = self.receipt(chain_id, scope, client_message_id)
        earlier = self.message(seen.message_pk, seen.message_sk) if seen else None
        if earlier is not None and earlier.status != "queued":  # numbered again (see store_inbound)
            message_changes.append(earlier.pk, "message", earlier.sk, earlier.status, earlier.updated_at)
        return earlier

    def touch_outbound(self, message: MessageItem, at: datetime, *, customer_service: bool = False) -> None:
        """An answer went out: move the conversation's last-message fields; count WeChat
        customer-service messages against the 48-hour window's allowance."""
        conv_pk, conv_sk = ConversationItem.key(message.store_id, message.member_id)
        update = self._touch(conv_pk, conv_sk, message, None, at, inbound=False)
        if customer_service:
            update["UpdateExpression"] += " ADD sent_since_inbound :one"
            update["ExpressionAttributeValues"][":one"] = {"N": "1"}
        self._ddb.update_item(**update)

    def mark_processed(
        self, message: MessageItem, *, intent: str, sentiment: str, actions: list[dict]
    ) -> None:
        message.update(
            actions=[
                MessageItem.intent.set(intent),
                MessageItem.sentiment.set(sentiment),
                MessageItem.actions.set(actions),
                MessageItem.processed.set(True),
            ]
        )

    def set_status(
        self, store_id: str, member_id: str, status: str, reason: str | None = None
    ) -> ConversationItem:
        conversation = self.get(store_id, member_id)
        if conversation is None:
            raise LookupError("no such conversation")
        actions: list[Action] = [
            ConversationItem.status.set(status),
            ConversationItem.gsi1pk.set(ConversationItem.inbox_key(store_id, status)),
            ConversationItem.needs_human_reason.set(reason),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
        ]
        conversation.update(actions=actions)
        return conversation

    def mark_read(self, store_id: str, member_id: str, up_to_sk: str) -> ConversationItem | None:
        conversation = self.get(store_id, member_id)
        if conversation is None:
            return None
        conversation.update(
            actions=[ConversationItem.unread.set(0), ConversationItem.read_up_to.set(up_to_sk)]
        )
        return conversation

    def set_member_flags(self, chain_id: str, member_id: str, **flags: Any) -> None:
        """Opt-out and marketing pause live on the member profile (an upsert: the member may be new)."""
        member = MemberItem(*MemberItem.key(chain_id, member_id))
        actions = [getattr(MemberItem, name).set(value) for name, value in flags.items()]
        actions += [MemberItem.chain_id.set(chain_id), MemberItem.member_id.set(member_id)]
        member.update(actions=actions)

    # --- helpers ----------------------------------------------------------------------------------
    def _touch(
        self, pk: str, sk: str, message: MessageItem, member_name: str | None, at: datetime, inbound: bool
    ) -> dict[str, Any]:
        """Create the conversation if new; move its last-message fields (and its inbox position)."""
        when = ConversationItem.last_message_at.serialize(at)  # PynamoDB's UTC format, which also sorts
        preview = (message.text or f"[{message.msg_type or message.kind}]")[:120]
        sets = [
            "chain_id = if_not_exists(chain_id, :chain)",
            "store_id = if_not_exists(store_id, :store)",
            "member_id = if_not_exists(member_id, :member)",
            "created_at = if_not_exists(created_at, :at)",
            "#status = if_not_exists(#status, :open)",
            "member_name = :name"
            if member_name is not None
            else "member_name = if_not_exists(member_name, :name)",
            "last_message_at = :at",
            "last_preview = :preview",
            "gsi1sk = :at",
            "gsi1pk = if_not_exists(gsi1pk, :inbox_open)",
        ]
        values = {
            ":chain": {"S": message.chain_id},
            ":store": {"S": message.store_id},
            ":member": {"S": message.member_id},
            ":at": {"S": when},
            ":open": {"S": "open"},
            ":name": {"S": member_name or ""},
            ":preview": {"S": preview},
            ":inbox_open": {"S": ConversationItem.inbox_key(message.store_id, "open")},
        }
        expression = "SET " + ", ".join(sets)
        if inbound:
            expression = expression.replace(
                "SET ",
                "SET last_inbound_at = :at, last_inbound_channel = :channel, sent_since_inbound = :zero, ",
                1,
            )
            if message.sender:
                expression += ", last_inbound_address = :address"
                values[":address"] = {"S": message.sender}
            expression += " ADD unread :one"
            values |= {":channel": {"S": message.channel or "web"}, ":zero": {"N": "0"}, ":one": {"N": "1"}}
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
