"""SQS worker: SES's email events (bounces, complaints, deliveries) -> receipts and suppressed addresses."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.bootstrap import container
from chalicelib.observability import flushes_metrics, logger

processor = BatchProcessor(event_type=EventType.SQS)


@flushes_metrics
@logger.inject_lambda_context
def handler(event, context):
    wired = container()
    with wired.report_events.batch():  # report counts summed per store-day, written when the batch ends
        return process_partial_response(
            event=event,
            record_handler=wired.email_events_worker.handle_record,
            processor=processor,
            context=context,
        )
