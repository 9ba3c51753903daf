"""Provisioning the stage's resources from chalicelib.resources, under moto."""

from __future__ import annotations

import json

import pytest

from chalicelib import resources as r
from devstack.provision import provision, queue_urls, scheduler_role_name


def queue_attributes(sqs, url: str) -> dict[str, str]:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_provision_returns_the_env_the_code_reads(aws, stage):
    env = provision(aws, stage)

    assert env[r.ENV_STAGE] == stage
    assert env[r.ENV_MAIN_TABLE] == r.MAIN_TABLE.name(stage)
    assert env[r.ENV_STEPS_QUEUE_URL].endswith("/" + r.STEPS_QUEUE.name(stage))
    assert env[r.ENV_STEPS_QUEUE_ARN].endswith(":" + r.STEPS_QUEUE.name(stage))
    assert env[r.ENV_SCHEDULE_GROUP] == r.schedule_group_name(stage)
    assert env[r.ENV_SCHEDULER_ROLE_ARN].endswith(":role/" + scheduler_role_name(stage))
    assert env[r.ENV_SCHEDULER_DLQ_ARN].endswith(":" + r.SCHEDULER_DLQ.name(stage))
    assert env[r.ENV_STEPS_DLQ_URL].endswith("/" + r.STEPS_QUEUE.dlq_name(stage))
    # Everything the code reads from AWS resources; the JWT secret is a secret, not a resource.
    assert env[r.ENV_INBOUND_QUEUE_URL].endswith("/" + r.INBOUND_QUEUE.name(stage))
    assert set(env) == {
        r.ENV_INBOUND_QUEUE_URL,
        r.ENV_STEPS_DLQ_URL,
        r.ENV_STAGE,
        r.ENV_MAIN_TABLE,
        r.ENV_STEPS_QUEUE_URL,
        r.ENV_STEPS_QUEUE_ARN,
        r.ENV_SCHEDULE_GROUP,
        r.ENV_SCHEDULER_ROLE_ARN,
        r.ENV_SCHEDULER_DLQ_ARN,
        r.ENV_CARE_SCHEDULE_GROUP,
        r.ENV_CARE_TICKS_QUEUE_ARN,
        r.ENV_CARE_TICKS_QUEUE_URL,
        r.ENV_CARE_QUEUE_URL,
        r.ENV_CARE_DLQ_URL,
        r.ENV_WAITLIST_QUEUE_URL,
        r.ENV_WAITLIST_QUEUE_ARN,
        r.ENV_EMAIL_CONFIGURATION_SET,  # issue 15
    }
    assert env[r.ENV_EMAIL_CONFIGURATION_SET] == r.EMAIL_CONFIGURATION_SET.name(stage)
    aws.client("sesv2").get_configuration_set(ConfigurationSetName=r.EMAIL_CONFIGURATION_SET.name(stage))


def test_provision_twice_is_idempotent(aws, stage):
    first = provision(aws, stage)
    second = provision(aws, stage)

    assert second == first
    sqs = aws.client("sqs")
    expected = {q.name(stage) for q in r.QUEUES} | {q.dlq_name(stage) for q in r.QUEUES}
    expected |= {q.name(stage) for q in r.PLAIN_QUEUES}
    names = {url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]}
    assert names == expected
    assert aws.client("dynamodb").list_tables()["TableNames"] == sorted(t.name(stage) for t in r.TABLES)
    groups = aws.client("scheduler").list_schedule_groups()["ScheduleGroups"]
    assert [g["Name"] for g in groups].count(r.schedule_group_name(stage)) == 1
    assert [g["Name"] for g in groups].count(r.care_schedule_group_name(stage)) == 1


def test_queues_have_their_dlq_redrive_and_spec_attributes(aws, stage):
    provision(aws, stage)
    sqs = aws.client("sqs")
    queues = queue_urls(aws, stage)

    for spec in r.QUEUES:
        q = queues[spec.short]
        attributes = queue_attributes(sqs, q["url"])
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == q["dlq_arn"]
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        assert attributes["VisibilityTimeout"] == str(spec.visibility_timeout)
        assert attributes["MessageRetentionPeriod"] == str(spec.retention_seconds)
        dlq = queue_attributes(sqs, q["dlq_url"])
        assert dlq["QueueArn"] == q["dlq_arn"]
        assert dlq["MessageRetentionPeriod"] == str(spec.dlq_retention_seconds)
        assert "RedrivePolicy" not in dlq

    for spec in r.PLAIN_QUEUES:
        q = queues[spec.short]
        assert q["dlq_url"] is None and q["dlq_arn"] is None
        assert "RedrivePolicy" not in queue_attributes(sqs, q["url"])


def test_provision_again_restores_drifted_queue_attributes(aws, stage):
    env = provision(aws, stage)
    sqs = aws.client("sqs")
    url = env[r.ENV_STEPS_QUEUE_URL]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})

    provision(aws, stage)

    assert queue_attributes(sqs, url)["VisibilityTimeout"] == str(r.STEPS_QUEUE.visibility_timeout)


