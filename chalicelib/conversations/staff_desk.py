"""What staff do in a store's inbox: list, read, answer, resolve, start a video consult."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.conversations.inbound import conversation_view
from chalicelib.conversations.outbound import ReplySender
from chalicelib.dal.conversations import STATUSES, ConversationRepository
from chalicelib.dal.messages import MessageRepository
from chalicelib.dal.models import ConversationItem, MemberItem, StoreItem
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.message_history import message_view, parse_limit, sync_page
from chalicelib.text_safety import clean_text

MAX_TEXT = 2000


class StaffConversations:
    def __init__(
        self,
        stores: Any,
        conversations: ConversationRepository,
        messages: MessageRepository,
        replies: ReplySender,
        video: Any,
        clock: Clock,
        member_lookup: Callable[[str, str], MemberItem | None],
        hand_offs: Any = None,
        reports: Any = None,  # services/report_events.py ReportEvents: staff first-response times
    ) -> None:
        self._reports = reports
        self._stores = stores
        self._conversations = conversations
        self._messages = messages
        self._replies = replies
        self._video = video
        self._clock = clock
        self._member = member_lookup
        self._hand_offs = hand_offs  # issue 17 part 3: a reply or a status ends her wait for a person

    def inbox(
        self, staff: auth.Staff, store_id: str, status: str | None, limit: str | None, cursor: str | None
    ) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.read")
        size = parse_limit(limit)
        tz = ZoneInfo(store.timezone)
        if status:
            if status not in STATUSES:
                raise ValidationFailed("bad status", {"status": "one of " + ", ".join(STATUSES)})
            page = self._conversations.inbox(store_id, status, size, cursor)
            return {"items": [conversation_view(c, tz) for c in page.items], "next_cursor": page.next_cursor}
        if cursor:
            raise ValidationFailed("a cursor needs a status", {"cursor": "page one status at a time"})
        # No status: what needs an answer -- handed-off conversations first, then open ones.
        items = []
        for wanted in ("needs_human", "open"):
            items += self._conversations.inbox(store_id, wanted, size, None).items
        return {"items": [conversation_view(c, tz) for c in items[:size]], "next_cursor": None}

    def messages(
        self,
        staff: auth.Staff,
        store_id: str,
        conversation_id: str,
        limit: str | None,
        cursor: str | None,
        order: str | None,
        since_seq: str | None = None,
    ) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.read")
        conversation = self._conversation(store_id, conversation_id)
        if order not in (None, "", "asc", "desc"):
            raise ValidationFailed("bad order", {"order": "asc (oldest first, for sync) or desc"})
        tz = ZoneInfo(store.timezone)
        if since_seq is not None:
            events = sync_page(
                self._messages,
                store_id,
                conversation.member_id,
                since_seq,
                limit,
                cursor,
                tz,
                conversation.read_up_to,
            )
            return {"conversation": conversation_view(conversation, tz)} | events
        next_seq = self._messages.last_seq(
            store_id, conversation.member_id
        )  # before the page (see sync_page)
        page = self._messages.page(
            store_id, conversation.member_id, parse_limit(limit), cursor or None, newest_first=order == "desc"
        )
        return {
            "conversation": conversation_view(conversation, tz),
            "items": [message_view(m, tz, conversation.read_up_to) for m in page.items],
            "next_cursor": page.next_cursor,
            "next_seq": next_seq,
        }

    def mark_read(self, staff: auth.Staff, store_id: str, conversation_id: str) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.mark_read")
        conversation = self._conversation(store_id, conversation_id)
        newest = self._messages.page(store_id, conversation.member_id, 1, None).items
        up_to = newest[0].sk if newest else "MSG#"
        updated = self._conversations.mark_read(store_id, conversation.member_id, up_to)
        if updated is None:  # deleted in between (an erasure)
            raise NotFound("no such conversation")
        return {"conversation": conversation_view(updated, ZoneInfo(store.timezone))}

    def set_status(
        self, staff: auth.Staff, store_id: str, conversation_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.status")
        conversation = self._conversation(store_id, conversation_id)
        status = body.get("status")
        if status not in ("open", "resolved"):
            raise ValidationFailed("bad status", {"status": "open (hand back to automation) or resolved"})
        updated = self._conversations.set_status(store_id, conversation.member_id, status)
        if self._hand_offs is not None:
            self._hand_offs.answered(store_id, conversation.member_id)
            updated = self._conversations.get(store_id, conversation.member_id) or updated
        if status == "resolved":
            # The complaint is handled: automated marketing may reach this member again.
            self._conversations.set_member_flags(
                conversation.chain_id, conversation.member_id, marketing_paused=False
            )
        return {"conversation": conversation_view(updated, ZoneInfo(store.timezone))}

    def reply(
        self, staff: auth.Staff, store_id: str, conversation_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.reply")
        conversation = self._conversation(store_id, conversation_id)
        text = body.get("text")
        text = clean_text(text) if isinstance(text, str) else text
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValidationFailed("bad text", {"text": f"1 to {MAX_TEXT} characters"})
        client_id = body.get("client_message_id") or secrets.token_hex(8)
        if not isinstance(client_id, str) or not is_id(client_id):
            raise ValidationFailed("bad client_message_id", {"client_message_id": "letters, digits, -_.:@"})
        member = self._member(conversation.chain_id, conversation.member_id)
        message, delivery = self._replies.staff_message(
            conversation, store, member, text.strip(), staff.subject, client_id
        )
        if self._reports is not None:  # staff answered her (whether or not a channel reached her)
            self._reports.staff_answered(conversation, self._clock.now())
        stored = self._conversations.message(message.pk, message.sk) or message
        if self._hand_offs is not None and stored.status != "failed":
            self._hand_offs.answered(store_id, conversation.member_id)
        return {
            "message": message_view(stored, ZoneInfo(store.timezone), None),
            "delivery": delivery.body(),
            "client_message_id": client_id,
        }

    def start_video(self, staff: auth.Staff, store_id: str, conversation_id: str) -> dict[str, Any]:
        store = self._authorize(staff, store_id, "conversations.video")
        conversation = self._conversation(store_id, conversation_id)
        return self._video.start(conversation, store, staff)

    # ---------------------------------------------------------------------------------------------
    def _authorize(self, staff: auth.Staff, store_id: str, action: str) -> StoreItem:
        return auth.authorize_store(staff, self._stores, store_id, action)

    def _conversation(self, store_id: str, conversation_id: str) -> ConversationItem:
        conversation = self._conversations.get(store_id, conversation_id) if is_id(conversation_id) else None
        if conversation is None:
            raise NotFound("no such conversation")
        return conversation
