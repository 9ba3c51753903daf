"""CloudWatch Logs subscription: Amazon SNS's SMS delivery-status logs become receipts of the messages sent by SNS
(chalicelib/channels/sns_sms_status.py), applied by the receipts service. A failure raises, so Lambda retries
the asynchronous invocation (receipts are idempotent)."""

from chalicelib import init_phase

init_phase.pause()  # in Lambda: no garbage collection during the imports below and the first request
# isort: split

from chalicelib.bootstrap import container
from chalicelib.observability import flushes_metrics, logger


@flushes_metrics
@logger.inject_lambda_context
def handler(event, context):
    return container().sns_sms_status.handle(event)
