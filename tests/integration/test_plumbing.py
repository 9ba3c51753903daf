"""The local event plumbing: firing EventBridge Scheduler schedules and feeding queues to handlers."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsModel

from chalicelib import resources as r
from chalicelib.clock import FixedClock
from devstack.event_sources import LazyHandler, QueuePoller, build_pollers
from devstack.plumbing import Plumbing
from devstack.scheduler import build_firer, next_fire_time

# at(2025-03-01T09:00:00) in Asia/Shanghai (UTC+8) is 01:00 UTC.
SHANGHAI_NINE_AM = "at(2025-03-01T09:00:00)"
DUE_UTC = datetime(2025, 3, 1, 1, 0, 0, tzinfo=UTC)


# --- helpers --------------------------------------------------------------------------------------


def create_at_schedule(
    aws,
    env: dict[str, str],
    name: str,
    *,
    expression: str = SHANGHAI_NINE_AM,
    timezone: str | None = "Asia/Shanghai",
    body: str = '{"step": "reminder"}',
    state: str = "ENABLED",
    action: str = "DELETE",
    target_arn: str | None = None,
    retry: dict | None = None,
) -> None:
    params = {
        "Name": name,
        "GroupName": env[r.ENV_SCHEDULE_GROUP],
        "ScheduleExpression": expression,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": state,
        "ActionAfterCompletion": action,
        "Target": {
            "Arn": target_arn or env[r.ENV_STEPS_QUEUE_ARN],
            "RoleArn": env[r.ENV_SCHEDULER_ROLE_ARN],
            "Input": body,
            "RetryPolicy": retry or r.SCHEDULE_RETRY,
            "DeadLetterConfig": {"Arn": env[r.ENV_SCHEDULER_DLQ_ARN]},
        },
    }
    if timezone:
        params["ScheduleExpressionTimezone"] = timezone
    aws.client("scheduler").create_schedule(**params)


def schedule_exists(aws, env, name: str) -> bool:
    client = aws.client("scheduler")
    try:
        client.get_schedule(Name=name, GroupName=env[r.ENV_SCHEDULE_GROUP])
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def drain(sqs, url: str) -> list[dict]:
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


def counts(sqs, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    a = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def expire_visibility(sqs, url: str, receipt_handles: list[str]) -> None:
    """What waiting out the visibility timeout would do, without waiting."""
    for handle in receipt_handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)


class Recorder:
    """A handler that records its calls and fails the records whose body is in `fail`."""

    def __init__(self, fail: set[str] | None = None, raises: bool = False) -> None:
        self.fail = fail or set()
        self.raises = raises
        self.events: list[dict] = []
        self.contexts: list = []

    def __call__(self, event, context):
        self.events.append(event)
        self.contexts.append(context)
        if self.raises:
            raise RuntimeError("handler exploded")
        return {
            "batchItemFailures": [
                {"itemIdentifier": rec["messageId"]} for rec in event["Records"] if rec["body"] in self.fail
            ]
        }

    @property
    def records(self) -> list[dict]:
        return [rec for event in self.events for rec in event["Records"]]


@pytest.fixture
def sqs(aws):
    return aws.client("sqs")


@pytest.fixture
def steps(provisioned) -> tuple[str, str]:
    return provisioned[r.ENV_STEPS_QUEUE_URL], provisioned[r.ENV_STEPS_QUEUE_ARN]


def steps_poller(sqs, steps, handler, **kwargs) -> QueuePoller:
    url, arn = steps
    return QueuePoller(
        sqs, url, arn, handler, region=sqs.meta.region_name, function_name="chairside-test-SendStep", **kwargs
    )


# --- schedule expressions -------------------------------------------------------------------------


def test_at_expression_is_read_in_its_timezone():
    assert next_fire_time(SHANGHAI_NINE_AM, "Asia/Shanghai") == DUE_UTC
    assert next_fire_time("at(2025-03-01T01:00:00)", None) == DUE_UTC
    assert next_fire_time("rate(5 minutes)", "UTC") is None
    assert next_fire_time("cron(0 9 * * ? *)", "Asia/Shanghai") is None
    with pytest.raises(ValueError):
        next_fire_time("at(2025-02-30T09:00:00)", "UTC")


# --- ScheduleFirer --------------------------------------------------------------------------------


def test_schedule_fires_when_the_clock_passes_its_local_due_time_and_is_deleted(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "booking-1-reminder", body='{"booking": "1", "step": "reminder"}')
    clock = FixedClock(datetime(2025, 3, 1, 0, 59, 59, tzinfo=UTC))  # 08:59:59 in Shanghai
    firer = build_firer(aws, stage, None, aws.region_name, clock)
    url = provisioned[r.ENV_STEPS_QUEUE_URL]

    assert firer.tick() == 0
    assert counts(sqs, url) == (0, 0)
    assert schedule_exists(aws, provisioned, "booking-1-reminder")

    clock.advance(seconds=1)  # 09:00:00 in Shanghai
    assert firer.tick() == 1

    (message,) = drain(sqs, url)
    assert message["Body"] == '{"booking": "1", "step": "reminder"}'
    assert not schedule_exists(aws, provisioned, "booking-1-reminder")
    clock.advance(hours=1)
    assert firer.tick() == 0
    assert counts(sqs, url) == (0, 0)


def test_schedule_without_timezone_is_utc(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "utc", expression="at(2025-03-01T09:00:00)", timezone=None)
    clock = FixedClock(datetime(2025, 3, 1, 8, 59, 59, tzinfo=UTC))
    firer = build_firer(aws, stage, None, aws.region_name, clock)

    assert firer.tick() == 0
    clock.advance(seconds=1)
    assert firer.tick() == 1


def test_disabled_schedule_never_fires(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "paused", state="DISABLED")
    clock = FixedClock(DUE_UTC)
    firer = build_firer(aws, stage, None, aws.region_name, clock)

    for _ in range(3):
        assert firer.tick() == 0
        clock.advance(days=1)

    assert counts(sqs, provisioned[r.ENV_STEPS_QUEUE_URL]) == (0, 0)
    assert schedule_exists(aws, provisioned, "paused")


def test_schedule_kept_after_completion_fires_only_once(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "keep-me", action="NONE")
    clock = FixedClock(DUE_UTC)
    firer = build_firer(aws, stage, None, aws.region_name, clock)

    assert firer.tick() == 1
    clock.advance(minutes=5)
    assert firer.tick() == 0

    assert len(drain(sqs, provisioned[r.ENV_STEPS_QUEUE_URL])) == 1
    assert schedule_exists(aws, provisioned, "keep-me")


def test_recurring_schedule_is_ignored(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "every-minute", expression="rate(1 minute)")
    firer = build_firer(aws, stage, None, aws.region_name, FixedClock(DUE_UTC))

    assert firer.tick() == 0
    assert counts(sqs, provisioned[r.ENV_STEPS_QUEUE_URL]) == (0, 0)


def test_undeliverable_schedule_is_retried_then_dead_lettered_and_deleted(aws, provisioned, stage, sqs):
    missing_queue = provisioned[r.ENV_STEPS_QUEUE_ARN].rsplit(":", 1)[0] + ":chairside-test-no-such-queue"
    create_at_schedule(
        aws,
        provisioned,
        "doomed",
        body='{"step": "doomed"}',
        target_arn=missing_queue,
        retry={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
    )
    firer = build_firer(aws, stage, None, aws.region_name, FixedClock(DUE_UTC))
    dlq_url = sqs.get_queue_url(QueueName=r.SCHEDULER_DLQ.name(stage))["QueueUrl"]

    for _ in range(2):  # the first attempt and one retry fail; one retry is left
        assert firer.tick() == 0
        assert counts(sqs, dlq_url) == (0, 0)
        assert schedule_exists(aws, provisioned, "doomed")

    assert firer.tick() == 0  # the last retry fails too

    (dead,) = drain(sqs, dlq_url)
    assert dead["Body"] == '{"step": "doomed"}'
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["TARGET_ARN"] == missing_queue
    assert attributes["SCHEDULE_ARN"].endswith("/doomed")
    assert not schedule_exists(aws, provisioned, "doomed")


class DeletesAfterListing:
    """A scheduler client on which the schedule is deleted (by the app) just after it was listed."""

    def __init__(self, client, name: str, group: str) -> None:
        self._client, self._name, self._group = client, name, group

    def __getattr__(self, attribute):
        return getattr(self._client, attribute)

    def get_paginator(self, operation):
        real = self._client.get_paginator(operation)
        outer = self

        class Paginator:
            def paginate(self, **kwargs):
                yield from real.paginate(**kwargs)
                outer._client.delete_schedule(Name=outer._name, GroupName=outer._group)

        return Paginator()


def test_schedule_deleted_between_list_and_fire_is_dropped(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "cancelled")
    firer = build_firer(aws, stage, None, aws.region_name, FixedClock(DUE_UTC))
    firer.scheduler = DeletesAfterListing(firer.scheduler, "cancelled", provisioned[r.ENV_SCHEDULE_GROUP])

    assert firer.tick() == 0
    assert counts(sqs, provisioned[r.ENV_STEPS_QUEUE_URL]) == (0, 0)


def test_rescheduled_schedule_fires_at_its_new_time(aws, provisioned, stage, sqs):
    create_at_schedule(aws, provisioned, "moved")
    clock = FixedClock(datetime(2025, 3, 1, 0, 0, tzinfo=UTC))
    firer = build_firer(aws, stage, None, aws.region_name, clock)
    assert firer.tick() == 0  # seen, and its due time cached

    detail = aws.client("scheduler").get_schedule(Name="moved", GroupName=provisioned[r.ENV_SCHEDULE_GROUP])
    aws.client("scheduler").update_schedule(
        Name="moved",
        GroupName=detail["GroupName"],
        ScheduleExpression="at(2025-03-01T08:30:00)",  # half an hour earlier, Shanghai time
        ScheduleExpressionTimezone="Asia/Shanghai",
        FlexibleTimeWindow=detail["FlexibleTimeWindow"],
        Target=detail["Target"],
        ActionAfterCompletion="DELETE",
    )
    clock.set(datetime(2025, 3, 1, 0, 30, tzinfo=UTC))
    assert firer.tick() == 1


# --- QueuePoller ----------------------------------------------------------------------------------


def test_poller_passes_a_real_shaped_event_and_deletes_only_successes(aws, provisioned, sqs, steps):
    url, arn = steps
    for body in ("first", "second", "third"):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                "channel": {"DataType": "String", "StringValue": "sms"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )
    handler = Recorder(fail={"second"})
    poller = steps_poller(sqs, steps, handler, timeout_seconds=30, memory_limit_in_mb=512)

    assert poller.tick() == 3

    (event,) = handler.events
    SqsModel.model_validate(event)  # Powertools' model of the Lambda SQS event accepts it
    records = event["Records"]
    assert sorted(rec["body"] for rec in records) == ["first", "second", "third"]
    assert len({rec["messageId"] for rec in records}) == 3
    for rec in records:
        assert set(rec) == {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "md5OfMessageAttributes",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
        assert rec["eventSource"] == "aws:sqs"
        assert rec["eventSourceARN"] == arn
        assert rec["awsRegion"] == aws.region_name
        assert rec["md5OfBody"] == hashlib.md5(rec["body"].encode(), usedforsecurity=False).hexdigest()
        assert {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        } <= set(rec["attributes"])
        assert rec["attributes"]["ApproximateReceiveCount"] == "1"
        assert rec["messageAttributes"] == {
            "channel": {
                "stringValue": "sms",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "blob": {
                "binaryValue": "AAE=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        }
    (context,) = handler.contexts
    assert context.function_name == "chairside-test-SendStep"
    assert context.function_version == "$LATEST"
    assert context.invoked_function_arn == (
        f"arn:aws:lambda:{aws.region_name}:{arn.split(':')[4]}:function:chairside-test-SendStep"
    )
    assert context.memory_limit_in_mb == 512
    uuid.UUID(context.aws_request_id)
    assert context.log_group_name == "/aws/lambda/chairside-test-SendStep"
    assert 0 < context.get_remaining_time_in_millis() <= 30_000

    assert counts(sqs, url) == (0, 1)  # only "second" is left, in flight


def test_failed_record_is_redelivered_then_moved_to_the_dlq(aws, provisioned, stage, sqs, steps):
    url, _ = steps
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    handler = Recorder(fail={"poison"})
    poller = steps_poller(sqs, steps, handler)

    for _ in range(r.STEPS_QUEUE.max_receive_count):
        assert poller.tick() >= 1
        last = handler.events[-1]["Records"]
        expire_visibility(sqs, url, [rec["receiptHandle"] for rec in last if rec["body"] == "poison"])
    assert poller.tick() == 0  # SQS moved it to the DLQ instead of delivering it again

    poison = [rec for rec in handler.records if rec["body"] == "poison"]
    assert [rec["attributes"]["ApproximateReceiveCount"] for rec in poison] == [
        str(n) for n in range(1, r.STEPS_QUEUE.max_receive_count + 1)
    ]
    assert len({rec["messageId"] for rec in poison}) == 1
    assert [rec["body"] for rec in handler.records].count("fine") == 1
    dlq_url = sqs.get_queue_url(QueueName=r.STEPS_QUEUE.dlq_name(stage))["QueueUrl"]
    assert [m["Body"] for m in drain(sqs, dlq_url)] == ["poison"]
    assert counts(sqs, url) == (0, 0)


def test_handler_that_raises_leaves_the_whole_batch(aws, provisioned, sqs, steps):
    url, _ = steps
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    broken = Recorder(raises=True)

    assert steps_poller(sqs, steps, broken).tick() == 3  # logged, not raised
    assert counts(sqs, url) == (0, 3)

    expire_visibility(sqs, url, [rec["receiptHandle"] for rec in broken.records])
    healthy = Recorder()
    assert steps_poller(sqs, steps, healthy).tick() == 3
    assert {rec["attributes"]["ApproximateReceiveCount"] for rec in healthy.records} == {"2"}
    assert counts(sqs, url) == (0, 0)


def test_unknown_item_identifier_fails_the_whole_batch(aws, provisioned, sqs, steps):
    url, _ = steps
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    poller = steps_poller(
        sqs, steps, lambda event, context: {"batchItemFailures": [{"itemIdentifier": "nope"}]}
    )

    assert poller.tick() == 2
    assert counts(sqs, url) == (0, 2)


def test_batch_item_failures_are_ignored_without_report_batch_item_failures(aws, provisioned, sqs, steps):
    url, _ = steps
    sqs.send_message(QueueUrl=url, MessageBody="lost")
    poller = steps_poller(sqs, steps, Recorder(fail={"lost"}), report_batch_item_failures=False)

    assert poller.tick() == 1
    assert counts(sqs, url) == (0, 0)  # what AWS does when the mapping lacks ReportBatchItemFailures


def test_powertools_batch_processor_partial_failure(aws, provisioned, sqs, steps):
    url, _ = steps
    processor = BatchProcessor(event_type=EventType.SQS)
    handled: list[str] = []

    def record_handler(record):
        if record.body == "bad":
            raise ValueError("bad step")
        handled.append(record.body)

    def handler(event, context):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    for body in ("ok-1", "bad", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    assert steps_poller(sqs, steps, handler).tick() == 3
    assert sorted(handled) == ["ok-1", "ok-2"]
    assert counts(sqs, url) == (0, 1)


# --- wiring ---------------------------------------------------------------------------------------


def test_build_pollers_makes_one_lazy_poller_per_worker(aws, provisioned, stage):
    pollers = build_pollers(aws, stage, None, aws.region_name)

    assert len(pollers) == len(r.WORKERS)
    for poller, worker in zip(pollers, r.WORKERS, strict=True):
        queue_name = worker.queue.name(stage)
        assert poller.queue_url.endswith("/" + queue_name)
        assert poller.queue_arn.endswith(":" + queue_name)
        assert isinstance(poller.handler, LazyHandler)
        assert poller.handler.dotted == f"functions.{worker.handler}"
        assert poller.batch_size == min(worker.batch_size, 10)
        assert poller.report_batch_item_failures == worker.report_batch_item_failures


def test_lazy_handler_imports_on_first_call():
    handler = LazyHandler("operator.add")
    assert handler._function is None
    assert handler(2, 3) == 5


def test_plumbing_fires_a_step_and_feeds_it_to_the_worker_in_one_tick(aws, provisioned, stage, sqs, steps):
    create_at_schedule(aws, provisioned, "end-to-end", body='{"step": "e2e"}')
    handler = Recorder()

    class Exploding:
        def tick(self):
            raise RuntimeError("a broken part must not stop the others")

    plumbing = Plumbing(
        [Exploding(), build_firer(aws, stage, None, aws.region_name, FixedClock(DUE_UTC))],
        [steps_poller(sqs, steps, handler)],
    )

    assert plumbing.tick() == 2  # one schedule fired, one record handled
    assert [rec["body"] for rec in handler.records] == ['{"step": "e2e"}']
    assert counts(sqs, steps[0]) == (0, 0)


def test_run_forever_stops_when_told(aws, provisioned, sqs, steps):
    handler = Recorder()
    sqs.send_message(QueueUrl=steps[0], MessageBody="x")
    plumbing = Plumbing([], [steps_poller(sqs, steps, handler)])
    stop = threading.Event()
    thread = threading.Thread(target=plumbing.run_forever, args=(stop,), kwargs={"interval": 0.01})

    thread.start()
    try:
        for _ in range(200):
            if handler.records:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)

    assert not thread.is_alive()
    assert [rec["body"] for rec in handler.records] == ["x"]


def test_firer_between_lists_fires_from_the_last_list_and_relists_when_the_clock_jumps(
    aws, provisioned, stage, sqs
):
    create_at_schedule(aws, provisioned, "booking-1-reminder", body='{"n": 1}')
    clock = FixedClock(datetime(2025, 3, 1, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    firer = build_firer(aws, stage, None, aws.region_name, clock, relist_seconds=3600)
    assert firer.tick() == 0  # listed: due at 09:00
    create_at_schedule(aws, provisioned, "booking-2-reminder", body='{"n": 2}')  # not listed yet

    clock.advance(hours=2)  # a jump of the domain clock: list again at once
    assert firer.tick() == 2
    assert sorted(m["Body"] for m in drain(sqs, provisioned[r.ENV_STEPS_QUEUE_URL])) == [
        '{"n": 1}',
        '{"n": 2}',
    ]


def test_a_worker_killed_mid_batch_deletes_nothing_and_the_batch_comes_back(aws, provisioned, sqs, steps):
    url, _ = steps
    for body in ("a", "b", "c", "d"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    dying = Recorder()
    crashes = iter([True])

    assert steps_poller(sqs, steps, dying, crashes=lambda: next(crashes, False)).tick() == 4
    assert len(dying.records) == 2  # half the batch was handled before it died
    assert counts(sqs, url) == (0, 4)  # nothing deleted

    expire_visibility(sqs, url, [rec["receiptHandle"] for rec in dying.records])
    healthy = Recorder()
    assert steps_poller(sqs, steps, healthy).tick() == 2  # the handled ones come back too: at-least-once
    assert {rec["body"] for rec in healthy.records} == {"a", "b"}
    assert {rec["attributes"]["ApproximateReceiveCount"] for rec in healthy.records} == {"2"}
