"""Read a member's conversation with a store, newest first, for staff."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.dal.messages import MAX_PAGE, MessageRepository
from chalicelib.dal.models import MessageItem
from chalicelib.errors import ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.member_access import MemberAccess


class MessageHistory:
    def __init__(self, stores: Any, messages: MessageRepository, access: MemberAccess) -> None:
        self._stores = stores
        self._messages = messages
        self._access = access

    def member_messages(
        self, staff: auth.Staff, store_id: str, member_id: str, limit: str | None, cursor: str | None
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "messages.read")
        if not is_id(member_id):
            raise ValidationFailed("bad member id", {"member_id": "not a member id"})
        self._access.require(staff, store, member_id)
        page = self._messages.page(store_id, member_id, parse_limit(limit), cursor or None)
        tz = ZoneInfo(store.timezone)
        return {"items": [message_view(m, tz, None) for m in page.items], "next_cursor": page.next_cursor}


def message_view(m: MessageItem, tz: Any, read_up_to: str | None) -> dict[str, Any]:
    """One message as every API shows it; an inbound message staff have read shows `read`."""
    status = m.status
    if m.direction == "in" and read_up_to and m.sk <= read_up_to:
        status = "read"
    view = {
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
    if m.sender and m.direction == "out":
        view["sender"] = m.sender
    if m.route_reason and m.direction == "out":
        view["route_reason"] = (
            m.route_reason
        )  # issue 15: why its channel was chosen (services/channel_router.py)
    return view


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return 20
    if (
        not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= MAX_PAGE
    ):  # "²".isdigit()
        raise ValidationFailed("bad limit", {"limit": f"must be a whole number from 1 to {MAX_PAGE}"})
    return int(raw)
