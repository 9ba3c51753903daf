"""SQS worker: a store's daily care tick (fired by its EventBridge Scheduler schedule) queues who is due care."""

from chalicelib import init_phase

init_phase.pause()  # in Lambda: no garbage collection during the imports below and the first request
# isort: split

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.bootstrap import container
from chalicelib.observability import flushes_metrics, logger

processor = BatchProcessor(event_type=EventType.SQS)


@flushes_metrics
@logger.inject_lambda_context
def handler(event, context):
    return process_partial_response(
        event=event,
        record_handler=container().care_tick_worker.handle_record,
        processor=processor,
        context=context,
    )
