"""Where a provider's receipts go: the narrow port the receipt intakes (Agora acks, SES events) are written
against. The receipts service (services/receipts.py, `container.receipts`: `Receipts.apply(ProviderReceipt)`)
is the real sink; `chalicelib/bootstrap.py` `receipt_sink` hands it out when it is wired, else `UnwiredReceipts`.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.observability import logger


class ReceiptSink(Protocol):
    def apply(self, receipt: ProviderReceipt) -> str:
        """Apply one receipt to the message it names; returns what happened ("applied", "duplicate", ...)."""
        ...


class UnwiredReceipts:
    """Stands in until the receipts service is wired: logs the receipt (no address, no text) and keeps nothing."""

    def apply(self, receipt: ProviderReceipt) -> str:
        logger.warning(
            "receipt dropped: no receipts service wired",
            extra={
                "provider": receipt.provider,
                "provider_message_id": receipt.provider_message_id,
                "status": receipt.status,
            },
        )
        return "unwired"
