"""Send one due journey step -- exactly once in effect, never stale.

The step is checked against the booking as it is *now*: a step planned at an older booking version
(before a reschedule or cancel) or for a status the booking has left is dropped. The outbound message
is claimed in the conversation before any provider is called, keyed on (booking, step, booking
version), so redelivered or duplicated steps never send twice.

The channel is the router's (services/channel_router.py): its routes are tried in order, a permanent failure
falling on to the next. After a send on a channel with a receipt wait (routing.toml), when a later route could
still reach her, a receipt check goes on the steps queue with that delay; if the message is still only `sent`
when it arrives, the next untried route carries it once more (`fallback_no_receipt`), at most once per channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum
from typing import Any

from chalicelib.channels.base import (
    Channel,
    Contact,
    Outgoing,
    provider_of,
    pull_receipts,
    reports_receipts,
    send_outgoing,
)
from chalicelib.clock import Clock
from chalicelib.contracts.step import ReceiptCheck, StepMessage
from chalicelib.dal.bookings import BookingRepository
from chalicelib.dal.messages import Claim, MessageRepository
from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem, MessageItem, StoreItem
from chalicelib.errors import DeliveryInProgress, PermanentSendError, SendError, TransientSendError
from chalicelib.journeys import texts
from chalicelib.journeys.plan import SendFacts, conditions_hold, load_journey
from chalicelib.metrics import MESSAGES_FAILED, MESSAGES_SENT, NO_METRICS, Counter
from chalicelib.observability import logger
from chalicelib.services import channel_router
from chalicelib.services.channel_router import FALLBACK_NO_RECEIPT, FALLBACK_PERMANENT, Route
from chalicelib.services.feedback import settings_of, skip_reason
from chalicelib.services.receipt_sink import ReceiptSink
from chalicelib.services.stores import StoreDirectory

LEASE_SECONDS = 120
# What a receipt check may fall back from: still only sent (no receipt), or reported failed after the send.
FALLS_BACK = ("sent", "failed")


class Outcome(Enum):
    SENT = "sent"
    DUPLICATE = "duplicate"  # already sent (or failed for good) by an earlier delivery
    STALE = "stale"  # planned for a booking version that is no longer current
    SKIPPED = "skipped"  # the booking's state says this step no longer applies
    FAILED = "failed"  # every channel failed for good: dead-lettered with the reason


class DeadLetters:
    """Puts a step that failed for good on the steps DLQ, with the reason as message attributes."""

    def __init__(self, sqs_client: Any, dlq_url: str) -> None:
        self._sqs = sqs_client
        self._url = dlq_url

    def put(self, body: str, reason: str, kind: str = "unknown") -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                "failure_reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                "kind": {"DataType": "String", "StringValue": kind},
            },
        )


@dataclass(frozen=True)
class Attempt:
    number: int  # 1 for the first delivery of the step
    last: bool  # no retry will follow a transient failure


class ReceiptChecks:
    """Puts a step's receipt check on the steps queue, delayed by the route's receipt wait (at most 900 s)."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._url = queue_url

    def put(self, check: ReceiptCheck, delay_seconds: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._url, MessageBody=check.to_json(), DelaySeconds=max(0, min(900, delay_seconds))
        )


RouteInputs = Callable[[str, str, str], tuple[MemberItem | None, ConversationItem | None]]


@dataclass(frozen=True)
class _Prepared:
    booking: BookingItem
    store: StoreItem
    context: texts.MessageContext
    # Her profile and conversation when the step's conditions or text needed them already (read once, routed by).
    inputs: tuple[MemberItem | None, ConversationItem | None] | None = None


