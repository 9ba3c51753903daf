"""SQS worker: sends the journey steps that are due (partial batch failures, backoff, DLQ)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.bootstrap import container
from chalicelib.observability import flushes_metrics, logger

processor = BatchProcessor(event_type=EventType.SQS)


@flushes_metrics
@logger.inject_lambda_context
def handler(event, context):
    wired = container()
    # The batch's steps are mostly due at one store-local moment: their report counts are written once per
    # store-day when the batch ends (services/report_events.py ReportEvents.batch), not once per message.
    with wired.report_events.batch():
        return process_partial_response(
            event=event,
            record_handler=wired.step_worker.handle_record,
            processor=processor,
            context=context,
        )
