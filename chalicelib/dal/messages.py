"""Conversation messages: one partition per (store, member), newest first by sort key.

An outbound journey message doubles as its own delivery claim: the worker creates it `queued` with a
short wall-clock lease before calling a provider, so a redelivered step finds it and never sends
twice, and a worker that died mid-send leaves a lease that expires and lets a retry take over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.channels.receipts import STATUS_RANK, ProviderReceipt, advances
from chalicelib.contracts.step import StepMessage
from chalicelib.cursors import CursorSigner, invalid_cursor
from chalicelib.dal import message_changes
from chalicelib.dal.conditions import is_conditional_failure, put_new
from chalicelib.dal.models import MessageChangeItem, MessageItem, ProviderMessageItem

MAX_PAGE = 100
# The provider of a send whose caller names none (delivery before the channel router passes `provider`): the
# channel's own, as channels/base.py provider_of says for these channels (SnsSms.provider, SesEmail.provider).
DEFAULT_PROVIDERS = {"sms": "sns", "email": "ses"}
RECEIPT_WINDOW = timedelta(days=30)  # how long a send can be found by its provider id (the index item's TTL)
EARLY_HOLD = timedelta(days=1)  # how long a receipt that came before its send is kept for it


class Advance(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # the message is already in this status
    NOT_ADVANCED = "not_advanced"  # it is further along (a late or out-of-order receipt)
    GONE = "gone"  # no such message (erased meanwhile)


class Claim(Enum):
    CLAIMED = "claimed"
    DONE = "done"  # sent before: a duplicate delivery (one that failed for good may be claimed again)
    BUSY = "busy"  # another worker holds a live lease


@dataclass(frozen=True)
class Page:
    items: list[MessageItem]
    next_cursor: str | None


class MessageRepository:
    def __init__(
        self, cursors: CursorSigner, on_status: Callable[[MessageItem, str], None] | None = None
    ) -> None:
        self._cursors = cursors
        # Told each status an outbound message reached, right after the write that moved it there (the report
        # counters, services/report_events.py): a duplicate moves nothing, so it is told nothing.
        self._on_status = on_status

    def _reached(self, message: MessageItem, *statuses: str) -> None:
        if self._on_status is not None:
            for status in statuses:
                self._on_status(message, status)

    @staticmethod
    def step_message(step: StepMessage, text: str, now: datetime) -> MessageItem:
        """The outbound message of a journey step (queued; `claim` writes it): in the member's conversation at the
        step's due time, its id following from the step (booking, kind, version), so a redelivery finds it."""
        due = datetime.fromisoformat(step.due_at)
        return MessageItem(
            MessageItem.pk_for(step.store_id, step.member_id),
            MessageItem.sk_for(due.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), step.message_id),
            message_id=step.message_id,
            chain_id=step.chain_id,
            store_id=step.store_id,
            member_id=step.member_id,
            direction="out",
            kind=step.kind,
            text=text,
            status="queued",
            created_at=now,
            updated_at=now,
            booking_id=step.booking_id,
            booking_version=int(step.version),
        )

    @staticmethod
    def video_notice(
        *,
        chain_id: str,
        store_id: str,
        member_id: str,
        message_id: str,
        text: str,
        sender: str,
        now: datetime,
    ) -> MessageItem:
        """A video consult's notice in the member's conversation (recorded as it is: nothing is sent)."""
        return _new_message(
            store_id,
            member_id,
            message_id,
            sort_time(now),
            chain_id=chain_id,
            direction="out",
            channel="agora",
            kind="video_call",
            text=text,
            status="recorded",
            created_at=now,
            updated_at=now,
            sender=sender,
        )

    @staticmethod
    def received(
        *,
        message_id: str,
        channel: str,
        provider_message_id: str,
        chain_id: str,
        store_id: str,
        member_id: str,
        text: str,
        msg_type: str,
        media_url: str | None,
        sender: str | None,
        now: datetime,
    ) -> MessageItem:
        """A member's message as received (delivered, not yet processed); text and provider id cut to fit."""
        return _new_message(
            store_id,
            member_id,
            message_id,
            sort_time(now),
            chain_id=chain_id,
            direction="in",
            channel=channel,
            kind="reply",
            text=text[:4000],
            status="delivered",
            created_at=now,
            updated_at=now,
            provider_message_id=provider_message_id[:256],
            msg_type=msg_type,
            media_url=media_url,
            sender=sender,
            processed=False,
        )

    @staticmethod
    def reply_message(
        *,
        store_id: str,
        member_id: str,
        chain_id: str,
        kind: str,
        text: str,
        message_id: str,
        sorts_at: str,
        sender: str | None,
        now: datetime,
    ) -> MessageItem:
        """An answer to a member (automatic or from staff), queued (`claim` writes it); `sorts_at` (see
        `sort_time`) places it in the conversation: an automatic answer sorts at the message it answers."""
        return _new_message(
            store_id,
            member_id,
            message_id,
            sorts_at,
            chain_id=chain_id,
            direction="out",
            kind=kind,
            text=text,
            status="queued",
            created_at=now,
            updated_at=now,
            sender=sender,
        )

    @staticmethod
    def care_message(
        *, chain_id: str, store_id: str, member_id: str, kind: str, text: str, message_id: str, now: datetime
    ) -> MessageItem:
        """A member-care message, queued (`claim` writes it), in the conversation at `now` (in UTC)."""
        return _new_message(
            store_id,
            member_id,
            message_id,
            sort_time(now.astimezone(UTC)),
            chain_id=chain_id,
            direction="out",
            kind=kind,
            text=text,
            status="queued",
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def record(message: MessageItem) -> None:
        """Write a message as it is (a video consult's notice in the conversation), numbered in its sequence."""
        message.save()
        message_changes.append(message.pk, "message", message.sk, message.status, message.updated_at)

    def claim(self, message: MessageItem, lease_until: int, wall_now: int) -> Claim:
        message.status = "queued"
        message.lease_until = lease_until
        # A message that failed for good reached nobody: a redriven (or duplicate) step may try it again.
        if put_new(
            message,
            or_if=(MessageItem.status == "failed")
            | ((MessageItem.status == "queued") & (MessageItem.lease_until < wall_now)),
        ):
            return Claim.CLAIMED
        existing = MessageItem.get(message.pk, message.sk, consistent_read=True)
        if existing.status == "queued":
            return Claim.BUSY
        # Sent before: number it again, in case the first delivery died between recording it and numbering it.
        message_changes.append(existing.pk, "message", existing.sk, existing.status, existing.updated_at)
        return Claim.DONE

    def finish(
        self,
        message: MessageItem,
        *,
        status: str,
        at: datetime,
        channel: str | None,
        provider_message_id: str | None = None,
        error: str | None = None,
        provider: str | None = None,
        route_reason: str | None = None,
        tried_channels: list[str] | None = None,
        receipts: bool = True,
    ) -> None:
        """Record a send's outcome, number it in the conversation's sequence, and (sent, when its provider reports
        `receipts`: channels/base.py reports_receipts) make the message findable by its provider's id, applying any
        receipt that came before this record of the send. A provider that never reports costs no index write."""
        if status == "sent" and provider is None and channel is not None:
            provider = DEFAULT_PROVIDERS.get(channel, channel)
        first_outcome = message.status == "queued"  # claimed for this send (a fallback's second send: "sent")
        updated = _update_existing(
            message,
            [
                MessageItem.status.set(status),
                MessageItem.updated_at.set(at),
                MessageItem.channel.set(channel),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
                MessageItem.provider_message_id.set(provider_message_id),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
                MessageItem.error.set(error),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
                # absent rather than NULL when unknown: a journey message stays under 1 KB (one WRU a write)
                MessageItem.provider.set(provider) if provider else MessageItem.provider.remove(),
                MessageItem.route_reason.set(route_reason)
                if route_reason
                else MessageItem.route_reason.remove(),
                MessageItem.lease_until.set(0),
                MessageItem.attempts.add(1),
                # the channels tried for it (the router's fallbacks): never twice on one channel
                *([MessageItem.tried_channels.set(tried_channels)] if tried_channels else []),
            ],
        )
        if not updated:
            return
        message_changes.append(message.pk, "message", message.sk, status, at)
        if first_outcome:
            self._reached(message, status)
        if receipts and status == "sent" and provider and provider_message_id and channel != "web":
            for early in self._link_provider(provider, provider_message_id, message, at):
                self.advance(message.pk, message.sk, early)

    # --- receipts (issue 15 §6) ----------------------------------------------------------------------
    @staticmethod
    def _link_provider(
        provider: str, provider_message_id: str, message: MessageItem, at: datetime
    ) -> list[ProviderReceipt]:
        """Write the (provider, provider message id) -> message index item; the receipts held for it, lowest
        status first."""
        old = (
            ProviderMessageItem._get_connection().update_item(  # PynamoDB's Model.update answers ALL_NEW only
                *ProviderMessageItem.key(provider, provider_message_id),
                actions=[
                    ProviderMessageItem.message_pk.set(message.pk),
                    ProviderMessageItem.message_sk.set(message.sk),
                    ProviderMessageItem.expires_at.set(int((at + RECEIPT_WINDOW).timestamp())),
                ],
                return_values="ALL_OLD",
            )
        )
        held = (old.get("Attributes") or {}).get("early", {}).get("L", [])
        receipts = [_held_receipt(provider, provider_message_id, entry.get("S", "")) for entry in held]
        return sorted((r for r in receipts if r is not None), key=lambda r: STATUS_RANK[r.status])

    @staticmethod
    def sent_message(provider: str, provider_message_id: str) -> tuple[str, str] | None:
        """The (pk, sk) of the message a provider's receipt names, once its send is recorded."""
        try:
            item = ProviderMessageItem.get(
                *ProviderMessageItem.key(provider, provider_message_id), consistent_read=True
            )
        except ProviderMessageItem.DoesNotExist:
            return None
        if item.message_pk and item.message_sk:
            return item.message_pk, item.message_sk
        return None

    @staticmethod
    def hold_receipt(receipt: ProviderReceipt, now: datetime) -> tuple[str, str] | None:
        """Keep a receipt whose send is not recorded yet, for `finish` to apply. When the send was recorded
        meanwhile, its (pk, sk): the caller applies the receipt itself (one of the two always sees the other)."""
        item = ProviderMessageItem(*ProviderMessageItem.key(receipt.provider, receipt.provider_message_id))
        entry = f"{receipt.status}|{receipt.at.astimezone(UTC).isoformat()}|{receipt.code or ''}"
        item.update(
            actions=[
                ProviderMessageItem.early.set((ProviderMessageItem.early | []).append([entry])),
                ProviderMessageItem.expires_at.set(
                    ProviderMessageItem.expires_at | int((now + EARLY_HOLD).timestamp())
                ),
            ]
        )
        if item.message_pk and item.message_sk:
            return item.message_pk, item.message_sk
        return None

    def advance(self, pk: str, sk: str, receipt: ProviderReceipt) -> Advance:
        """Move a message's status to the receipt's, only forwards (channels/receipts.py), and number the change."""
        at = receipt.at
        actions: list[Action] = [MessageItem.status.set(receipt.status), MessageItem.updated_at.set(at)]
        if receipt.status == "delivered":
            actions.append(MessageItem.delivered_at.set(at))
        elif receipt.status == "read":
            actions += [
                MessageItem.read_at.set(at),
                MessageItem.delivered_at.set(MessageItem.delivered_at | at),
            ]
        else:  # failed, with the provider's code
            actions.append(MessageItem.error.set(f"{receipt.provider}: {receipt.code or 'failed'}"))
        lower = [status for status in STATUS_RANK if advances(status, receipt.status)]
        message = MessageItem(pk, sk)
        try:
            message.update(
                actions=actions, condition=MessageItem.pk.exists() & MessageItem.status.is_in(*lower)
            )
        except Exception as exc:  # UpdateError wraps the ClientError
            if not is_conditional_failure(exc):
                raise
            return self._not_advanced(pk, sk, receipt.status)
        message_changes.append(pk, "status", sk, receipt.status, at)
        # `message` holds the item as updated (ALL_NEW); a read that came first also delivered it (just now)
        if receipt.status == "read" and message.delivered_at == at:
            self._reached(message, "delivered", "read")
        else:  # a failure reported after the send: "receipt_failed" (the send itself was counted as sent)
            self._reached(message, "receipt_failed" if receipt.status == "failed" else receipt.status)
        return Advance.APPLIED

    @staticmethod
    def _not_advanced(pk: str, sk: str, status: str) -> Advance:
        try:
            current = MessageItem.get(pk, sk, consistent_read=True)
        except MessageItem.DoesNotExist:
            return Advance.GONE
        if current.status != status:
            return Advance.NOT_ADVANCED
        # Already there: number it again, in case the first receipt died between applying it and numbering it.
        message_changes.append(pk, "status", sk, status, current.updated_at)
        return Advance.DUPLICATE

    # --- the arrival sequence (issue 15 §7) ------------------------------------------------------------
    @staticmethod
    def last_seq(store_id: str, member_id: str) -> int:
        return message_changes.latest(MessageItem.pk_for(store_id, member_id))

    @staticmethod
    def changes(
        store_id: str, member_id: str, after: int, limit: int
    ) -> list[tuple[MessageChangeItem, MessageItem | None]]:
        """The conversation's changes after seq `after` in seq order, each with its message as it is now (None
        when it is gone: erased)."""
        entries = message_changes.since(MessageItem.pk_for(store_id, member_id), after, limit)
        keys = list(dict.fromkeys((entry.pk, entry.message_sk) for entry in entries))
        found = {(m.pk, m.sk): m for m in MessageItem.batch_get(keys, consistent_read=True)} if keys else {}
        return [(entry, found.get((entry.pk, entry.message_sk))) for entry in entries]

    @staticmethod
    def claim_fallback(message: MessageItem, waited_on: str, channel: str, at: datetime) -> bool:
        """Take the one fallback after `waited_on` got no receipt or a failed one: only while the message is still
        `sent` (or reported `failed`) on that channel and `channel` was never tried for it, so a duplicate check (or
        two at once) sends nothing more."""
        try:
            message.update(
                actions=[
                    MessageItem.tried_channels.set(MessageItem.tried_channels.append([channel])),
                    MessageItem.updated_at.set(at),
                ],
                condition=MessageItem.status.is_in("sent", "failed")
                & (MessageItem.channel == waited_on)
                & MessageItem.tried_channels.exists()
                & ~MessageItem.tried_channels.contains(channel),
            )
        except Exception as exc:  # UpdateError wraps the ClientError
            if is_conditional_failure(exc):
                return False
            raise
        return True

    @staticmethod
    def current(message: MessageItem) -> MessageItem | None:
        """The message as stored now (consistent), or None when it is gone."""
        try:
            return MessageItem.get(message.pk, message.sk, consistent_read=True)
        except MessageItem.DoesNotExist:
            return None

    def release(self, message: MessageItem, error: str, at: datetime) -> None:
        """Give up the lease after a transient failure so the retry can claim it at once."""
        _update_existing(
            message,
            [
                MessageItem.lease_until.set(0),
                MessageItem.error.set(error),
                MessageItem.updated_at.set(at),
                MessageItem.attempts.add(1),
            ],
        )

    def page(
        self, store_id: str, member_id: str, limit: int, cursor: str | None, *, newest_first: bool = True
    ) -> Page:
        start_key = (
            decode_cursor(self._cursors, cursor, store_id, member_id, newest_first) if cursor else None
        )
        results = MessageItem.query(
            MessageItem.pk_for(store_id, member_id),
            MessageItem.sk.startswith("MSG#"),
            scan_index_forward=not newest_first,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        )
        items = list(results)
        last = results.last_evaluated_key
        next_cursor = None
        if last and len(items) == limit:
            next_cursor = encode_cursor(self._cursors, store_id, member_id, last["sk"]["S"], newest_first)
        return Page(items, next_cursor)

    def for_booking(
        self, store_id: str, member_id: str, booking_id: str, limit: int = MAX_PAGE
    ) -> list[MessageItem]:
        """What was sent (or tried) about one booking, oldest first: the member's conversation, filtered."""
        return list(
            MessageItem.query(
                MessageItem.pk_for(store_id, member_id),
                MessageItem.sk.startswith("MSG#"),
                filter_condition=MessageItem.booking_id == booking_id,
                limit=limit,
            )
        )


def sort_time(at: datetime) -> str:
    """The time part of a message's sort key."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sort_time_of(message: MessageItem) -> str:
    """Where a stored message sorts: the time part of its sort key (an answer to it sorts there too)."""
    return message.sk.split("#")[1]


def _new_message(store_id: str, member_id: str, message_id: str, at: str, **attributes: Any) -> MessageItem:
    """A message in the (store, member) conversation, sorted at `at` (see `sort_time`)."""
    return MessageItem(
        MessageItem.pk_for(store_id, member_id),
        MessageItem.sk_for(at, message_id),
        message_id=message_id,
        store_id=store_id,
        member_id=member_id,
        **attributes,
    )


def _update_existing(message: MessageItem, actions: list) -> bool:
    """Update a message only while it exists: one erased meanwhile (a member's erasure, services/member_privacy.py)
    must not be brought back as a fragment by a send that was under way. False when it was gone."""
    try:
        message.update(actions=actions, condition=MessageItem.pk.exists())
    except Exception as exc:  # UpdateError wraps the ClientError
        if not is_conditional_failure(exc):
            raise
        return False
    return True


def _held_receipt(provider: str, provider_message_id: str, entry: str) -> ProviderReceipt | None:
    """A receipt held by `hold_receipt` ("<status>|<UTC ISO time>|<code>"); None for anything else."""
    status, _, rest = entry.partition("|")
    at, _, code = rest.partition("|")
    try:
        return ProviderReceipt(
            provider, provider_message_id, status, datetime.fromisoformat(at), code or None
        )
    except ValueError:
        return None


def message_scope(store_id: str, member_id: str, newest_first: bool = True) -> str:
    """The listing a message cursor belongs to: one (store, member) partition read in one order."""
    return f"messages|{store_id}|{member_id}|{'newest' if newest_first else 'oldest'}"


def encode_cursor(
    cursors: CursorSigner, store_id: str, member_id: str, sk: str, newest_first: bool = True
) -> str:
    return cursors.encode(message_scope(store_id, member_id, newest_first), [sk])


def decode_cursor(
    cursors: CursorSigner, cursor: str, store_id: str, member_id: str, newest_first: bool = True
) -> dict:
    """The exclusive start key a cursor of this listing names; ValidationFailed naming `cursor` for anything else
    (garbage, a cursor of another member's, store's or order's listing, an edited one)."""
    keys = cursors.decode(message_scope(store_id, member_id, newest_first), cursor)
    if (
        not isinstance(keys, list)
        or len(keys) != 1
        or not isinstance(keys[0], str)
        or not keys[0].startswith("MSG#")
    ):
        raise invalid_cursor()
    return {"pk": {"S": MessageItem.pk_for(store_id, member_id)}, "sk": {"S": keys[0]}}
