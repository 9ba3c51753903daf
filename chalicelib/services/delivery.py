"""Send one due journey step -- exactly once in effect, never stale.

The step is checked against the booking as it is *now*: a step planned at an older booking version
(before a reschedule or cancel) or for a status the booking has left is dropped. The outbound message
is claimed in the conversation before any provider is called, keyed on (booking, step, booking
version), so redelivered or duplicated steps never send twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from chalicelib.channels.base import Channel, Contact
from chalicelib.clock import Clock
from chalicelib.contracts.step import StepMessage
from chalicelib.dal.bookings import BookingRepository
from chalicelib.dal.messages import Claim, MessageRepository
from chalicelib.dal.models import BookingItem, StoreItem
from chalicelib.errors import DeliveryInProgress, PermanentSendError, TransientSendError
from chalicelib.journeys import texts
from chalicelib.journeys.plan import load_journey
from chalicelib.observability import logger
from chalicelib.services.channel_order import channel_order
from chalicelib.services.stores import StoreDirectory

LEASE_SECONDS = 120


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


class StepDelivery:
    def __init__(
        self,
        bookings: BookingRepository,
        stores: StoreDirectory,
        messages: MessageRepository,
        channels: Mapping[str, Channel],
        dead_letters: DeadLetters,
        clock: Clock,
        wall_seconds: Callable[[], float],
        links: Any = None,  # services/member_links.py MemberLinks: the "manage my booking" link of a text
    ) -> None:
        self._links = links
        self._bookings = bookings
        self._stores = stores
        self._messages = messages
        self._channels = channels
        self._dead_letters = dead_letters
        self._clock = clock
        self._wall = wall_seconds

    def deliver(self, step: StepMessage, attempt: Attempt) -> Outcome:
        booking = self._bookings.booking(step.chain_id, step.booking_id)
        if booking is None or int(booking.version) != int(step.version):
            return self._log(step, Outcome.STALE)
        store = self._stores.get(booking.store_id)
        if store is None:
            return self._log(step, Outcome.STALE)
        spec = load_journey(*self._stores.overrides(store)).spec_for(step.kind, step.when)
        if spec is None or booking.status not in spec.send_if:
            return self._log(step, Outcome.SKIPPED)
        if booking.feedback_sentiment and booking.feedback_sentiment in spec.skip_if_feedback:
            return self._log(step, Outcome.SKIPPED)
        if spec.mark_status and booking.status != spec.mark_status:
            marked = self._bookings.set_status_if_version(
                step.chain_id, step.booking_id, int(step.version), tuple(spec.send_if), spec.mark_status
            )
            if not marked:
                return self._log(step, Outcome.STALE)

        now = self._clock.now()
        message = self._messages.step_message(
            step, _message_text(step, booking, store, self._manage_link(step, booking)), now
        )
        claim = self._messages.claim(message, int(self._wall()) + LEASE_SECONDS, int(self._wall()))
        if claim is Claim.DONE:
            return self._log(step, Outcome.DUPLICATE)
        if claim is Claim.BUSY:
            raise DeliveryInProgress("another worker is sending this step")

        contact = Contact(phone=booking.member.phone, email=booking.member.email)
        failures: list[str] = []
        transient = False
        for name in channel_order(contact.phone, contact.email):
            channel = self._channels.get(name)
            if channel is None or not channel.can_reach(contact):
                continue
            try:
                provider_id = channel.send(contact, message.text, subject=store.name)
            except TransientSendError as exc:
                transient = True
                failures.append(exc.reason)
                continue
            except PermanentSendError as exc:
                failures.append(exc.reason)
                continue
            self._messages.finish(
                message,
                status="sent",
                at=self._clock.now(),
                channel=name,
                provider_message_id=provider_id,
                error="; ".join(failures) or None,
            )
            return self._log(step, Outcome.SENT, channel=name, fallbacks=len(failures))

        reason = "; ".join(failures) or "no channel can reach the member"
        if transient and not attempt.last:
            self._messages.release(message, reason, self._clock.now())
            raise TransientSendError(reason)
        if transient:
            reason = f"gave up after {attempt.number} attempts: {reason}"
        self._messages.finish(message, status="failed", at=self._clock.now(), channel=None, error=reason)
        self._dead_letters.put(step.to_json(), reason, step.kind)
        return self._log(step, Outcome.FAILED, reason=reason)

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


def _message_text(step: StepMessage, booking: BookingItem, store: StoreItem, manage_link: str = "") -> str:
    context = texts.MessageContext(
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
        extra={"manage_link": manage_link} if manage_link else {},
    )
    return texts.render(step.kind, context)
