"""SQS worker: SES's email events (bounces, complaints, deliveries) -> receipts and suppressed addresses."""

from chalicelib import init_phase

init_phase.pause()  # in Lambda: no garbage collection during the imports below and the first request
# isort: split

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from chalicelib.bootstrap import container
from chalicelib.observability import flushes_metrics, logger
from chalicelib.workers.batches import counted_batch

processor = BatchProcessor(event_type=EventType.SQS)


@flushes_metrics
@logger.inject_lambda_context
def handler(event, context):
    wired = container()
    return counted_batch(
        event, context, processor, wired.email_events_worker.handle_record, wired.report_events
    )