class StepDelivery:
    def __init__(
        self,
        bookings: BookingRepository,
        stores: StoreDirectory,
        messages: MessageRepository,
        channels_for: Callable[[StoreItem], Mapping[str, Channel]],  # ChannelRegistry.for_store
        dead_letters: DeadLetters,
        clock: Clock,
        wall_seconds: Callable[[], float],
        links: Any = None,  # services/member_links.py MemberLinks: the "manage my booking" link of a text
        *,
        route_inputs: RouteInputs,  # dal/routing.py: her profile and conversation
        window: channel_router.WindowRule,  # WeChat's customer-service window (channels/wechat/client.py)
        receipt_checks: ReceiptChecks | None = None,
        feedback: Any = None,  # services/feedback.py FeedbackService: the review request's link and coupon
        metrics: Counter = NO_METRICS,
        reports: Any = None,  # services/report_events.py ReportEvents: a no-show the journey marks is counted
        receipt_sink: ReceiptSink | None = None,  # services/receipts.py: receipts a check pulled
    ) -> None:
        self._receipt_sink = receipt_sink
        self._feedback = feedback
        self._metrics = metrics
        self._reports = reports
        self._links = links
        self._bookings = bookings
        self._stores = stores
        self._messages = messages
        self._channels_for = channels_for
        self._dead_letters = dead_letters
        self._clock = clock
        self._wall = wall_seconds
        self._route_inputs = route_inputs
        self._window = window
        self._receipt_checks = receipt_checks

    def deliver(self, step: StepMessage, attempt: Attempt) -> Outcome:
        prepared = self._prepare(step, mark=True)
        if isinstance(prepared, Outcome):
            return prepared
        booking, store = prepared.booking, prepared.store

        now = self._clock.now()
        message = self._messages.step_message(step, texts.render(step.kind, prepared.context), now)
        claim = self._messages.claim(message, int(self._wall()) + LEASE_SECONDS, int(self._wall()))
        if claim is Claim.DONE:
            return self._log(step, Outcome.DUPLICATE)
        if claim is Claim.BUSY:
            raise DeliveryInProgress("another worker is sending this step")

        contact, planned, settings = self._routes(step, booking, store, now, prepared.inputs)
        channels = self._channels_for(store)  # its WeChat and Agora ones built when a route names them
        outgoing = self._outgoing(
            step, message.text, prepared, settings, [channels.get(r.channel) for r in planned]
        )
        failures: list[str] = []
        tried: list[str] = []
        transient = False
        for route in planned:
            channel = channels.get(route.channel)
            if channel is None or not channel.can_reach(contact):
                continue
            tried.append(route.channel)
            try:
                provider_id = send_outgoing(channel, contact, outgoing)
            except TransientSendError as exc:
                transient = True
                failures.append(exc.reason)
                continue
            except PermanentSendError as exc:
                failures.append(exc.reason)
                continue
            reason = route.reason if len(tried) == 1 else _fallback_reason(transient)
            self._messages.finish(
                message,
                status="sent",
                at=self._clock.now(),
                channel=route.channel,
                provider_message_id=provider_id,
                error="; ".join(failures) or None,
                provider=provider_of(channel, contact),
                receipts=reports_receipts(channel, contact),
                route_reason=reason,
                tried_channels=tried,
            )
            self._metrics.count(MESSAGES_SENT)
            self._check_receipt_later(step, route.channel, planned, tried, channels, contact, settings)
            return self._log(
                step, Outcome.SENT, channel=route.channel, route_reason=reason, fallbacks=len(failures)
            )

        reason = "; ".join(failures) or "no channel can reach the member"
        if transient and not attempt.last:
            self._messages.release(message, reason, self._clock.now())
            raise TransientSendError(reason)
        if transient:
            reason = f"gave up after {attempt.number} attempts: {reason}"
        self._messages.finish(
            message, status="failed", at=self._clock.now(), channel=None, error=reason, tried_channels=tried
        )
        self._metrics.count(MESSAGES_FAILED)
        self._dead_letters.put(step.to_json(), reason, step.kind)
        return self._log(step, Outcome.FAILED, reason=reason)

    def check_receipt(self, check: ReceiptCheck) -> Outcome:
        """A receipt check came due. Still only `sent` on the channel it waited on: first ask that provider, if it
        can be asked (a lost push: Alibaba's QuerySendDetails), then the next untried route carries it, once
        (`fallback_no_receipt`). Reported `failed` there (a WeChat template the member blocked, an SMS the
        operator could not deliver): the next untried route too (`fallback_permanent`). Delivered, read, an
        earlier fallback, a moved booking: nothing."""
        step = check.step
        prepared = self._prepare(step, mark=False)
        if isinstance(prepared, Outcome):
            return prepared
        booking, store = prepared.booking, prepared.store
        now = self._clock.now()
        message = self._messages.current(self._messages.step_message(step, "", now))
        if message is None or message.channel != check.waited_on or message.status not in FALLS_BACK:
            return self._log(step, Outcome.DUPLICATE, check=check.waited_on)
        contact, planned, settings = self._routes(step, booking, store, now)
        channels = self._channels_for(store)  # its WeChat and Agora ones built when a route names them
        if message.status == "sent":
            message = self._pulled(message, channels.get(check.waited_on), contact)
            if message is None or message.status not in FALLS_BACK:
                return self._log(step, Outcome.DUPLICATE, check=check.waited_on, receipt="pulled")
        reason = FALLBACK_NO_RECEIPT if message.status == "sent" else FALLBACK_PERMANENT
        tried = set(message.tried_channels or []) | {check.waited_on}
        route = _next_usable(planned, tried, channels, contact, reason)
        if route is None:
            return self._log(step, Outcome.SKIPPED, check=check.waited_on, reason="no other route")
        now_tried = [*(message.tried_channels or [check.waited_on]), route.channel]
        if not self._messages.claim_fallback(message, check.waited_on, route.channel, now):
            return self._log(step, Outcome.DUPLICATE, check=check.waited_on)
        channel = channels[route.channel]
        try:
            provider_id = send_outgoing(
                channel, contact, self._outgoing(step, message.text, prepared, settings, [channel])
            )
        except SendError as exc:
            # Claimed, so never retried on this channel: the message stays sent on the one it waited on.
            logger.warning(
                "no-receipt fallback not sent",
                extra={"kind": step.kind, "channel": route.channel, "reason": exc.reason},
            )
            return self._log(step, Outcome.FAILED, check=check.waited_on, reason=exc.reason)
        self._messages.finish(
            message,
            status="sent",
            at=self._clock.now(),
            channel=route.channel,
            provider_message_id=provider_id,
            error=f"no receipt on {check.waited_on}"
            if reason == FALLBACK_NO_RECEIPT
            else f"{check.waited_on} failed: {message.error or 'failed'}",
            provider=provider_of(channel, contact),
            receipts=reports_receipts(channel, contact),
            route_reason=route.reason,
            tried_channels=now_tried,
        )
        return self._log(step, Outcome.SENT, channel=route.channel, route_reason=route.reason)

    # --- the parts ------------------------------------------------------------------------------------
    def _pulled(self, message: MessageItem, channel: Channel | None, contact: Contact) -> MessageItem | None:
        """The message after applying what its provider says when asked (nothing asked: as it was). Each receipt
        goes through the receipts service, as a pushed one would: never backwards, a duplicate is a no-op."""
        if channel is None or self._receipt_sink is None or not message.provider_message_id:
            return message
        receipts = pull_receipts(channel, contact, message.provider_message_id, message.updated_at)
        for receipt in receipts:
            self._receipt_sink.apply(receipt)
        return self._messages.current(message) if receipts else message

    def _prepare(self, step: StepMessage, *, mark: bool) -> _Prepared | Outcome:
        """The booking and store when the step still applies (else why not), its text's context."""
        booking = self._bookings.booking(step.chain_id, step.booking_id)
        if booking is None or int(booking.version) != int(step.version):
            return self._log(step, Outcome.STALE)
        store = self._stores.get(booking.store_id)
        if store is None:
            return self._log(step, Outcome.STALE)
        spec = load_journey(*self._stores.overrides(store)).spec_for(step.kind, step.when)
        # A receipt check comes after the step's own delivery, which may have marked the booking (a no-show).
        marked_before = not mark and bool(spec and spec.mark_status) and booking.status == spec.mark_status  # type: ignore[union-attr]
        if spec is None or (booking.status not in spec.send_if and not marked_before):
            return self._log(step, Outcome.SKIPPED)
        if booking.feedback_sentiment and booking.feedback_sentiment in spec.skip_if_feedback:
            return self._log(step, Outcome.SKIPPED)
        inputs = None
        if spec.only_if or texts.uses(step.kind, "preferences"):
            inputs = self._route_inputs(step.chain_id, step.store_id, step.member_id)
            member = inputs[0]
            facts = SendFacts(booking.start, member.first_visit_at) if member is not None else None
            if not conditions_hold(spec, facts):
                return self._log(step, Outcome.SKIPPED, reason="conditions")
        if mark and spec.skip_if:  # issue 17: e.g. no review request while staff handle her conversation
            if inputs is None:
                inputs = self._route_inputs(step.chain_id, step.store_id, step.member_id)
            member, conversation = inputs
            settings = settings_of(self._stores.feedback_settings(store))
            why = skip_reason(spec.skip_if, booking, member, conversation, settings)
            if why is not None:
                return self._log(step, Outcome.SKIPPED, reason=why)
        if mark and spec.mark_status and booking.status != spec.mark_status:
            marked = self._bookings.set_status_if_version(
                step.chain_id,
                step.booking_id,
                int(step.version),
                tuple(spec.send_if),
                spec.mark_status,
                also=self._marked_counts(step.chain_id, booking, spec.mark_status),
            )
            if not marked:
                return self._log(step, Outcome.STALE)
        preferences = inputs[0].preferences if inputs and inputs[0] is not None else None
        context = _context(booking, store, self._manage_link(step, booking), preferences)
        if self._feedback is not None and texts.uses(step.kind, "review_link"):
            context = replace(
                context, extra={**context.extra, **self._feedback.review_extras(booking, store)}
            )
        return _Prepared(booking, store, context, inputs)

    def _marked_counts(self, chain_id: str, booking: BookingItem, status: str) -> list[dict[str, Any]]:
        if self._reports is None:
            return []
        after = self._bookings.copy(booking)
        after.status = status
        return self._reports.booking_updates(chain_id, booking, after)

    def _routes(
        self,
        step: StepMessage,
        booking: BookingItem,
        store: StoreItem,
        now: Any,
        inputs: tuple[MemberItem | None, ConversationItem | None] | None = None,
    ) -> tuple[Contact, list[Route], channel_router.RoutingSettings]:
        member, conversation = inputs or self._route_inputs(step.chain_id, step.store_id, step.member_id)
        facts = channel_router.facts_of(
            member,
            conversation,
            phone=booking.member.phone,
            email=booking.member.email,
            wechat_openid=booking.member.wechat_openid,
        )
        settings = channel_router.settings_for(*self._stores.routing(store), on_bad=_bad_override)
        planned = channel_router.routes(step.kind, facts, settings, now, self._window)
        contact = Contact(
            phone=facts.phone,
            email=facts.email,
            wechat_openid=facts.wechat_openid,
            agora_user=facts.agora_user,
            wechat_grants=facts.wechat_grants,
        )
        return contact, planned, settings

    @staticmethod
    def _outgoing(
        step: StepMessage,
        text: str,
        prepared: _Prepared,
        settings: channel_router.RoutingSettings,
        channels: list[Channel | None],
    ) -> Outgoing:
        """The message; its `values` only when a channel it may go by (`channels`) fills a template
        (`send_outgoing`)."""
        templated = any(hasattr(channel, "send_outgoing") for channel in channels)
        return Outgoing(
            kind=step.kind,
            text=text,
            subject=prepared.store.name,
            locale=texts.supported_locale(prepared.context.locale),
            marketing=settings.is_marketing(step.kind),
            # Who and which message, for the channels that need them: email's unsubscribe link (chain, member),
            # WeChat's client_msg_id (the message id) -- then the text's own named values.
            values={
                "chain_id": step.chain_id,
                "member_id": step.member_id,
                "message_id": step.message_id,
                **(texts.values(prepared.context) if templated else {}),
            },
        )

    def _check_receipt_later(
        self,
        step: StepMessage,
        sent_on: str,
        planned: list[Route],
        tried: list[str],
        channels: Mapping[str, Channel],
        contact: Contact,
        settings: channel_router.RoutingSettings,
    ) -> None:
        """Only when the channel waits for a receipt and a later route could still reach her: no check, no cost."""
        wait = settings.receipt_wait(sent_on)
        if self._receipt_checks is None or wait <= 0:
            return
        if _next_usable(planned, set(tried), channels, contact, FALLBACK_NO_RECEIPT) is None:
            return
        self._receipt_checks.put(ReceiptCheck(step, sent_on), wait)

    def _manage_link(self, step: StepMessage, booking: BookingItem) -> str:
        """The booking's "manage my booking" link, minted (once per booking) only for texts that carry it."""
        if self._links is None or not texts.uses(step.kind, "manage_link"):
            return ""
        return self._links.for_booking(
            step.chain_id, booking.store_id, booking.member.id, booking.booking_id, booking.start
        )

    def dead_letter_raw(self, body: str, reason: str) -> None:
        self._dead_letters.put(body, reason)

    @staticmethod
    def _log(step: StepMessage, outcome: Outcome, **extra: Any) -> Outcome:
        logger.info(
            "journey step",
            extra={
                "outcome": outcome.value,
                "kind": step.kind,
                "booking_ref": step.booking_ref,
                "version": step.version,
                **extra,
            },
        )
        return outcome


