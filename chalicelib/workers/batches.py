"""An SQS batch of a worker that counts for the owner's reports (functions/send_step.py, send_care.py,
email_events.py): Powertools' partial-batch response, with the batch's report counts summed per store-day and
written once when it ends (services/report_events.py ReportEvents.batch), not once per message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


def counted_batch(
    event: dict[str, Any],
    context: Any,
    processor: BatchProcessor,
    record_handler: Callable[[Any], Any],
    report_events: Any,
) -> PartialItemFailureResponse:
    with report_events.batch():
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
