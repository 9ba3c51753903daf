"""One SQS record of the steps queue -> one delivery, with backoff on transient failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.contracts.hand_off import HANDOFF_CHECK, HandOffCheck
from chalicelib.contracts.step import RECEIPT_CHECK, ReceiptCheck, StepMessage, message_type
from chalicelib.contracts.store_wake import STORE_WAKE, StoreWake
from chalicelib.errors import TransientSendError, ValidationFailed
from chalicelib.observability import logger
from chalicelib.services.delivery import Attempt, Outcome, StepDelivery


def backoff_seconds(attempt: int, base: int, cap: int) -> int:
    """Exponential: base, 2*base, 4*base ... capped (SQS allows at most 12 hours)."""
    return int(min(cap, base * 2 ** max(0, attempt - 1), 43_200))


class StepWorker:
    def __init__(
        self,
        delivery: StepDelivery,
        sqs_client: Any,
        queue_url: str,
        *,
        max_receive_count: int,
        retry_base_seconds: int,
        retry_max_seconds: int,
        hand_offs: Callable[[], Any] | None = None,
        wakes: Callable[[], Any] | None = None,
    ) -> None:
        """`hand_offs` and `wakes` are getters of those services (bootstrap's `Container.later`): built for the
        first message that needs one, so a cold start delivering steps imports neither."""
        self._delivery = delivery
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._max_receives = max_receive_count
        self._base = retry_base_seconds
        self._cap = retry_max_seconds
        self._hand_offs = hand_offs  # issue 17 part 3: the hand-off response alarm
        self._wakes = wakes  # a store's wake: the steps of its bookings due at one store-local moment
        # The invocation's remaining time (the Lambda context's), set by the handler for each invocation: a store
        # wake delivers its few steps itself only while there is time (services/store_wakes.py). None: it queues.
        self.time_left_ms: Callable[[], int] | None = None

    def handle_record(self, record: Any) -> str:
        """Powertools record handler: return on success (or a step to drop), raise to retry."""
        receives = int(record.attributes.approximate_receive_count or 1)
        if message_type(record.body) == RECEIPT_CHECK:
            return self._receipt_check(record.body)
        if message_type(record.body) == HANDOFF_CHECK and self._hand_offs is not None:
            return self._handoff_check(record.body, self._hand_offs())
        if message_type(record.body) == STORE_WAKE and self._wakes is not None:
            return self._wake(record.body, self._wakes())
        try:
            step = StepMessage.from_json(record.body)
        except ValidationFailed as exc:
            logger.error("malformed journey step dead-lettered", extra={"reason": exc.message})
            self._delivery.dead_letter_raw(record.body, exc.message)
            return "malformed"
        attempt = Attempt(number=receives, last=receives >= self._max_receives)
        try:
            outcome: Outcome = self._delivery.deliver(step, attempt)
        except TransientSendError as exc:
            delay = backoff_seconds(receives, self._base, self._cap)
            # Lambda re-delivers a failed record when its visibility timeout ends: stretch it for backoff.
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )
            logger.warning(
                "journey step will be retried",
                extra={"kind": step.kind, "attempt": receives, "retry_in_s": delay, "reason": exc.reason},
            )
            raise
        return outcome.value

    def _receipt_check(self, body: str) -> str:
        """Issue 15: a step's delayed receipt check (services/delivery.py). Its fallback is claimed before it is
        sent, so a failure is not retried (the message stays sent on the channel it waited on)."""
        try:
            check = ReceiptCheck.from_json(body)
        except ValidationFailed as exc:
            logger.error("malformed receipt check dropped", extra={"reason": exc.message})
            return "malformed"
        return self._delivery.check_receipt(check).value

    def _wake(self, body: str, wakes: Any) -> str:
        """A store's wake (services/store_wakes.py); a failure to queue its steps is retried as a whole."""
        try:
            wake = StoreWake.from_json(body)
        except ValidationFailed as exc:
            logger.error("malformed store wake dropped", extra={"reason": exc.message})
            return "malformed"
        delivered, queued = wakes.fire(
            wake, lambda step: self._delivery.deliver(step, Attempt(number=1, last=False)), self.time_left_ms
        )
        logger.info(
            "store wake",
            extra={"store_id": wake.store_id, "day": wake.day, "delivered": delivered, "queued": queued},
        )
        return "woken"

    def _handoff_check(self, body: str, hand_offs: Any) -> str:
        """Issue 17 part 3: a hand-off's response alarm, due at the store's limit (conversations/hand_offs.py)."""
        try:
            check = HandOffCheck.from_json(body)
        except ValidationFailed as exc:
            logger.error("malformed hand-off check dropped", extra={"reason": exc.message})
            return "malformed"
        return hand_offs.check(check)
