"""Conversation messages: one partition per (store, member), newest first by sort key.

An outbound journey message doubles as its own delivery claim: the worker creates it `queued` with a
short wall-clock lease before calling a provider, so a redelivered step finds it and never sends
twice, and a worker that died mid-send leaves a lease that expires and lets a retry take over.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from chalicelib.dal.bookings import _is_conditional_failure
from chalicelib.dal.models import MessageItem
from chalicelib.errors import ValidationFailed

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
    def claim(self, message: MessageItem, lease_until: int, wall_now: int) -> Claim:
        message.status = "queued"
        message.lease_until = lease_until
        # A message that failed for good reached nobody: a redriven (or duplicate) step may try it again.
        condition = MessageItem.pk.does_not_exist() | (MessageItem.status == "failed") | (
            (MessageItem.status == "queued") & (MessageItem.lease_until < wall_now)
        )
        try:
            message.save(condition=condition)
            return Claim.CLAIMED
        except Exception as exc:  # noqa: BLE001 - PutError wraps the ClientError
            if not _is_conditional_failure(exc):
                raise
        existing = MessageItem.get(message.pk, message.sk, consistent_read=True)
        return Claim.BUSY if existing.status == "queued" else Claim.DONE

    def finish(self, message: MessageItem, *, status: str, at: datetime, channel: str | None,
               provider_message_id: str | None = None, error: str | None = None) -> None:
        _update_existing(message, [
            MessageItem.status.set(status),
            MessageItem.updated_at.set(at),
            MessageItem.channel.set(channel),
            MessageItem.provider_message_id.set(provider_message_id),
            MessageItem.error.set(error),
            MessageItem.lease_until.set(0),
            MessageItem.attempts.add(1),
        ])

    def release(self, message: MessageItem, error: str, at: datetime) -> None:
        """Give up the lease after a transient failure so the retry can claim it at once."""
        _update_existing(message, [
            MessageItem.lease_until.set(0),
            MessageItem.error.set(error),
            MessageItem.updated_at.set(at),
            MessageItem.attempts.add(1),
        ])

    def page(self, store_id: str, member_id: str, limit: int, cursor: str | None, *,
             newest_first: bool = True) -> Page:
        start_key = decode_cursor(cursor, store_id, member_id) if cursor else None
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
        next_cursor = encode_cursor(last["sk"]["S"]) if last and len(items) == limit else None
        return Page(items, next_cursor)

    def for_booking(self, store_id: str, member_id: str, booking_id: str, limit: int = MAX_PAGE) -> list[MessageItem]:
        """What was sent (or tried) about one booking, oldest first: the member's conversation, filtered."""
        return list(MessageItem.query(MessageItem.pk_for(store_id, member_id), MessageItem.sk.startswith("MSG#"),
                                      filter_condition=MessageItem.booking_id == booking_id, limit=limit))


def _update_existing(message: MessageItem, actions: list) -> None:
    """Update a message only while it exists: one erased meanwhile (a member's erasure, services/privacy.py)
    must not be brought back as a fragment by a send that was under way."""
    try:
        message.update(actions=actions, condition=MessageItem.pk.exists())
    except Exception as exc:  # noqa: BLE001 - UpdateError wraps the ClientError
        if not _is_conditional_failure(exc):
            raise


def encode_cursor(*keys: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(keys)).encode()).decode().rstrip("=")


def decode_sort_key_cursor(cursor: str, parts: int = 1) -> list[str]:
    """The key strings a cursor carries; ValidationFailed naming `cursor` for anything else."""
    invalid = ValidationFailed("the cursor is not valid", {"cursor": "not a cursor this API returned"})
    if len(cursor) > 1024:
        raise invalid
    try:
        keys = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(keys, list) or len(keys) != parts or not all(isinstance(k, str) and k for k in keys):
        raise invalid
    return keys


def decode_cursor(cursor: str, store_id: str, member_id: str) -> dict:
    [sk] = decode_sort_key_cursor(cursor)
    if not sk.startswith("MSG#"):
        raise ValidationFailed("the cursor is not valid", {"cursor": "not a cursor this API returned"})
    return {"pk": {"S": MessageItem.pk_for(store_id, member_id)}, "sk": {"S": sk}}
