"""One record of the email events queue: an SNS notification whose Message is an SES event (the configuration
set's event destination; resources.EMAIL_CONFIGURATION_SET)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import ValidationFailed
from chalicelib.observability import logger
from chalicelib.services.email_events import EmailEvents


class EmailEventsWorker:
    def __init__(self, events: EmailEvents) -> None:
        self._events = events

    def handle_record(self, record: Any) -> str:
        """Powertools record handler: return when done (or nothing can be done), raise to retry."""
        try:
            envelope = json.loads(record.body)
            event = json.loads(envelope["Message"]) if isinstance(envelope, dict) else None
        except (ValueError, KeyError, TypeError):
            logger.error("email event record is not an SNS notification of JSON; dropped")
            return "malformed"
        if not isinstance(event, dict):
            logger.error("email event is not a JSON object; dropped")
            return "malformed"
        try:
            answer = self._events.handle(event)
        except ValidationFailed as exc:
            logger.error("email event rejected", extra={"reason": exc.message, "fields": exc.fields})
            return "rejected"
        return str(answer["result"])
