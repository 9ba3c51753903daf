"""Lambda SQS event source mappings, played locally (moto cannot run Lambda without Docker).

- `QueuePoller` plays a Lambda SQS event source mapping: it receives a batch, builds the event exactly
  as Lambda delivers it, calls the handler and deletes what succeeded (honouring `batchItemFailures`
  when the mapping reports batch item failures). SQS itself redelivers what was not deleted after the
  visibility timeout and moves it to the DLQ after `maxReceiveCount` receives.
- `LambdaContext`, `sqs_record`: the context object and the event records as the Lambda runtime gives them.
- `build_pollers`: one poller per `resources.WORKERS` entry, calling `functions.<handler>` (`LazyHandler`).
"""

from __future__ import annotations

import base64
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources as r
from chalicelib.channels.faults import FaultFile
from devstack.provision import queue_urls

log = logging.getLogger(__name__)


class LambdaContext:
    """The parts of the Lambda Python runtime's context object handlers and Powertools read."""

    def __init__(
        self,
        function_name: str,
        *,
        region: str,
        account_id: str,
        memory_limit_in_mb: int = 128,
        timeout_seconds: float = 3,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# System attributes Lambda copies into a record's "attributes" (when SQS has them).
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
)


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode("ascii")


def lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API form ({"StringValue", "DataType"...}) -> Lambda event form ({"stringValue", ...})."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS event record from one ReceiveMessage message."""
    system = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: system[k] for k in _RECORD_ATTRIBUTES if k in system},
        "messageAttributes": {
            name: lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


class QueuePoller:
    """Feeds one queue to one handler the way a Lambda event source mapping does."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        handler: Callable[[dict, Any], dict | None],
        *,
        batch_size: int = 10,
        region: str,
        function_name: str,
        report_batch_item_failures: bool = True,
        memory_limit_in_mb: int = 512,
        timeout_seconds: float = 30,
        crashes: Callable[[], bool] | None = None,
    ) -> None:
        self.sqs = sqs_client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = max(1, min(batch_size, 10))  # ReceiveMessage gives at most 10
        self.region = region
        self.function_name = function_name
        self.report_batch_item_failures = report_batch_item_failures
        self.memory_limit_in_mb = memory_limit_in_mb
        self.timeout_seconds = timeout_seconds
        self.crashes = (
            crashes  # asked once per batch: True -> the worker dies mid-batch (local fault injection)
        )
        self._account_id = queue_arn.split(":")[4] if queue_arn.count(":") >= 5 else "000000000000"

    def __repr__(self) -> str:
        return f"QueuePoller({self.function_name!r}, {self.queue_arn!r})"

    def tick(self) -> int:
        """Receive one batch and hand it to the handler; return how many records it was given."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        records = [sqs_record(m, self.queue_arn, self.region) for m in messages]
        context = LambdaContext(
            self.function_name,
            region=self.region,
            account_id=self._account_id,
            memory_limit_in_mb=self.memory_limit_in_mb,
            timeout_seconds=self.timeout_seconds,
        )
        if self.crashes is not None and self.crashes():
            return self._die_mid_batch(records, context)
        try:
            result = self.handler({"Records": records}, context)
        except Exception:
            # A function error fails the whole batch: nothing is deleted, SQS redelivers it all.
            log.exception("%s failed on a batch of %d; none deleted", self.function_name, len(records))
            return len(records)
        self._delete(self._succeeded(records, result))
        return len(records)

    def _die_mid_batch(self, records: list[dict[str, Any]], context: LambdaContext) -> int:
        """Like a Lambda killed (timeout, OOM, SIGKILL) after handling part of a batch: the first records
        were processed (their messages sent), nothing is deleted, and SQS gives the whole batch again
        after its visibility timeout."""
        done = records[: max(1, len(records) // 2)]
        try:
            self.handler({"Records": done}, context)
        except Exception:
            log.exception("%s failed before it was killed", self.function_name)
        log.warning(
            "%s killed mid-batch after %d of %d records; none deleted",
            self.function_name,
            len(done),
            len(records),
        )
        return len(records)

    def _succeeded(self, records: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
        """The records to delete, by Lambda's rules for ReportBatchItemFailures responses."""
        if not self.report_batch_item_failures or result is None:
            return records
        if not isinstance(result, dict):
            log.warning(
                "%s returned %s, not a batch response: whole batch failed", self.function_name, type(result)
            )
            return []
        failures = result.get("batchItemFailures")
        if not failures:  # missing, null or empty: complete success
            return records
        if not isinstance(failures, list):
            log.warning("%s returned a malformed batchItemFailures: whole batch failed", self.function_name)
            return []
        ids = {record["messageId"] for record in records}
        failed: set[str] = set()
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not identifier or identifier not in ids:
                log.warning("%s reported an invalid itemIdentifier: whole batch failed", self.function_name)
                return []
            failed.add(identifier)
        return [record for record in records if record["messageId"] not in failed]

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": record["receiptHandle"]}
                for i, record in enumerate(records[start : start + 10])
            ]
            try:
                response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError):
                log.exception("%s: delete failed; those messages will be redelivered", self.function_name)
                continue
            for failure in response.get("Failed", []):
                log.warning(
                    "%s: could not delete entry %s: %s",
                    self.function_name,
                    failure.get("Id"),
                    failure.get("Code"),
                )


class LazyHandler:
    """A handler given as "package.module.function", imported on its first call.

    The import is deferred so building the pollers does not import `functions/` (which may read
    settings at import time) before the local stack has set its environment.
    """

    def __init__(self, dotted: str) -> None:
        self.dotted = dotted
        self._function: Callable[[dict, Any], dict | None] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LazyHandler({self.dotted!r})"

    def __call__(self, event: dict, context: Any) -> dict | None:
        if self._function is None:
            with self._lock:
                if self._function is None:
                    module_name, _, attribute = self.dotted.rpartition(".")
                    self._function = getattr(importlib.import_module(module_name), attribute)
        return self._function(event, context)


def function_name(stage: str, worker: r.Worker) -> str:
    return f"{r.PREFIX}-{stage}-{worker.logical}"


def build_pollers(
    session: boto3.session.Session,
    stage: str,
    endpoint_url: str | None,
    region: str,
    faults: FaultFile | None = None,
) -> list[QueuePoller]:
    """One poller per `resources.WORKERS` entry, each calling `functions.<Worker.handler>`."""
    sqs = session.client("sqs", endpoint_url=endpoint_url, region_name=region)
    queues = queue_urls(session, stage, endpoint_url)
    pollers = []
    for worker in r.WORKERS:
        queue = queues[worker.queue.short]
        pollers.append(
            QueuePoller(
                sqs,
                queue["url"],
                queue["arn"],
                LazyHandler(f"functions.{worker.handler}"),
                batch_size=worker.batch_size,
                region=region,
                function_name=function_name(stage, worker),
                report_batch_item_failures=worker.report_batch_item_failures,
                memory_limit_in_mb=worker.memory_mb,
                timeout_seconds=worker.timeout_seconds,
                crashes=partial(faults.take_crash, worker.queue.short) if faults else None,
            )
        )
    return pollers
