"""Where a provider's receipts go: the narrow port the receipt intakes (Agora acks, SES events) are written
against. The receipts service (services/receipts.py, `container.receipts`: `Receipts.apply(ProviderReceipt)`)
is the sink; `chalicelib/bootstrap.py` `receipt_sink` hands it out.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.channels.receipts import ProviderReceipt


class ReceiptSink(Protocol):
    def apply(self, receipt: ProviderReceipt) -> str:
        """Apply one receipt to the message it names; returns what happened ("applied", "duplicate", ...)."""
        ...
