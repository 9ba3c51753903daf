"""Apply a provider's receipt to the outbound message it names (issue 15 §6).

Every provider adapter turns its receipt mechanism into `ProviderReceipt`s (channels/receipts.py) and calls
`Receipts.apply`. The message is found by (provider, provider message id) with one key lookup (the index item
`MessageRepository.finish` writes when it records a send). Its status moves only forwards, by a conditional
update, so a duplicate or out-of-order receipt is a no-op; each move is numbered in the conversation's arrival
sequence. A receipt that comes before the send is recorded (providers are fast) is held on the index item for a
day and applied by `finish` when the send is recorded.
"""

from __future__ import annotations

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.clock import Clock
from chalicelib.dal.messages import Advance, MessageRepository
from chalicelib.metrics import NO_METRICS, RECEIPT_METRICS, Counter
from chalicelib.observability import logger

APPLIED = "applied"
DUPLICATE = "duplicate"
NOT_ADVANCED = "not_advanced"
UNKNOWN_MESSAGE = "unknown_message"


class Receipts:
    def __init__(self, messages: MessageRepository, clock: Clock, metrics: Counter = NO_METRICS) -> None:
        self._messages = messages
        self._clock = clock
        self._metrics = metrics

    def apply(self, receipt: ProviderReceipt) -> str:
        """ "applied", "duplicate" (already in that status), "not_advanced" (further along already) or
        "unknown_message" (no send recorded with that id: held a day in case the record is on its way)."""
        found = self._messages.sent_message(receipt.provider, receipt.provider_message_id)
        if found is None:
            found = self._messages.hold_receipt(receipt, self._clock.now())
        if found is None:
            return self._log(receipt, UNKNOWN_MESSAGE)
        advance = self._messages.advance(*found, receipt)
        outcome = {
            Advance.APPLIED: APPLIED,
            Advance.DUPLICATE: DUPLICATE,
            Advance.NOT_ADVANCED: NOT_ADVANCED,
            Advance.GONE: UNKNOWN_MESSAGE,
        }[advance]
        if outcome == APPLIED:
            self._metrics.count(RECEIPT_METRICS[receipt.status])
        return self._log(receipt, outcome)

    @staticmethod
    def _log(receipt: ProviderReceipt, outcome: str) -> str:
        logger.info(
            "provider receipt",
            extra={
                "outcome": outcome,
                "provider": receipt.provider,
                "status": receipt.status,
                "code": receipt.code,
            },
        )
        return outcome
