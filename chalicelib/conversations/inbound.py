"""A member's message, from any channel: stored once (before anyone acknowledges it), understood, acted on.

`receive` writes the message, its provider-id receipt and the conversation in one transaction, so a
provider's retry finds the receipt and changes nothing. `process` classifies the text and runs the
actions that data (actions.toml) names for its intent -- each action idempotent for the message, so
a retried worker never acts twice.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.clock import Clock
from chalicelib.conversations.chat_booking import Asked, ChatBooking
from chalicelib.conversations.hand_off import guard
from chalicelib.conversations.hand_offs import view_fields as hand_off_fields
from chalicelib.conversations.outbound import ReplySender
from chalicelib.dal.conversations import ConversationRepository, PendingOffer, StoredInbound
from chalicelib.dal.messages import MessageRepository
from chalicelib.dal.models import BookingItem, ConversationItem, MessageItem, StoreItem
from chalicelib.journeys import texts
from chalicelib.journeys.plan import ACTIVE_STATUSES
from chalicelib.metrics import ACTION_METRICS, INTENT_METRICS, NO_METRICS, REPLIES, Counter
from chalicelib.observability import logger
from chalicelib.services.feedback import feedback_actions, photo_actions
from chalicelib.text_safety import clean_name, clean_text

RECEIPT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    provider_message_id: str
    chain_id: str
    store_id: str
    member_id: str
    member_name: str
    msg_type: str
    text: str
    media_url: str | None
    sent_at: datetime
    sender_address: str | None = None  # phone, openid or Agora user the member wrote from
    unknown_sender: bool = False  # an SMS from a number no member of the chain gave

    def __post_init__(self) -> None:
        # Every channel's parser ends here (WeChat, Agora, SMS, the generic webhook): no bidi or control
        # characters reach the conversation, the staff inbox or the classifier (text_safety.py).
        object.__setattr__(self, "text", clean_text(self.text or ""))
        object.__setattr__(self, "member_name", clean_name(self.member_name or ""))


@dataclass(frozen=True)
class Handling:
    conversation_id: str
    intent: str
    sentiment: str
    actions: list[dict[str, Any]]
    duplicate: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "intent": self.intent,
            "sentiment": self.sentiment,
            "actions": self.actions,
        }


@cache
def _action_table() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).parent / "actions.toml").read_text(encoding="utf-8"))


def needs_upcoming_booking(intent: str) -> bool:
    """Whether what the intent does depends on her having an upcoming booking at the store (actions.toml)."""
    return intent in _action_table()["without_upcoming_booking"]


def actions_for(intent: str, sentiment: str, upcoming: bool = True, books_here: bool = True) -> list[str]:
    """The actions for a message that means `intent`; `upcoming`: she has a booking ahead at the store (the
    table's `without_upcoming_booking` row replaces the intent's when she has none and it names the intent);
    `books_here`: the store takes bookings in Chairside (else the `booking_elsewhere` row replaces the intent's)."""
    table = _action_table()
    rows = table["intents"] if upcoming else {**table["intents"], **table["without_upcoming_booking"]}
    if not books_here:
        rows = {**rows, **table["booking_elsewhere"]}
    replaced = table.get("sentiment_replaces", {}).get(sentiment, {})
    names = [replaced.get(name, name) for name in rows.get(intent, [])]
    for name in table["sentiment"].get(sentiment, []):
        if _base(name) not in {_base(n) for n in names}:  # "needs_human:question" already hands her over
            names.insert(0 if name == "needs_human" else len(names), name)
    return names


def pick_actions() -> list[str]:
    """The actions for a message that picks a slot of the offer pending in her conversation (actions.toml)."""
    return list(_action_table()["pending_offer"]["pick"])


def _base(action: str) -> str:
    return action.partition(":")[0]


def message_id(channel: str, provider_message_id: str) -> str:
    digest = hashlib.sha256(f"{channel}\x00{provider_message_id}".encode()).hexdigest()[:20]
    return f"in-{channel}-{digest}"


class InboundService:
    def __init__(
        self,
        conversations: ConversationRepository,
        messages: MessageRepository,
        stores: Any,
        booking_marks: Any,
        classifier: Callable[[], Any],
        replies: ReplySender,
        booking_system: Any,
        staff_alerts: Any,
        clock: Clock,
        campaign_replies: Callable[[str, str, datetime], None] | None = None,
        chat_booking: ChatBooking | None = None,
        second_opinion: Callable[..., Any] | None = None,
        hand_offs: Any = None,
        feedback: Any = None,  # services/feedback.py FeedbackService (issue 17); None: no feedback intake
        metrics: Counter = NO_METRICS,
        reports: Any = None,  # services/report_events.py ReportEvents: replies, complaints, opt-outs
    ) -> None:
        self._metrics = metrics
        self._conversations = conversations
        self._reports = reports
        self._messages = messages
        self._stores = stores
        self._booking_marks = booking_marks
        self._classifier = classifier
        self._replies = replies
        self._booking_system = booking_system
        self._staff_alerts = staff_alerts
        self._clock = clock
        self._campaign_replies = campaign_replies  # counts her reply for a campaign she had just before
        # Booking by chat (chat_booking.py); None: a book request goes to staff as at an `external` store.
        self._chat_booking = chat_booking
        # A hosted second opinion for unsure answers, per chain (understanding/bedrock.py); asynchronous only.
        self._second_opinion = second_opinion
        # Issue 17 part 3: a hand-off goes to someone online, else the manager; the response alarm (hand_offs.py).
        self._hand_offs = hand_offs
        self._feedback = feedback

    # --- storing ----------------------------------------------------------------------------------
    def receive(self, inbound: InboundMessage) -> StoredInbound:
        now = self._clock.now()
        mid = message_id(inbound.channel, inbound.provider_message_id)
        message = self._messages.received(
            message_id=mid,
            channel=inbound.channel,
            provider_message_id=inbound.provider_message_id,
            chain_id=inbound.chain_id,
            store_id=inbound.store_id,
            member_id=inbound.member_id,
            text=inbound.text,
            msg_type=inbound.msg_type,
            media_url=inbound.media_url,
            sender=inbound.sender_address,
            now=now,
        )
        stored = self._conversations.store_inbound(
            message,
            inbound.channel,
            inbound.provider_message_id,
            inbound.member_name,
            now,
            int((now + RECEIPT_RETENTION).timestamp()),
            unknown_sender=inbound.unknown_sender,
        )
        if not stored.duplicate:
            conversation = self._conversations.get(inbound.store_id, inbound.member_id)
            if conversation is not None and conversation.status == "resolved":
                self._conversations.set_status(inbound.store_id, inbound.member_id, "open")  # she wrote again
        logger.info(
            "inbound message stored",
            extra={
                "channel": inbound.channel,
                "store_id": inbound.store_id,
                "message_id": mid,
                "duplicate": stored.duplicate,
            },
        )
        return stored

    # --- understanding and acting -----------------------------------------------------------------
    def process(self, message: MessageItem, *, asynchronous: bool = False) -> Handling:
        """`asynchronous`: called by the inbound worker, not inside a request (only then may the chain's hosted
        second opinion be asked)."""
        conversation_id = message.member_id
        if message.processed:
            return Handling(
                conversation_id,
                message.intent or "other",
                message.sentiment or "neutral",
                message.actions or [],
                duplicate=True,
            )
        store = self._stores.get(message.store_id)
        now = self._clock.now()
        booking = self._conversations.latest_booking(message.chain_id, message.member_id, message.store_id)
        books_here = self._chat_booking is not None and self._chat_booking.books_here(store)
        # While slots offered by chat are pending, "1" / "第二个" picks one; otherwise it keeps its usual meaning.
        picked = self._chat_booking.pending_pick(message, now) if self._chat_booking and books_here else None
        if picked is not None:
            understood, intent, sentiment = None, "book", "neutral"
        elif message.msg_type in ("text", "voice", "emoji") and message.text:
            understood = self._classifier().classify(
                message.text, category=booking.category if booking else None, locale=None
            )
            if asynchronous and self._second_opinion is not None:
                understood = self._second_opinion(
                    message.chain_id, message.text, understood, category=booking.category if booking else None
                )
            intent, sentiment = understood.intent, understood.sentiment
        else:
            understood, intent, sentiment = None, "other", "neutral"

        ahead = None
        if needs_upcoming_booking(intent):
            # A confirm, cancel or reschedule is about her next booking here: one whose start is still ahead.
            ahead = self._conversations.upcoming_booking(
                message.chain_id, message.member_id, message.store_id, now, ACTIVE_STATUSES
            )
            booking = ahead or booking  # the answer speaks of that booking, never of a past one
        context = _Context(
            message=message,
            store=store,
            booking=booking,
            understood=understood,
            now=now,
            upcoming=ahead,
            picked=picked,
        )
        # Issue 17: her answer to the feedback request is recorded on the booking and its row of actions.toml
        # [feedback] replaces the intent's; a photo with no text after a visit goes to staff.
        feedback = (
            self._feedback.answer(message, understood, now) if self._feedback and picked is None else None
        )
        if feedback is not None and feedback.answers:
            names = feedback_actions(feedback.sentiment)
        elif (
            picked is None
            and self._feedback
            and understood is None
            and self._feedback.photo_after_visit(message, now)
        ):
            names = photo_actions()
        elif picked is not None:
            names = pick_actions()
        else:
            upcoming = ahead is not None or not needs_upcoming_booking(intent)
            names = actions_for(intent, sentiment, upcoming=upcoming, books_here=books_here)
            # Unsure or complaint-leaning: to a person, not acted on (hand_off.py, actions.toml; issue 16).
            names = guard(
                names,
                understood,
                intent,
                upcoming=upcoming,
                # asked only when the model guesses a cancel or move of a reply read otherwise
                has_upcoming=lambda: (
                    ahead is not None
                    or self._conversations.upcoming_booking(
                        message.chain_id, message.member_id, message.store_id, now, ACTIVE_STATUSES
                    )
                    is not None
                ),
            )
        results = [self._run(name, context) for name in names]
        if feedback is not None:
            results.insert(0, feedback.result())
        if self._campaign_replies is not None:
            self._campaign_replies(message.chain_id, message.member_id, message.created_at)
        if self._reports is not None:  # before marking it processed: a retry after a crash counts it (once)
            self._reports.member_message(message, intent, names)
        self._conversations.mark_processed(message, intent=intent, sentiment=sentiment, actions=results)
        self._count(intent, results)
        logger.info(
            "inbound message understood",
            extra={
                "message_id": message.message_id,
                "intent": intent,
                "sentiment": sentiment,
                "actions": [r["action"] for r in results],
            },
        )
        return Handling(conversation_id, intent, sentiment, results)

    def _count(self, intent: str, results: list[dict[str, Any]]) -> None:
        """The reply, and what it was and led to, as operational metrics (chalicelib/metrics.py)."""
        self._metrics.count(REPLIES)
        if intent in INTENT_METRICS:
            self._metrics.count(INTENT_METRICS[intent])
        for action in {_base(r["action"]) for r in results}:
            if action in ACTION_METRICS:
                self._metrics.count(ACTION_METRICS[action])

    def _run(self, name: str, ctx: _Context) -> dict[str, Any]:
        action, _, argument = name.partition(":")
        handler = getattr(self, f"_do_{action}")
        result = handler(ctx, argument) if argument else handler(ctx)
        return {"action": name, **result}

    def _do_confirm_booking(self, ctx: _Context) -> dict[str, Any]:
        booking = (
            ctx.upcoming
            if ctx.upcoming is not None and ctx.upcoming.status == "booked"
            else self._next_booking(ctx, ("booked",))
        )
        if booking is None:
            return {"result": "no_booking_awaiting_confirmation"}
        confirmed = self._booking_marks.mark_confirmed(
            ctx.message.chain_id, booking.booking_id, f"reply-{ctx.message.message_id}"
        )
        return {"result": "confirmed" if confirmed else "not_confirmable", "booking_id": booking.booking_id}

    def _do_notify_booking_system(self, ctx: _Context) -> dict[str, Any]:
        booking = ctx.upcoming or self._next_booking(ctx, ACTIVE_STATUSES)
        requested = (ctx.understood.requested if ctx.understood else None) or None
        return self._booking_system.request_change(
            chain_id=ctx.message.chain_id,
            intent=ctx.understood.intent if ctx.understood else "other",
            message=ctx.message,
            booking=booking,
            requested=requested,
            now=ctx.now,
        )

    def _do_offer_slots(self, ctx: _Context) -> dict[str, Any]:
        if self._chat_booking is None or ctx.store is None:
            return {"result": "skipped", "reason": "no self-booking here"}
        asked = Asked(
            service=ctx.understood.service if ctx.understood else None,
            requested=ctx.understood.requested if ctx.understood else None,
        )
        return self._chat_booking.offer(
            ctx.message, ctx.store, asked, ctx.now, ctx.written_locale, booking=ctx.booking
        )

    def _do_book_offered_slot(self, ctx: _Context) -> dict[str, Any]:
        if self._chat_booking is None or ctx.store is None or ctx.picked is None:
            return {"result": "skipped", "reason": "no pick"}
        offer, number = ctx.picked
        booked = self._chat_booking.book_pick(
            ctx.message, ctx.store, offer, number, ctx.now, booking=ctx.booking
        )
        return {"pick": number, **booked}

    def _do_needs_human(self, ctx: _Context, reason: str | None = None) -> dict[str, Any]:
        reason = reason or (ctx.understood.intent if ctx.understood else "other")
        self._conversations.set_status(ctx.message.store_id, ctx.message.member_id, "needs_human", reason)
        if self._hand_offs is None:
            return {"result": "needs_human"}
        ctx.routed.update(self._hand_offs.opened(ctx.store, ctx.message, ctx.booking, reason))
        return {"result": "needs_human", **ctx.routed}

    def _do_notify_staff(self, ctx: _Context, reason: str | None = None) -> dict[str, Any]:
        reason = reason or (ctx.understood.intent if ctx.understood else "other")
        if ctx.routed.get("routing") in ("assigned", "kept"):
            return {"result": "assigned", "assignee": ctx.routed.get("assignee")}  # someone online has her
        return self._staff_alerts.alert(ctx.store, ctx.message, reason)

    def _do_pause_marketing(self, ctx: _Context) -> dict[str, Any]:
        self._conversations.set_member_flags(
            ctx.message.chain_id, ctx.message.member_id, marketing_paused=True
        )
        return {"result": "marketing_paused"}

    def _do_opt_out(self, ctx: _Context) -> dict[str, Any]:
        self._conversations.set_member_flags(
            ctx.message.chain_id, ctx.message.member_id, marketing_consent=False, opted_out_at=ctx.now
        )
        return {"result": "opted_out"}

    def _do_reply(self, ctx: _Context, kind: str) -> dict[str, Any]:
        if ctx.store is None:
            return {"result": "skipped", "reason": "unknown store"}
        extra: dict[str, Any] = {}
        if kind == "reply_aftercare":
            issue = ctx.understood.issue if ctx.understood else None
            locale = texts.supported_locale(ctx.locale)
            if issue:
                extra["advice"] = issue["advice_zh"] if locale == "zh-CN" else issue["advice_en"]
            else:
                extra["advice"] = texts.care_tip(ctx.booking.category if ctx.booking else "default", locale)
        if kind == "reply_reschedule_ack":
            requested = ctx.understood.requested if ctx.understood else None
            extra["requested"] = (requested or {}).get("text") or ""
        text = texts.render_reply(kind, _message_context(ctx, ctx.store), **extra)
        return self._replies.reply(ctx.message, ctx.store, text, kind=kind, booking=ctx.booking)

    def _next_booking(self, ctx: _Context, statuses: tuple[str, ...]) -> BookingItem | None:
        """Her next booking here whose start is still ahead: a booking that has started is never acted on."""
        return self._conversations.upcoming_booking(
            ctx.message.chain_id, ctx.message.member_id, ctx.message.store_id, ctx.now, statuses
        )


@dataclass(frozen=True)
class _Context:
    message: MessageItem
    store: StoreItem | None
    booking: BookingItem | None
    understood: Any
    now: datetime
    upcoming: BookingItem | None = (
        None  # her next booking here starting after `now`, when the intent needs one
    )
    picked: tuple[PendingOffer, int] | None = None  # the offer pending in her conversation and her pick of it
    routed: dict[str, Any] = field(default_factory=dict)  # where her hand-off went (issue 17 part 3)

    @property
    def locale(self) -> str:
        if self.booking is not None and self.booking.member.locale:
            return self.booking.member.locale
        if self.message.text and any("\u4e00" <= ch <= "\u9fff" for ch in self.message.text):
            return "zh-CN"
        return self.store.locale if self.store else "zh-CN"

    @property
    def written_locale(self) -> str:
        """The language she wrote in (Chinese characters, else Latin letters), else `locale`."""
        text = self.message.text or ""
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            return "zh-CN"
        if any("a" <= ch.lower() <= "z" for ch in text):
            return "en"
        return self.locale


def _message_context(ctx: _Context, store: StoreItem) -> texts.MessageContext:
    booking: dict[str, Any] = {}
    if ctx.booking is not None:
        booking = {
            "id": ctx.booking.booking_id,
            "start": ctx.booking.start,
            "duration_minutes": int(ctx.booking.duration_minutes),
            "service_name": ctx.booking.service_name,
            "service_category": ctx.booking.category,
            "stylist_name": ctx.booking.stylist_name,
        }
    return texts.MessageContext(
        locale=ctx.locale,
        timezone=store.timezone,
        store={
            "name": store.name,
            "address": store.address,
            "directions": store.directions,
            "phone": store.phone,
        },
        member={"name": ctx.booking.member.name if ctx.booking else ""},
        booking=booking,
    )


def conversation_view(conversation: ConversationItem, tz: Any) -> dict[str, Any]:
    return {
        "id": conversation.member_id,
        "member_id": conversation.member_id,
        "member_name": conversation.member_name,
        "status": conversation.status,
        "unread": int(conversation.unread or 0),
        "last_message_at": conversation.last_message_at.astimezone(tz).isoformat(),
        "last_preview": conversation.last_preview,
        "last_inbound_channel": conversation.last_inbound_channel,
        "needs_human_reason": conversation.needs_human_reason,
        "unknown_sender": bool(conversation.unknown_sender),
        **hand_off_fields(conversation, tz),  # issue 17 part 3: assignee, waiting_since
    }
