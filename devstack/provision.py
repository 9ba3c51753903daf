"""Create Chairside's AWS resources for one stage from `chalicelib.resources`, idempotently.

Used against the local moto server (`endpoint_url`) and under `mock_aws` in tests. Every name comes
from `chalicelib.resources`; nothing is declared here. Calling `provision` again converges the
resources on the spec (queue attributes are re-applied, missing indexes added) instead of failing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib import resources as r

log = logging.getLogger(__name__)

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
SCHEDULER_POLICY_NAME = "send-journey-steps"

# Error codes meaning "this DynamoDB does not do point-in-time recovery" (DynamoDB Local, old moto).
_PITR_UNSUPPORTED = {"UnknownOperationException", "ContinuousBackupsUnavailableException", "NotImplemented"}


def scheduler_role_name(stage: str) -> str:
    return f"{r.PREFIX}-{stage}-scheduler"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# --- DynamoDB -------------------------------------------------------------------------------------


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _gsi(index: r.Index) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.hash_key, index.range_key),
        "Projection": {"ProjectionType": index.projection},
    }


def _ensure_table(ddb: Any, table: r.Table, stage: str) -> str:
    name = table.name(stage)
    attribute_definitions = [{"AttributeName": a, "AttributeType": "S"} for a in table.attributes()]
    params: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attribute_definitions,
        "KeySchema": _key_schema(table.hash_key, table.range_key),
    }
    if table.indexes:
        params["GlobalSecondaryIndexes"] = [_gsi(i) for i in table.indexes]
    try:
        ddb.create_table(**params)
        log.info("created table %s", name)
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise
        _add_missing_indexes(ddb, table, name, attribute_definitions)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    if table.ttl_attribute:
        ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    try:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    except ClientError as exc:
        if _code(exc) not in _PITR_UNSUPPORTED:
            raise
        log.warning("point-in-time recovery not available for %s: %s", name, _code(exc))
    return name


def _add_missing_indexes(ddb: Any, table: r.Table, name: str, attribute_definitions: list[dict]) -> None:
    existing = {
        gsi["IndexName"]
        for gsi in ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    }
    for index in table.indexes:
        if index.name in existing:
            continue
        # DynamoDB takes one index creation per UpdateTable call.
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=attribute_definitions,
            GlobalSecondaryIndexUpdates=[{"Create": _gsi(index)}],
        )
        log.info("added index %s to %s", index.name, name)


# --- SQS ------------------------------------------------------------------------------------------


def _ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    """Create the queue or, if it exists, re-apply the attributes. Returns (url, arn)."""
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:
        # Real SQS and moto refuse CreateQueue for an existing name with different attributes.
        if _code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _ensure_queue_with_dlq(sqs: Any, queue: r.Queue, stage: str) -> dict[str, str]:
    dlq_url, dlq_arn = _ensure_queue(
        sqs, queue.dlq_name(stage), {"MessageRetentionPeriod": str(queue.dlq_retention_seconds)}
    )
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
    url, arn = _ensure_queue(
        sqs,
        queue.name(stage),
        {
            "VisibilityTimeout": str(queue.visibility_timeout),
            "MessageRetentionPeriod": str(queue.retention_seconds),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return {"url": url, "arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}


def _ensure_plain_queue(sqs: Any, queue: r.Queue, stage: str) -> dict[str, str | None]:
    url, arn = _ensure_queue(
        sqs,
        queue.name(stage),
        {
            "VisibilityTimeout": str(queue.visibility_timeout),
            "MessageRetentionPeriod": str(queue.retention_seconds),
        },
    )
    return {"url": url, "arn": arn, "dlq_url": None, "dlq_arn": None}


# --- Scheduler and IAM ----------------------------------------------------------------------------


def _ensure_schedule_group(scheduler: Any, name: str) -> None:
    try:
        scheduler.get_schedule_group(Name=name)
        return
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
    try:
        scheduler.create_schedule_group(Name=name)
        log.info("created schedule group %s", name)
    except ClientError as exc:
        if _code(exc) != "ConflictException":
            raise


def _ensure_scheduler_role(iam: Any, stage: str, send_to: list[str]) -> str:
    name = scheduler_role_name(stage)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": SCHEDULER_PRINCIPAL}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    try:
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust,
            Description="EventBridge Scheduler delivers journey steps to SQS",
        )["Role"]["Arn"]
    except ClientError as exc:
        if _code(exc) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": send_to}],
    }
    iam.put_role_policy(RoleName=name, PolicyName=SCHEDULER_POLICY_NAME, PolicyDocument=json.dumps(policy))
    return arn


def _ensure_topic_to_queue(sns: Any, sqs: Any, topic: r.Topic, stage: str, queue: dict[str, Any]) -> str:
    """The topic, and its queue subscribed to it (create_topic and subscribe are idempotent)."""
    topic_arn = sns.create_topic(Name=topic.name(stage))["TopicArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue["arn"],
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue["url"], Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue["arn"])
    return topic_arn


# --- Entry points ---------------------------------------------------------------------------------


def provision(
    session: boto3.session.Session, stage: str, *, endpoint_url: str | None = None
) -> dict[str, str]:
    """Create (or converge) every resource of `stage`; return the environment the code reads."""
    ddb = session.client("dynamodb", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    scheduler = session.client("scheduler", endpoint_url=endpoint_url)
    iam = session.client("iam", endpoint_url=endpoint_url)

    for table in r.TABLES:
        _ensure_table(ddb, table, stage)

    queues: dict[str, dict[str, Any]] = {}
    for queue in r.QUEUES:
        queues[queue.short] = _ensure_queue_with_dlq(sqs, queue, stage)
    for queue in r.PLAIN_QUEUES:
        queues[queue.short] = _ensure_plain_queue(sqs, queue, stage)

    group = r.schedule_group_name(stage)
    _ensure_schedule_group(scheduler, group)
    _ensure_schedule_group(scheduler, r.care_schedule_group_name(stage))

    steps = queues[r.STEPS_QUEUE.short]
    scheduler_dlq = queues[r.SCHEDULER_DLQ.short]
    steps_arn, scheduler_dlq_arn = str(steps["arn"]), str(scheduler_dlq["arn"])
    care_ticks_arn = str(queues[r.CARE_TICKS_QUEUE.short]["arn"])
    care_ticks_url = str(queues[r.CARE_TICKS_QUEUE.short]["url"])
    waitlist = queues[r.WAITLIST_QUEUE.short]
    role_arn = _ensure_scheduler_role(
        iam, stage, [steps_arn, scheduler_dlq_arn, care_ticks_arn, str(waitlist["arn"])]
    )
    sns = session.client("sns", endpoint_url=endpoint_url)
    for topic in r.TOPICS:
        _ensure_topic_to_queue(sns, sqs, topic, stage, queues[topic.queue.short])
    configuration_set = _ensure_email_configuration_set(
        session.client("sesv2", endpoint_url=endpoint_url), stage
    )

    return {
        r.ENV_INBOUND_QUEUE_URL: str(queues[r.INBOUND_QUEUE.short]["url"]),
        r.ENV_CARE_QUEUE_URL: str(queues[r.CARE_QUEUE.short]["url"]),
        r.ENV_CARE_DLQ_URL: str(queues[r.CARE_QUEUE.short]["dlq_url"]),
        r.ENV_WAITLIST_QUEUE_URL: str(waitlist["url"]),
        r.ENV_WAITLIST_QUEUE_ARN: str(waitlist["arn"]),
        r.ENV_STAGE: stage,
        r.ENV_MAIN_TABLE: r.MAIN_TABLE.name(stage),
        r.ENV_STEPS_QUEUE_URL: str(steps["url"]),
        r.ENV_STEPS_QUEUE_ARN: steps_arn,
        r.ENV_STEPS_DLQ_URL: str(steps["dlq_url"]),
        r.ENV_SCHEDULE_GROUP: group,
        r.ENV_CARE_SCHEDULE_GROUP: r.care_schedule_group_name(stage),
        r.ENV_CARE_TICKS_QUEUE_ARN: care_ticks_arn,
        r.ENV_CARE_TICKS_QUEUE_URL: care_ticks_url,
        r.ENV_SCHEDULER_ROLE_ARN: role_arn,
        r.ENV_SCHEDULER_DLQ_ARN: scheduler_dlq_arn,
        r.ENV_EMAIL_CONFIGURATION_SET: configuration_set,
    }


def _ensure_email_configuration_set(sesv2: Any, stage: str) -> str:
    """The configuration set every email is sent with. moto keeps it but publishes no events (nor its event
    destination, which moto's SES v2 does not model): tests post SES's event records to the events queue."""
    name = r.EMAIL_CONFIGURATION_SET.name(stage)
    try:
        sesv2.get_configuration_set(ConfigurationSetName=name)
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        sesv2.create_configuration_set(ConfigurationSetName=name)
    return name


def queue_urls(
    session: boto3.session.Session, stage: str, endpoint_url: str | None = None
) -> dict[str, dict]:
    """Queue short name -> {"url", "arn", "dlq_url", "dlq_arn"} of already provisioned queues.

    Plain queues (no redrive) have `dlq_url`/`dlq_arn` set to None.
    """
    sqs = session.client("sqs", endpoint_url=endpoint_url)

    def lookup(name: str) -> tuple[str, str]:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    result: dict[str, dict] = {}
    for queue in r.QUEUES:
        url, arn = lookup(queue.name(stage))
        dlq_url, dlq_arn = lookup(queue.dlq_name(stage))
        result[queue.short] = {"url": url, "arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}
    for queue in r.PLAIN_QUEUES:
        url, arn = lookup(queue.name(stage))
        result[queue.short] = {"url": url, "arn": arn, "dlq_url": None, "dlq_arn": None}
    return result