def test_main_table_is_on_demand_with_string_keys_and_pitr(aws, stage):
    provision(aws, stage)
    ddb = aws.client("dynamodb")
    name = r.MAIN_TABLE.name(stage)

    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (name, "S") for name in r.MAIN_TABLE.attributes()
    }
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [i.name for i in r.MAIN_TABLE.indexes]
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_tables_get_their_indexes_and_ttl(aws, stage, monkeypatch: pytest.MonkeyPatch):
    extra = r.Table(
        logical="ExtraTable",
        short="extra",
        hash_key="pk",
        range_key="sk",
        indexes=(r.Index("by-store", "store_id", "starts_at"), r.Index("by-member", "member_id")),
        ttl_attribute="expires_at",
    )
    monkeypatch.setattr(r, "TABLES", (*r.TABLES, extra))
    provision(aws, stage)
    provision(aws, stage)  # enabling TTL twice must not fail

    ddb = aws.client("dynamodb")
    table = ddb.describe_table(TableName=extra.name(stage))["Table"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by-store", "by-member"}
    assert indexes["by-store"]["KeySchema"] == [
        {"AttributeName": "store_id", "KeyType": "HASH"},
        {"AttributeName": "starts_at", "KeyType": "RANGE"},
    ]
    assert all(i["Projection"] == {"ProjectionType": "ALL"} for i in indexes.values())
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}
    ttl = ddb.describe_time_to_live(TableName=extra.name(stage))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_provision_adds_an_index_missing_from_an_existing_table(aws, stage, monkeypatch: pytest.MonkeyPatch):
    bare = r.Table(logical="ExtraTable", short="extra", hash_key="pk")
    monkeypatch.setattr(r, "TABLES", (bare,))
    provision(aws, stage)

    indexed = r.Table(logical="ExtraTable", short="extra", hash_key="pk", indexes=(r.Index("by-x", "x"),))
    monkeypatch.setattr(r, "TABLES", (indexed,))
    provision(aws, stage)

    table = aws.client("dynamodb").describe_table(TableName=bare.name(stage))["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-x"]


def test_scheduler_role_trusts_the_scheduler_and_may_send_to_its_queues(aws, stage):
    env = provision(aws, stage)
    iam = aws.client("iam")
    name = scheduler_role_name(stage)

    role = iam.get_role(RoleName=name)["Role"]
    assert role["Arn"] == env[r.ENV_SCHEDULER_ROLE_ARN]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Statement"][0]["Action"] == "sts:AssumeRole"

    (policy_name,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    (statement,) = document["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert sorted(statement["Resource"]) == sorted(
        [
            env[r.ENV_STEPS_QUEUE_ARN],
            env[r.ENV_SCHEDULER_DLQ_ARN],
            env[r.ENV_CARE_TICKS_QUEUE_ARN],
            env[r.ENV_WAITLIST_QUEUE_ARN],
        ]
    )


def test_queue_urls_agree_with_provision(provisioned, aws, stage):
    queues = queue_urls(aws, stage)

    steps = queues[r.STEPS_QUEUE.short]
    assert steps["url"] == provisioned[r.ENV_STEPS_QUEUE_URL]
    assert steps["arn"] == provisioned[r.ENV_STEPS_QUEUE_ARN]
    assert steps["dlq_arn"].endswith(":" + r.STEPS_QUEUE.dlq_name(stage))
    assert queues[r.SCHEDULER_DLQ.short]["arn"] == provisioned[r.ENV_SCHEDULER_DLQ_ARN]


def test_provision_again_keeps_pending_schedules(aws, stage):
    # moto's CreateScheduleGroup silently replaces an existing group (and drops its schedules), so
    # provisioning must not re-create the group of a running stack.
    env = provision(aws, stage)
    scheduler = aws.client("scheduler")
    scheduler.create_schedule(
        Name="pending",
        GroupName=env[r.ENV_SCHEDULE_GROUP],
        ScheduleExpression="at(2030-01-01T09:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": env[r.ENV_STEPS_QUEUE_ARN], "RoleArn": env[r.ENV_SCHEDULER_ROLE_ARN], "Input": "{}"},
    )

    provision(aws, stage)

    names = [s["Name"] for s in scheduler.list_schedules(GroupName=env[r.ENV_SCHEDULE_GROUP])["Schedules"]]
    assert names == ["pending"]


def test_the_sms_topic_delivers_to_the_inbound_queue(aws, stage):
    env = provision(aws, stage)
    provision(aws, stage)  # converging again must not subscribe twice
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic_arn = next(
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(":" + r.SMS_INBOUND_TOPIC.name(stage))
    )

    sns.publish(TopicArn=topic_arn, Message='{"messageBody": "TD"}')

    got = sqs.receive_message(QueueUrl=env[r.ENV_INBOUND_QUEUE_URL], MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1
    assert json.loads(got[0]["Body"])["Message"] == '{"messageBody": "TD"}'  # the SNS envelope