def _fallback_reason(transient_before: bool) -> str:
    """Why a later route carried it: the ones before failed for good, or (`fallback_transient`) one of them failed
    for now -- as before the router, the next channel is tried at once rather than the member left waiting."""
    return "fallback_transient" if transient_before else FALLBACK_PERMANENT


def _next_usable(
    planned: list[Route], tried: set[str], channels: Mapping[str, Channel], contact: Contact, reason: str
) -> Route | None:
    usable = [r for r in planned if r.channel in channels and channels[r.channel].can_reach(contact)]
    return channel_router.next_route(usable, tried, reason)


def _bad_override(exc: Exception) -> None:
    logger.error(
        "bad channel routing override left out",
        extra={"reason": str(exc), "fields": getattr(exc, "fields", {})},
    )


def _context(
    booking: BookingItem, store: StoreItem, manage_link: str = "", preferences: Any = None
) -> texts.MessageContext:
    return texts.MessageContext(
        locale=booking.member.locale or store.locale,
        timezone=store.timezone,
        store={
            "name": store.name,
            "address": store.address,
            "directions": store.directions,
            "phone": store.phone,
        },
        member={"name": booking.member.name},
        booking={
            "id": booking.booking_id,
            "start": booking.start,
            "end": booking.start + timedelta(minutes=int(booking.duration_minutes)),
            "duration_minutes": int(booking.duration_minutes),
            "service_name": booking.service_name,
            "service_category": booking.category,
            "stylist_name": booking.stylist_name,
        },
        extra={
            **({"manage_link": manage_link} if manage_link else {}),
            **({"preferences": preferences} if preferences else {}),
        },
    )
