"""Answers to members (automatic or from staff) on the channel they use, obeying each channel's law;
alerts to a store; change requests to the chain's booking system."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.channels.base import Channel, Contact, Outgoing, provider_of, reports_receipts, send_outgoing
from chalicelib.channels.http import ProviderHttp, shared_http
from chalicelib.clock import Clock
from chalicelib.dal.bookings import chain_of
from chalicelib.dal.conversations import ConversationRepository
from chalicelib.dal.messages import Claim, MessageRepository, sort_time, sort_time_of
from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem, MessageItem, StoreItem
from chalicelib.errors import DeliveryInProgress, PermanentSendError, SendError
from chalicelib.journeys import texts
from chalicelib.metrics import MESSAGES_FAILED, MESSAGES_SENT, NO_METRICS, Counter
from chalicelib.observability import logger
from chalicelib.services.channel_router import FALLBACK_PERMANENT, Route
from chalicelib.services.signatures import sign

LEASE_SECONDS = 120
RECEIPT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Delivery:
    channel: str | None
    status: str  # sent | failed
    note: str | None = None
    fallback_from: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "status": self.status,
            "note": self.note,
            "fallback_from": self.fallback_from,
        }


class ChannelLaw:
    """Which channel may carry a message to this member right now, in order of preference."""

    def __init__(self, window_open: Callable[[datetime | None, int, datetime], bool]) -> None:
        self._window_open = window_open

    def route(
        self,
        conversation: ConversationItem | None,
        contact: Contact,
        now: datetime,
        available: Mapping[str, Channel],
    ) -> tuple[list[str], str | None]:
        """Channels to try, and a note for staff when the member's own channel is not allowed."""
        first = (conversation.last_inbound_channel if conversation else None) or "sms"
        note = None
        order = [first]
        if first == "wechat":
            window = self._window_open(
                conversation.last_inbound_at if conversation else None,
                int(conversation.sent_since_inbound or 0) if conversation else 0,
                now,
            )
            if not window:
                order = ["wechat_template"]
                note = "outside WeChat's 48-hour customer-service window"
        order += [c for c in ("sms", "email") if c not in order]
        usable = [c for c in order if c == "web" or (c in available and available[c].can_reach(contact))]
        return usable, note


