"""SQS worker: sends the journey steps that are due (partial batch failures, backoff, DLQ)."""

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
    wired.step_worker.time_left_ms = context.get_remaining_time_in_millis
    return counted_batch(event, context, processor, wired.step_worker.handle_record, wired.report_events)
