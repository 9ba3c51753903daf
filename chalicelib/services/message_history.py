"""Read a member's conversation with a store, newest first, for staff; or follow it by its arrival sequence."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.dal.messages import MAX_PAGE, MessageRepository
from chalicelib.dal.models import MessageChangeItem, MessageItem
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.member_access import MemberAccess
from chalicelib.services.member_tokens import Member

# What a status event shows of its message (beside `message_id`).
STATUS_FIELDS = ("status", "channel", "provider", "error", "delivered_at", "read_at", "updated_at")


class MessageHistory:
    def __init__(
        self, stores: Any, messages: MessageRepository, access: MemberAccess, conversations: Any = None
    ) -> None:
        self._stores = stores
        self._messages = messages
        self._access = access
        self._conversations = conversations  # dal ConversationRepository: staff's read mark, for her own list

    def my_messages(
        self, member: Member, store_id: str, limit: str | None, cursor: str | None, since_seq: str | None
    ) -> dict[str, Any]:
        """Her own conversation with the store (issue 15): newest first, or followed by `since_seq`. Her messages
        show `read` once staff read them; the store's show `delivered` / `read` where her channel tells us. A
        manage link's token (one booking) does not open it: 404, as for a store of another chain."""
        store = self._stores.of_chain(store_id, member.chain_id) if is_id(store_id) else None
        if store is None or member.booking_id is not None:
            raise NotFound("no such conversation")
        tz = ZoneInfo(store.timezone)
        conversation = self._conversations.get(store_id, member.member_id) if self._conversations else None
        read_up_to = conversation.read_up_to if conversation else None
        if since_seq is not None:
            answer = sync_page(
                self._messages, store_id, member.member_id, since_seq, limit, cursor, tz, read_up_to
            )
            for event in answer["events"]:
                if "message" in event:
                    event["message"] = member_view(event["message"])
                else:  # a status: what she may see of it
                    for internal in ("provider", "error", "updated_at"):
                        event.pop(internal, None)
            return answer
        next_seq = self._messages.last_seq(store_id, member.member_id)
        page = self._messages.page(store_id, member.member_id, parse_limit(limit), cursor or None)
        return {
            "items": [member_view(message_view(m, tz, read_up_to)) for m in page.items],
            "next_cursor": page.next_cursor,
            "next_seq": next_seq,
        }

    def member_messages(
        self,
        staff: auth.Staff,
        store_id: str,
        member_id: str,
        limit: str | None,
        cursor: str | None,
        since_seq: str | None = None,
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "messages.read")
        if not is_id(member_id):
            raise ValidationFailed("bad member id", {"member_id": "not a member id"})
        self._access.require(staff, store, member_id)
        tz = ZoneInfo(store.timezone)
        if since_seq is not None:
            return sync_page(self._messages, store_id, member_id, since_seq, limit, cursor, tz, None)
        next_seq = self._messages.last_seq(store_id, member_id)  # before the page: nothing after it is missed
        page = self._messages.page(store_id, member_id, parse_limit(limit), cursor or None)
        return {
            "items": [message_view(m, tz, None) for m in page.items],
            "next_cursor": page.next_cursor,
            "next_seq": next_seq,
        }


def sync_page(
    messages: MessageRepository,
    store_id: str,
    member_id: str,
    since_seq: str,
    limit: str | None,
    cursor: str | None,
    tz: Any,
    read_up_to: str | None,
) -> dict[str, Any]:
    """`?since_seq=N`: everything recorded or changed in the conversation after seq N, in seq order, as events;
    `next_seq` is the seq to ask after next time (N itself when nothing is new)."""
    after = parse_seq(since_seq)
    if cursor:
        raise ValidationFailed("since_seq pages by itself", {"cursor": "not with since_seq: use next_seq"})
    changes = messages.changes(store_id, member_id, after, parse_limit(limit, default=MAX_PAGE))
    events = [change_view(entry, m, tz, read_up_to) for entry, m in changes if m is not None]
    return {"events": events, "next_seq": int(changes[-1][0].seq) if changes else after}


def change_view(entry: MessageChangeItem, m: MessageItem, tz: Any, read_up_to: str | None) -> dict[str, Any]:
    """One numbered change: a message recorded (with the message as it is now), or a message's status moved
    (its status now: never lower than the one announced, as statuses only move forwards)."""
    event: dict[str, Any] = {
        "seq": int(entry.seq),
        "type": entry.change,
        "at": entry.at.astimezone(tz).isoformat(),
    }
    view = message_view(m, tz, read_up_to)
    if entry.change == "message":
        return event | {"message": view}
    return event | {key: view[key] for key in STATUS_FIELDS if key in view} | {"message_id": m.message_id}


def parse_seq(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise ValidationFailed(
            "bad since_seq", {"since_seq": "a whole number from 0 (the next_seq of a page)"}
        )
    return int(raw)


def message_view(m: MessageItem, tz: Any, read_up_to: str | None) -> dict[str, Any]:
    """One message as every API shows it; an inbound message staff have read shows `read`."""
    status = m.status
    if m.direction == "in" and read_up_to and m.sk <= read_up_to:
        status = "read"
    view: dict[str, Any] = {
        "id": m.message_id,
        "direction": m.direction,
        "channel": m.channel,
        "kind": m.kind,
        "type": m.msg_type or "text",
        "text": m.text,
        "media_url": m.media_url,
        "status": status,
        "created_at": m.created_at.astimezone(tz).isoformat(),
        "updated_at": m.updated_at.astimezone(tz).isoformat(),
        "booking_id": m.booking_id,
        "error": m.error,
    }
    if m.direction == "in":
        view |= {"intent": m.intent, "sentiment": m.sentiment}
        if m.intent_corrected_by:  # staff corrected what it was understood to mean (issue 16)
            view["intent_corrected"] = True
    if m.sender and m.direction == "out":
        view["sender"] = m.sender
    if m.direction == "out":  # issue 15: how it went, and what the provider said
        view |= {
            "provider": m.provider,
            "route_reason": m.route_reason,
            "delivered_at": m.delivered_at.astimezone(tz).isoformat() if m.delivered_at else None,
            "read_at": m.read_at.astimezone(tz).isoformat() if m.read_at else None,
        }
    return view


# What a member sees of a message in her own list: no classifier output, staff subject, provider or error text.
MEMBER_FIELDS = (
    "id",
    "direction",
    "channel",
    "kind",
    "type",
    "text",
    "media_url",
    "status",
    "created_at",
    "booking_id",
    "delivered_at",
    "read_at",
)


def member_view(view: dict[str, Any]) -> dict[str, Any]:
    return {key: view.get(key) for key in MEMBER_FIELDS}


def parse_limit(raw: str | None, default: int = 20) -> int:
    if raw in (None, ""):
        return default
    if (
        not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= MAX_PAGE
    ):  # "²".isdigit()
        raise ValidationFailed("bad limit", {"limit": f"must be a whole number from 1 to {MAX_PAGE}"})
    return int(raw)