class ReplySender:
    """Sends one answer, recorded in the conversation; claimed first so a retry never sends twice."""

    def __init__(
        self,
        messages: MessageRepository,
        conversations: ConversationRepository,
        channels_for: Callable[[StoreItem], Mapping[str, Channel]],
        law: ChannelLaw,
        clock: Clock,
        wall: Callable[[], float] = time.time,
        metrics: Counter = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._messages = messages
        self._conversations = conversations
        self._channels_for = channels_for
        self._law = law
        self._clock = clock
        self._wall = wall

    def reply(
        self,
        inbound: MessageItem,
        store: StoreItem,
        text: str,
        *,
        kind: str,
        booking: BookingItem | None = None,
    ) -> dict[str, Any]:
        """An automatic answer to `inbound`: on its channel, to the address it came from."""
        contact = _contact_for(inbound.channel, inbound.sender, inbound.member_id)
        if booking is not None:
            contact = Contact(
                phone=contact.phone or booking.member.phone,
                email=booking.member.email,
                wechat_openid=contact.wechat_openid,
                agora_user=contact.agora_user,
            )
        sk_time = sort_time_of(inbound)
        message = self._outbound(
            inbound.store_id,
            inbound.member_id,
            inbound.chain_id,
            kind,
            text,
            f"re-{inbound.message_id.removeprefix('in-')}-{kind}",
            sk_time,
        )
        conversation = self._conversations.get(inbound.store_id, inbound.member_id)
        delivery = self.send(message, store, contact, conversation)
        return {
            "result": delivery.status,
            "channel": delivery.channel,
            "message_id": message.message_id,
            **({"note": delivery.note} if delivery.note else {}),
        }

    def send(
        self,
        message: MessageItem,
        store: StoreItem,
        contact: Contact,
        conversation: ConversationItem | None,
        routes: list[Route] | None = None,
    ) -> Delivery:
        """`routes`: the channel router's (services/channel_router.py) for a message that is not an answer (care,
        campaigns); without them, the channel law's: her own channel first."""
        claim = self._messages.claim(message, int(self._wall()) + LEASE_SECONDS, int(self._wall()))
        if claim is Claim.DONE:
            return Delivery(message.channel, "sent", "already sent")
        if claim is Claim.BUSY:
            raise DeliveryInProgress("another worker is sending this reply")
        channels = self._channels_for(store)
        if routes is not None:
            return self._send_routed(message, store, contact, routes, channels)
        now = self._clock.now()
        order, note = self._law.route(conversation, contact, now, channels)
        failures: list[str] = []
        first = order[0] if order else None
        for name in order:
            try:
                provider_id = (
                    "web" if name == "web" else channels[name].send(contact, message.text, store.name)
                )
            except SendError as exc:
                failures.append(exc.reason)
                continue
            channel = "wechat" if name == "wechat_template" else name
            self._messages.finish(
                message,
                status="sent",
                at=self._clock.now(),
                channel=channel,
                provider_message_id=provider_id,
                error="; ".join(failures) or None,
                receipts=name != "web" and reports_receipts(channels[name], contact),
            )
            self._conversations.touch_outbound(message, self._clock.now(), customer_service=name == "wechat")
            self._metrics.count(MESSAGES_SENT)
            fallback = first if name != first else None
            if fallback and not note:
                note = f"{first} failed: {failures[0]}" if failures else None
            return Delivery(channel, "sent", note, fallback)
        reason = "; ".join(failures) or "no channel can reach this member"
        self._messages.finish(message, status="failed", at=self._clock.now(), channel=None, error=reason)
        self._conversations.touch_outbound(message, self._clock.now())
        self._metrics.count(MESSAGES_FAILED)
        logger.warning("reply not delivered", extra={"message_id": message.message_id, "reason": reason})
        return Delivery(None, "failed", f"{note + '; ' if note else ''}{reason}")

    def _send_routed(
        self,
        message: MessageItem,
        store: StoreItem,
        contact: Contact,
        routes: list[Route],
        channels: Mapping[str, Channel],
    ) -> Delivery:
        """The router's routes in order; a failure falls on to the next (care is not retried by channel)."""
        outgoing = Outgoing(
            kind=message.kind,
            text=message.text,
            subject=store.name,
            marketing=texts.is_marketing(message.kind),
            # email's unsubscribe link names the chain and member; WeChat's client_msg_id the message
            values={
                "chain_id": message.chain_id,
                "member_id": message.member_id,
                "message_id": message.message_id,
            },
        )
        failures: list[str] = []
        tried: list[str] = []
        for route in routes:
            channel = channels.get(route.channel)
            if channel is None or not channel.can_reach(contact):
                continue
            tried.append(route.channel)
            try:
                provider_id = send_outgoing(channel, contact, outgoing)
            except SendError as exc:
                failures.append(exc.reason)
                continue
            self._messages.finish(
                message,
                status="sent",
                at=self._clock.now(),
                channel=route.channel,
                provider_message_id=provider_id,
                error="; ".join(failures) or None,
                provider=provider_of(channel, contact),
                receipts=reports_receipts(channel, contact),
                route_reason=route.reason if len(tried) == 1 else FALLBACK_PERMANENT,
                tried_channels=tried,
            )
            self._conversations.touch_outbound(
                message, self._clock.now(), customer_service=route.channel == "wechat"
            )
            self._metrics.count(MESSAGES_SENT)
            return Delivery(route.channel, "sent", None, tried[0] if len(tried) > 1 else None)
        reason = "; ".join(failures) or "no channel can reach this member"
        self._messages.finish(
            message, status="failed", at=self._clock.now(), channel=None, error=reason, tried_channels=tried
        )
        self._conversations.touch_outbound(message, self._clock.now())
        self._metrics.count(MESSAGES_FAILED)
        return Delivery(None, "failed", reason)

    def _outbound(
        self,
        store_id: str,
        member_id: str,
        chain_id: str,
        kind: str,
        text: str,
        message_id: str,
        sk_time: str,
        sender: str | None = None,
    ) -> MessageItem:
        return self._messages.reply_message(
            store_id=store_id,
            member_id=member_id,
            chain_id=chain_id,
            kind=kind,
            text=text,
            message_id=message_id,
            sorts_at=sk_time,
            sender=sender,
            now=self._clock.now(),
        )

    def staff_message(
        self,
        conversation: ConversationItem,
        store: StoreItem,
        member: MemberItem | None,
        text: str,
        staff_subject: str,
        client_message_id: str,
    ) -> tuple[MessageItem, Delivery]:
        now = self._clock.now()
        # She reads which store is writing: the same store-name line as every other text (journeys/texts.py).
        text = texts.from_store(
            text,
            texts.MessageContext(
                locale=(member.locale if member else None) or store.locale,
                timezone=store.timezone,
                store={"name": store.name},
                member={},
                booking={},
            ),
        )
        message = self._outbound(
            conversation.store_id,
            conversation.member_id,
            conversation.chain_id,
            "staff_reply",
            text,
            f"st-{client_message_id}",
            sort_time(now),
            sender=staff_subject,
        )
        # The profile's addresses, else the one she last wrote from (a WeChat follower with no booking yet).
        written_from = _contact_for(
            conversation.last_inbound_channel, conversation.last_inbound_address, conversation.member_id
        )
        contact = Contact(
            phone=(member.phone if member else None) or written_from.phone,
            email=member.email if member else None,
            wechat_openid=(member.wechat_openid if member else None) or written_from.wechat_openid,
            agora_user=written_from.agora_user or conversation.member_id,
        )
        earlier = self._conversations.claim_client_message(
            conversation.chain_id,
            conversation.store_id,
            client_message_id,
            message,
            int((now + RECEIPT_RETENTION).timestamp()),
        )
        if earlier is not None:
            return earlier, Delivery(earlier.channel, earlier.status, "already sent (same client_message_id)")
        return message, self.send(message, store, contact, conversation)


def _contact_for(channel: str | None, address: str | None, member_id: str) -> Contact:
    if channel == "sms":
        return Contact(phone=address)
    if channel == "wechat":
        return Contact(wechat_openid=address)
    if channel == "agora":
        return Contact(agora_user=address or member_id)
    return Contact()


class AgoraChatChannel:
    name = "agora"

    def __init__(self, client: Any) -> None:
        self._client = client

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.agora_user)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        if not contact.agora_user:
            raise PermanentSendError("agora: the member has no Agora Chat user")
        return self._client.send_text(contact.agora_user, text)


