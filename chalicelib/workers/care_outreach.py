"""One SQS record of the care queue: a care message to deliver, or one page of a campaign's fan-out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.care.outreach import CareMessage, Outcome, Outreach
from chalicelib.errors import ValidationFailed
from chalicelib.observability import logger

MAX_SQS_DELAY = 900  # SQS DelaySeconds ceiling: a longer quiet spell is waited out in hops


class CareWorker:
    def __init__(
        self,
        outreach: Outreach,
        sqs_client: Any,
        queue_url: str,
        dlq_url: str,
        *,
        fan_out: Callable[[dict], Any] | None = None,
        max_defer_seconds: int = MAX_SQS_DELAY,
    ) -> None:
        self._outreach = outreach
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._dlq_url = dlq_url
        self._fan_out = fan_out  # campaigns.CampaignFanOut.page: one page of a campaign's segment
        self._max_defer = min(max_defer_seconds, MAX_SQS_DELAY)

    def handle_record(self, record: Any) -> str:
        """Powertools record handler: return on success (or a message to drop), raise to retry."""
        receives = int(record.attributes.approximate_receive_count or 1)
        try:
            body = json.loads(record.body)
            kind = body.get("type") if isinstance(body, dict) else None
            if kind == "campaign_page" and self._fan_out is not None:
                return str(self._fan_out(body))
            message = CareMessage.from_json(body)
        except (ValueError, ValidationFailed) as exc:
            reason = exc.message if isinstance(exc, ValidationFailed) else f"not JSON: {exc}"
            logger.error("malformed care message dead-lettered", extra={"reason": reason})
            self._sqs.send_message(
                QueueUrl=self._dlq_url,
                MessageBody=record.body,
                MessageAttributes={"failure_reason": {"DataType": "String", "StringValue": reason[:1000]}},
            )
            return "malformed"
        decision = self._outreach.deliver(message, receives)
        if decision.outcome is Outcome.DEFERRED:
            # A new message rather than a longer visibility timeout: waiting out quiet hours is no failed receive.
            delay = max(0, min(decision.delay_seconds, self._max_defer))
            self._outreach.enqueue([message], delay_seconds=delay)
        return decision.outcome.value
