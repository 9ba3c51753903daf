"""What an SES event does (channels/ses_events.py reads it): the message's receipt goes to the receipts service,
and a hard bounce or a complaint suppresses the address (dal/email.py; the email channel's `can_reach` reads it).

Both are idempotent, so a duplicate delivery of the same event (SNS and SQS deliver at least once) changes
nothing: the suppression keeps its first reason and time, and a receipt never moves a status sideways or back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.channels.ses_events import parse_ses_event
from chalicelib.dal.email import EmailSuppressions
from chalicelib.services.receipt_sink import ReceiptSink


class EmailEvents:
    def __init__(self, receipts: ReceiptSink, suppressions: EmailSuppressions) -> None:
        self._receipts = receipts
        self._suppressions = suppressions

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        parsed = parse_ses_event(event)
        receipt = parsed.receipt
        if receipt is None:
            return {"result": "ignored", "suppressed": 0}
        suppressed = sum(
            self._suppressions.suppress(address, parsed.reason, receipt.at, receipt.provider_message_id)
            for address in parsed.suppress
        )
        return {"result": self._receipts.apply(receipt), "suppressed": suppressed}