class StaffAlerts:
    """Tells a store a message needs a person: a text to the store's phone, once per member message (a claim
    per message id, dal/staff_alerts.py), however often the inbound record is delivered again."""

    LEASE_SECONDS = 60

    def __init__(self, sms: Channel, claims: Any, wall: Callable[[], float]) -> None:
        self._sms = sms
        self._claims = claims  # dal.staff_alerts.StaffAlertClaims
        self._wall = wall

    def alert(
        self,
        store: StoreItem | None,
        message: MessageItem,
        reason: str,
        *,
        phone: str | None = None,
        claim_id: str | None = None,
        kind: str = "staff_alert",
        **extra: Any,
    ) -> dict[str, Any]:
        """`phone`: another number than the store's (its manager's, issue 17); `claim_id`: another alert about the
        same message (e.g. `<message id>:unanswered`), claimed once like the first; `kind`: its text (replies.toml)."""
        to = phone or (store.phone if store is not None else "")
        if store is None or not to:
            return {"result": "no_store_phone"}
        claim = claim_id or message.message_id
        now = int(self._wall())
        if not self._claims.claim(message.chain_id, claim, now + self.LEASE_SECONDS, now):
            return {"result": "already_alerted"}
        context = texts.MessageContext(
            locale=store.locale, timezone=store.timezone, store={"name": store.name}, member={}, booking={}
        )
        try:
            self._sms.send(
                Contact(phone=to),
                texts.render_reply(kind, context, reason=reason, **extra),
                store.name,
            )
        except SendError as exc:
            self._claims.release(message.chain_id, claim)  # the next delivery tries again
            return {"result": "failed", "error": exc.reason}
        self._claims.sent(message.chain_id, claim)
        return {"result": "alerted"}


class BookingSystemNotifier:
    """The booking system owns the calendar: a member's cancel or reschedule request goes back to it as
    a webhook signed exactly like the ones it sends us (same headers, same HMAC, the chain's secret)."""

    def __init__(
        self,
        secrets_for: Callable[[str], list[str]],
        wall: Callable[[], float] = time.time,
        timeout: float = 5.0,
        http: ProviderHttp | None = None,
    ) -> None:
        self._secrets_for = secrets_for
        self._wall = wall
        self._timeout = timeout
        self._http = http or shared_http()

    def request_change(
        self,
        *,
        chain_id: str,
        intent: str,
        message: MessageItem,
        booking: BookingItem | None,
        requested: dict | None,
        now: datetime,
    ) -> dict[str, Any]:
        return self.post(
            chain_id,
            {
                "event_id": f"chairside-{message.message_id}-{intent}",
                "type": f"member.{intent}_requested",
                "occurred_at": now.isoformat(),
                "store_id": message.store_id,
                "member_id": message.member_id,
                "booking_id": booking.booking_id if booking else None,
                "requested": requested,
                "message": {"id": message.message_id, "channel": message.channel, "text": message.text},
            },
        )

    def booking_marked(
        self, *, chain_id: str, booking: BookingItem, marked_by: str, now: datetime
    ) -> dict[str, Any]:
        """Staff marked a booking checked in or a no-show in the console: the calendar should know too. The
        event id names the booking version, so the booking system can drop a repeat."""
        return self.post(
            chain_id,
            {
                "event_id": f"chairside-{booking.booking_id}-{booking.status}-v{int(booking.version)}",
                "type": f"staff.booking_{booking.status}",
                "occurred_at": now.isoformat(),
                "store_id": booking.store_id,
                "member_id": booking.member.id,
                "booking_id": booking.booking_id,
                "marked_by": marked_by,
            },
        )

    def post(self, chain_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one signed event to the chain's booking system; the outcome, never an exception."""
        chain = chain_of(chain_id)
        url = chain.booking_webhook_url if chain else None
        secrets = self._secrets_for(chain_id)
        if not url or not url.startswith(("https://", "http://")) or not secrets:
            return {"result": "not_configured"}
        raw = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(self._wall()))
        headers = {
            "Content-Type": "application/json",
            "X-Chairside-Chain": chain_id,
            "X-Chairside-Timestamp": timestamp,
            "X-Chairside-Signature": sign(secrets[0], timestamp, raw),
        }
        try:
            response = self._http.request("POST", url, headers, raw, self._timeout)
        except (OSError, ValueError) as exc:
            return {"result": "failed", "error": type(exc).__name__, "event_id": body["event_id"]}
        if response.status >= 400:
            return {"result": "failed", "status": response.status, "event_id": body["event_id"]}
        return {"result": "sent", "status": response.status, "event_id": body["event_id"]}
