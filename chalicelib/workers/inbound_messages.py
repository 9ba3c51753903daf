"""One record of the inbound queue: a stored message to understand, or a two-way SMS from SNS."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.conversations.intake import Intake
from chalicelib.errors import ValidationFailed
from chalicelib.observability import logger


class InboundWorker:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def handle_record(self, record: Any) -> str:
        """Powertools record handler: return when done (or nothing can be done), raise to retry."""
        try:
            body = json.loads(record.body)
        except ValueError:
            logger.error("inbound record is not JSON; dropped")
            return "malformed"
        if not isinstance(body, dict):
            return "malformed"
        try:
            if body.get("type") == "inbound_message":
                handled = self._intake.process_stored(str(body.get("pk")), str(body.get("sk")))
            elif body.get("Type") == "Notification":
                handled = self._intake.sms_notification(body)
            else:
                logger.warning("unknown inbound record type; dropped")
                return "unknown"
        except ValidationFailed as exc:
            logger.error("inbound record rejected", extra={"reason": exc.message})
            return "rejected"
        return handled.intent if handled else "unmatched"
