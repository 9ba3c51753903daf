"""One SQS record of the waitlist queue: time a booking freed (`freed`), or an offer whose 30 minutes ran out
(`offer_expired`, put there by its one-time schedule) -> services/waitlist.py offers it to the next in line."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import ValidationFailed
from chalicelib.observability import logger
from chalicelib.services.waitlist import Waitlist


class WaitlistWorker:
    def __init__(self, waitlist: Waitlist) -> None:
        self._waitlist = waitlist

    def handle_record(self, record: Any) -> str:
        """Powertools record handler: return on success (or for a message to drop), raise to retry."""
        try:
            body = json.loads(record.body)
            if not isinstance(body, dict):
                raise ValidationFailed("not a waitlist message: not an object")
            return self._waitlist.handle(body)
        except (ValueError, ValidationFailed) as exc:
            # retrying a malformed body (or another region's store) cannot help
            reason = exc.message if isinstance(exc, ValidationFailed) else f"not JSON: {exc}"
            logger.error("malformed waitlist message dropped", extra={"reason": reason})
            return "malformed"
