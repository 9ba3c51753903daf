"""Feedback on a booking (issue 17): which booking a member's answer is about, and writing it once.

Only this module knows how the answer sits on the booking item (`feedback_*` attributes) and how the feedback
request is found in her conversation. Access patterns 230-235 in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.expressions.update import Action

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.messages import sort_time
from chalicelib.dal.models import BookingItem, MessageItem, whole

SENT_STATUSES = ("sent", "delivered", "read")
MAX_MESSAGES_READ = 50  # a conversation's messages since the window opened, newest first


@dataclass(frozen=True)
class StoredFeedback:
    """What the booking holds after a write: `written` False when it held an answer already."""

    written: bool
    booking: BookingItem | None


class FeedbackRepository:
    def requested_booking(
        self,
        store_id: str,
        member_id: str,
        since: datetime,
        request_kind: str,
        answered_kinds: tuple[str, ...],
    ) -> str | None:
        """The booking of the latest `request_kind` message sent to her in this conversation since `since`, unless
        a later message of `answered_kinds` (a reminder of another booking...) came after it: her reply then
        answers that one. One Query of the conversation, newest first, at most 50 items."""
        for message in MessageItem.query(
            MessageItem.pk_for(store_id, member_id),
            MessageItem.sk.between(f"MSG#{sort_time(since.astimezone(UTC))}", "MSG#~"),
            scan_index_forward=False,
            limit=MAX_MESSAGES_READ,
            page_size=MAX_MESSAGES_READ,
        ):
            if message.direction != "out" or message.status not in SENT_STATUSES:
                continue
            if message.kind == request_kind:
                return message.booking_id
            if message.kind in answered_kinds:
                return None
        return None

    def record(
        self,
        chain_id: str,
        booking_id: str,
        *,
        score: int | None,
        sentiment: str,
        message_id: str,
        at: datetime,
    ) -> StoredFeedback:
        """Write her answer on the booking once: never over an earlier answer (one conditional UpdateItem). The
        booking as it is afterwards, read consistently when the write was refused (the answer it holds)."""
        item = BookingItem(*BookingItem.key(chain_id, booking_id))
        actions: list[Action] = [
            BookingItem.feedback_sentiment.set(sentiment),
            BookingItem.feedback_message_id.set(message_id),
            BookingItem.feedback_at.set(at),
        ]
        if score is not None:
            actions.append(BookingItem.feedback_score.set(score))
        try:
            item.update(
                actions=actions,
                condition=BookingItem.pk.exists() & BookingItem.feedback_sentiment.does_not_exist(),
            )
        except Exception as exc:  # UpdateError wraps the ClientError
            if not is_conditional_failure(exc):
                raise
            return StoredFeedback(False, self.booking(chain_id, booking_id))
        return StoredFeedback(True, item)

    @staticmethod
    def booking(chain_id: str, booking_id: str) -> BookingItem | None:
        try:
            return BookingItem.get(*BookingItem.key(chain_id, booking_id), consistent_read=True)
        except BookingItem.DoesNotExist:
            return None

    @staticmethod
    def keep_coupon(chain_id: str, booking_id: str, code: str) -> bool:
        """The booking's thank-you coupon, once: False when it has one already (a retry issued it)."""
        item = BookingItem(*BookingItem.key(chain_id, booking_id))
        try:
            item.update(
                actions=[BookingItem.feedback_coupon_code.set(code)],
                condition=BookingItem.pk.exists() & BookingItem.feedback_coupon_code.does_not_exist(),
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    @staticmethod
    def visited_since(chain_id: str, member_id: str, store_id: str, since: datetime, until: datetime) -> bool:
        """Whether she had a visit here (a completed booking) starting between `since` and `until`: one Query of
        her bookings by start (gsi3, keys only), then BatchGetItem of those few."""
        found = whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id),
                BookingItem.gsi3sk.between(
                    since.astimezone(UTC).isoformat(), until.astimezone(UTC).isoformat()
                ),
                limit=20,
            ),
        )
        return any(b.store_id == store_id and b.status == "completed" for b in found)
