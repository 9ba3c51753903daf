"""Conversation messages: one partition per (store, member), newest first by sort key.

An outbound journey message doubles as its own delivery claim: the worker creates it `queued` with a
short wall-clock lease before calling a provider, so a redelivered step finds it and never sends
twice, and a worker that died mid-send leaves a lease that expires and lets a retry take over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from chalicelib.contracts.step import StepMessage
from chalicelib.cursors import CursorSigner, invalid_cursor
from chalicelib.dal.conditions import is_conditional_failure, put_new
from chalicelib.dal.models import MessageItem

MAX_PAGE = 100


class Claim(Enum):
    CLAIMED = "claimed"
    DONE = "done"  # sent before: a duplicate delivery (one that failed for good may be claimed again)
    BUSY = "busy"  # another worker holds a live lease


@dataclass(frozen=True)
class Page:
    items: list[MessageItem]
    next_cursor: str | None


class MessageRepository:
    def __init__(self, cursors: CursorSigner) -> None:
        self._cursors = cursors

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
        """Write a message as it is (a video consult's notice in the conversation)."""
        message.save()

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
        return Claim.BUSY if existing.status == "queued" else Claim.DONE

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
    ) -> None:
        actions = [
            MessageItem.status.set(status),
            MessageItem.updated_at.set(at),
            MessageItem.channel.set(channel),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
            MessageItem.provider_message_id.set(provider_message_id),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
            MessageItem.error.set(error),  # type: ignore[arg-type]  # set(None) writes NULL; not in the types
            MessageItem.lease_until.set(0),
            MessageItem.attempts.add(1),
        ]
        # Issue 15 (channel router): who will send its receipts and why its channel was chosen; the channels tried.
        if provider is not None:
            actions.append(MessageItem.provider.set(provider))
        if route_reason is not None:
            actions.append(MessageItem.route_reason.set(route_reason))
        if tried_channels:
            actions.append(MessageItem.tried_channels.set(tried_channels))
        _update_existing(message, actions)

    @staticmethod
    def claim_fallback(message: MessageItem, waited_on: str, channel: str, at: datetime) -> bool:
        """Take the one fallback after `waited_on` got no receipt: only while the message is still `sent` on that
        channel and `channel` was never tried for it, so a duplicate check (or two at once) sends nothing more."""
        try:
            message.update(
                actions=[
                    MessageItem.tried_channels.set(MessageItem.tried_channels.append([channel])),
                    MessageItem.updated_at.set(at),
                ],
                condition=(MessageItem.status == "sent")
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


def _update_existing(message: MessageItem, actions: list) -> None:
    """Update a message only while it exists: one erased meanwhile (a member's erasure, services/member_privacy.py)
    must not be brought back as a fragment by a send that was under way."""
    try:
        message.update(actions=actions, condition=MessageItem.pk.exists())
    except Exception as exc:  # UpdateError wraps the ClientError
        if not is_conditional_failure(exc):
            raise


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
