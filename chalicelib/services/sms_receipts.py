"""Mainland SMS providers' delivery receipts (issue 15, section 3): a verified push becomes ProviderReceipts, each
applied by the receipts service (services/receipts.py: found by provider and provider message id, never backwards,
idempotent under duplicates) through the narrow `ReceiptSink` port.

Alibaba's SmsReport push is retried by Alibaba (1, 5 and 10 minutes later) unless answered 200, and duplicates are
documented as possible: applying the same receipt twice is the sink's no-op, so a retried push is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.errors import ValidationFailed
from chalicelib.services.receipt_sink import ReceiptSink


@dataclass(frozen=True)
class ReceiptPush:
    provider: str  # "alibaba_sms" | "tencent_sms"
    body: Any  # the decoded JSON the provider pushed


class SmsReceipts:
    def __init__(self, sink: ReceiptSink) -> None:
        self._sink = sink

    def parsers(self) -> dict[str, Callable[[Any], list[ProviderReceipt]]]:
        from chalicelib.channels.sms_alibaba import parse_sms_report
        from chalicelib.channels.sms_tencent import parse_status_callback

        return {"alibaba_sms": parse_sms_report, "tencent_sms": parse_status_callback}

    def receive(self, push: ReceiptPush) -> dict[str, int]:
        """Parse the whole push first (a malformed one changes nothing: 400), then apply each receipt; the count of
        each outcome."""
        try:
            receipts = self.parsers()[push.provider](push.body)
        except ValueError as exc:
            raise ValidationFailed("the receipt push is not valid", {"body": str(exc)}) from None
        return self.apply_all(receipts)

    def apply_all(self, receipts: Iterable[ProviderReceipt]) -> dict[str, int]:
        outcomes: dict[str, int] = {}
        for receipt in receipts:
            outcome = self._sink.apply(receipt)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes


class SnsSmsStatus:
    """The SNS delivery-status log subscription's events -> receipts -> the sink."""

    def __init__(self, receipts: SmsReceipts) -> None:
        self._receipts = receipts

    def handle(self, event: Any) -> dict[str, int]:
        from chalicelib.channels.sns_sms_status import receipts_of

        return self._receipts.apply_all(receipts_of(event))
