"""The template merged into `chalice package` output (`chalice package --merge-template`).

Built only from `chalicelib/resources.py` (what exists) and `infra/regions.py` (what differs per region):
the tables, the queues with their DLQs and alarms, the SNS topics delivering into queues, the EventBridge
Scheduler group and its role, the shared layer, the `functions/` workers, and patches to Chalice's own
`APIHandler` (layer, env vars, permissions).
Chalice deep-merges dicts and replaces lists, so a list given here (e.g. `Layers`) wins over Chalice's.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources as r
from infra.monitoring import monitoring
from infra.regions import Region, region_settings

Json = dict[str, Any]

RUNTIME = r.LAMBDA_RUNTIME
ARCHITECTURE = r.LAMBDA_ARCHITECTURE

# Logical ids that `chalice package` generates; the merge template patches them.
CHALICE_HANDLER = "APIHandler"
CHALICE_ROLE = "DefaultRole"

LAYER = "SharedLayer"
SCHEDULE_GROUP = "JourneyScheduleGroup"
CARE_SCHEDULE_GROUP = "CareScheduleGroup"
SCHEDULER_ROLE = "SchedulerRole"
ALARM_TOPIC = "DeadLetterAlarmTopic"
API_POLICY = "APIHandlerPolicy"

# Paths as SAM / `aws cloudformation package` read them: relative to the directory of sam.json, which
# infra/package.py writes to <out>/<stage>-<region>/ with the layer in <out>/layer/.
DEFAULT_LAYER_URI = "../layer"
DEFAULT_CODE_URI = "../../functions"

DYNAMODB_CRUD = [
    "dynamodb:DescribeTable",  # PynamoDB describes a table before its first call
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",  # never Scan: every access pattern is a key lookup or a Query
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
]
SQS_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",  # the event source mapping needs it
]

# Queues the code sends to, besides a worker's own queue (re-queueing) and its DLQ. The HTTP API queues
# immediate journey steps and stores inbound channel messages; any worker may hand an inbound message on.
API_SENDS_TO: tuple[r.Queue, ...] = (r.STEPS_QUEUE, r.INBOUND_QUEUE, r.CARE_QUEUE, r.WAITLIST_QUEUE)
# A reply can re-plan a journey; a campaign's fan-out page queues the next page and its care messages.
WORKERS_SEND_TO: tuple[r.Queue, ...] = (r.STEPS_QUEUE, r.INBOUND_QUEUE, r.CARE_QUEUE, r.WAITLIST_QUEUE)


# ---------------------------------------------------------------- small helpers


def _ref(logical: str) -> Json:
    return {"Ref": logical}


def _arn(logical: str) -> Json:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _sub(text: str) -> Json:
    return {"Fn::Sub": text}


def _statement(sid: str, actions: list[str], resources: list[Any], condition: Json | None = None) -> Json:
    statement: Json = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _policy_document(statements: list[Json]) -> Json:
    return {"Version": "2012-10-17", "Statement": statements}


def _trust(service: str, condition: Json | None = None) -> Json:
    statement: Json = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _policy_document([statement])


def dlq_logical(queue: r.Queue) -> str:
    return f"{queue.logical}Dlq"


def dead_letter_queues(stage: str) -> list[tuple[str, str]]:
    """(logical id, name) of every queue that only holds failures: our DLQs and other services' DLQs."""
    return [(dlq_logical(q), q.dlq_name(stage)) for q in r.QUEUES] + [
        (q.logical, q.name(stage)) for q in r.PLAIN_QUEUES
    ]


def subscription_logical(topic: r.Topic) -> str:
    return f"{topic.logical}Subscription"


def queue_policy_logical(queue: r.Queue) -> str:
    return f"{queue.logical}Policy"


def worker_function_name(stage: str, worker: r.Worker) -> str:
    module = worker.handler.split(".")[0]
    return f"{r.PREFIX}-{stage}-{module.replace('_', '-')}"


def secret_prefix(stage: str) -> str:
    return f"{r.PREFIX}/{stage}"


# ---------------------------------------------------------------- what every function is given


def environment(stage: str, region: Region) -> dict[str, Any]:
    """The variables chalicelib/settings.py reads, named by resources.ENV_*."""
    return {
        r.ENV_STAGE: stage,
        r.ENV_SES_REGION: region.email_region,
        r.ENV_EMAIL_SENDER: region.email_sender,
        r.ENV_PUBLIC_BASE_URL: region.public_base_url,
        r.ENV_MAIN_TABLE: _ref(r.MAIN_TABLE.logical),
        r.ENV_STEPS_QUEUE_URL: _ref(r.STEPS_QUEUE.logical),
        r.ENV_STEPS_QUEUE_ARN: _arn(r.STEPS_QUEUE.logical),
        r.ENV_STEPS_DLQ_URL: _ref(dlq_logical(r.STEPS_QUEUE)),
        r.ENV_INBOUND_QUEUE_URL: _ref(r.INBOUND_QUEUE.logical),
        r.ENV_CARE_QUEUE_URL: _ref(r.CARE_QUEUE.logical),
        r.ENV_CARE_TICKS_QUEUE_URL: _ref(r.CARE_TICKS_QUEUE.logical),
        r.ENV_CARE_DLQ_URL: _ref(dlq_logical(r.CARE_QUEUE)),
        r.ENV_WAITLIST_QUEUE_URL: _ref(r.WAITLIST_QUEUE.logical),
        r.ENV_WAITLIST_QUEUE_ARN: _arn(r.WAITLIST_QUEUE.logical),
        r.ENV_SCHEDULE_GROUP: _ref(SCHEDULE_GROUP),
        r.ENV_CARE_SCHEDULE_GROUP: _ref(CARE_SCHEDULE_GROUP),
        r.ENV_CARE_TICKS_QUEUE_ARN: _arn(r.CARE_TICKS_QUEUE.logical),
        r.ENV_SCHEDULER_ROLE_ARN: _arn(SCHEDULER_ROLE),
        r.ENV_SCHEDULER_DLQ_ARN: _arn(r.SCHEDULER_DLQ.logical),
        r.ENV_JWT_SECRET_NAME: r.jwt_secret_name(stage),  # the value is read at run time, never put here
        r.ENV_EMAIL_CONFIGURATION_SET: r.EMAIL_CONFIGURATION_SET.name(stage) if _ses_here(region) else "",
    }


def _unique(items: list[Any]) -> list[Any]:
    """`items` without repeats, in order (dicts such as {"Fn::GetAtt": ...} are not hashable)."""
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _tables_read_write() -> Json:
    resources: list[Any] = []
    for table in r.TABLES:
        resources.append(_arn(table.logical))
        if table.indexes:
            resources.append(_sub(f"${{{table.logical}.Arn}}/index/*"))
    return _statement("TablesReadWrite", DYNAMODB_CRUD, resources)


def _schedules() -> list[Json]:
    return [
        _statement(
            "ManageJourneySchedules",
            ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
            [
                _sub(
                    f"arn:${{AWS::Partition}}:scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule/${{{SCHEDULE_GROUP}}}/*"
                )
            ],
        ),
        _statement(
            "PassSchedulerRole",
            ["iam:PassRole"],
            [_arn(SCHEDULER_ROLE)],
            {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        ),
    ]


def _secrets(stage: str) -> Json:
    return _statement(
        "ReadStageSecrets",
        ["secretsmanager:GetSecretValue"],
        [
            _sub(
                f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{secret_prefix(stage)}/*"
            )
        ],
    )


def api_statements(stage: str, region: Region) -> list[Json]:
    """The HTTP API books, reschedules and cancels: it writes the table, queues immediate steps and manages
    schedules. Its channel endpoints verify callbacks with the channel secrets and queue what arrives for
    the inbound worker. It answers members itself when the generic message webhook is understood in the
    request and when staff reply, so it may send SMS and email."""
    return [
        _tables_read_write(),
        _statement("QueueMessages", ["sqs:SendMessage"], [_arn(q.logical) for q in API_SENDS_TO]),
        *_send_to_members(region),
        *_schedules(),
        _secrets(stage),
        *_catalogue(stage),
    ]


def _catalogue(stage: str) -> list[Json]:
    """A store added through the catalogue API (services/catalogue.py) gets its daily care schedule and its
    WeChat channel secret there and then, as `python -m infra.care_schedules` and the seed do."""
    return [
        _statement(
            "ManageCareSchedules",
            ["scheduler:CreateSchedule", "scheduler:UpdateSchedule"],
            [
                _sub(
                    f"arn:${{AWS::Partition}}:scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule/${{{CARE_SCHEDULE_GROUP}}}/*"
                )
            ],
        ),
        _statement(
            "CreateStoreChannelSecrets",
            ["secretsmanager:CreateSecret"],
            [
                _sub(
                    f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{secret_prefix(stage)}/stores/*"
                )
            ],
        ),
    ]


def _send_to_members(region: Region) -> list[Json]:
    return [
        # SMS goes to a phone number, not a topic: SNS has no resource ARN to narrow it to.
        _statement("SendSms", ["sns:Publish"], ["*"]),
        _statement(
            "SendEmail",
            ["ses:SendEmail", "ses:SendRawEmail"],
            [
                _sub(f"arn:${{AWS::Partition}}:ses:{region.email_region}:${{AWS::AccountId}}:identity/*"),
                # sending with a configuration set needs the right on it too
                _sub(
                    f"arn:${{AWS::Partition}}:ses:{region.email_region}:${{AWS::AccountId}}:configuration-set/{r.PREFIX}-*"
                ),
            ],
        ),
    ]


def worker_statements(stage: str, region: Region, worker: r.Worker) -> list[Json]:
    return [
        _statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [_arn(f"{worker.logical}LogGroup")]
        ),
        _tables_read_write(),
        _statement("ConsumeOwnQueue", SQS_CONSUME, [_arn(worker.queue.logical)]),
        # Its own queue (a message to retry later), the queues any worker feeds, and its own DLQ.
        _statement(
            "SendMessages",
            ["sqs:SendMessage"],
            _unique(
                [_arn(q.logical) for q in (worker.queue, *WORKERS_SEND_TO)]
                + [_arn(dlq_logical(worker.queue))]
            ),
        ),
        *_send_to_members(region),
        *_schedules(),
        _secrets(stage),
        *_second_opinion(worker),
    ]


def _second_opinion(worker: r.Worker) -> list[Json]:
    """The inbound worker may ask a chain's hosted second opinion (issue 16: Bedrock Converse needs
    bedrock:InvokeModel), on a foundation model or an inference profile, in any region a chain's setting names."""
    if worker.queue is not r.INBOUND_QUEUE:
        return []
    return [
        _statement(
            "AskSecondOpinion",
            ["bedrock:InvokeModel"],
            [
                _sub("arn:${AWS::Partition}:bedrock:*::foundation-model/*"),
                _sub("arn:${AWS::Partition}:bedrock:*:${AWS::AccountId}:inference-profile/*"),
            ],
        )
    ]


# ---------------------------------------------------------------- resources


def _table(stage: str, table: r.Table) -> Json:
    properties: Json = {
        "TableName": table.name(stage),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in table.attributes()],
        "KeySchema": _key_schema(table.hash_key, table.range_key),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "SSESpecification": {"SSEEnabled": True},
    }
    if table.indexes:
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.hash_key, index.range_key),
                "Projection": {"ProjectionType": index.projection},
            }
            for index in table.indexes
        ]
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _key_schema(hash_key: str, range_key: str | None) -> list[Json]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def _queue(name: str, retention: int, visibility: int | None = None, redrive: Json | None = None) -> Json:
    properties: Json = {"QueueName": name, "MessageRetentionPeriod": retention, "SqsManagedSseEnabled": True}
    if visibility is not None:
        properties["VisibilityTimeout"] = visibility
    if redrive:
        properties["RedrivePolicy"] = redrive
    # Messages in flight are transient and the name is fixed (a retained queue would block a re-create).
    return {
        "Type": "AWS::SQS::Queue",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": properties,
    }


def _queues(stage: str) -> Json:
    resources: Json = {}
    for queue in r.QUEUES:
        if queue.dlq_retention_seconds < queue.retention_seconds:
            raise ValueError(f"{queue.logical}: its DLQ must keep messages at least as long as the queue")
        resources[dlq_logical(queue)] = _queue(queue.dlq_name(stage), queue.dlq_retention_seconds)
        resources[queue.logical] = _queue(
            queue.name(stage),
            queue.retention_seconds,
            queue.visibility_timeout,
            {"deadLetterTargetArn": _arn(dlq_logical(queue)), "maxReceiveCount": queue.max_receive_count},
        )
    for queue in r.PLAIN_QUEUES:
        resources[queue.logical] = _queue(
            queue.name(stage), queue.dlq_retention_seconds, queue.visibility_timeout
        )
    return resources


def _topics(stage: str) -> Json:
    """Each topic, its SQS subscription (the SNS envelope, not raw delivery: the worker reads the topic and
    message attributes from it) and, once per receiving queue, the policy letting SNS send from its topics."""
    resources: Json = {}
    senders: dict[r.Queue, list[r.Topic]] = {}
    for topic in r.TOPICS:
        if topic.queue not in r.QUEUES:
            raise ValueError(f"{topic.logical}: its queue {topic.queue.logical} is not in resources.QUEUES")
        resources[topic.logical] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic.name(stage)}}
        resources[subscription_logical(topic)] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": _ref(topic.logical),
                "Protocol": "sqs",
                "Endpoint": _arn(topic.queue.logical),
                "RawMessageDelivery": False,
            },
        }
        senders.setdefault(topic.queue, []).append(topic)
    # One AWS::SQS::QueuePolicy per queue: two policies on one queue would overwrite each other.
    for queue, topics in senders.items():
        resources[queue_policy_logical(queue)] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [_ref(queue.logical)],
                "PolicyDocument": _policy_document(
                    [
                        {
                            "Sid": f"From{topic.logical}",
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": _arn(queue.logical),
                            "Condition": {"ArnEquals": {"aws:SourceArn": _ref(topic.logical)}},
                        }
                        for topic in topics
                    ]
                ),
            },
        }
    return resources


def _alarms(stage: str, region: Region) -> Json:
    topic: Json = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{r.PREFIX}-{stage}-dead-letters"}}
    if region.alarm_email:
        topic["Properties"]["Subscription"] = [{"Protocol": "email", "Endpoint": region.alarm_email}]
    resources: Json = {ALARM_TOPIC: topic}
    for logical, queue_name in dead_letter_queues(stage):
        resources[f"{logical}NotEmptyAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": f"{queue_name}-not-empty",
                "AlarmDescription": f"Messages are waiting in the dead-letter queue {queue_name}.",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [_ref(ALARM_TOPIC)],
                "OKActions": [_ref(ALARM_TOPIC)],
            },
        }
    return resources


def _scheduling(stage: str) -> Json:
    return {
        SCHEDULE_GROUP: {
            "Type": "AWS::Scheduler::ScheduleGroup",
            "Properties": {"Name": r.schedule_group_name(stage)},
        },
        # The stores' recurring care schedules (chalicelib/care/schedules.py creates one per store).
        CARE_SCHEDULE_GROUP: {
            "Type": "AWS::Scheduler::ScheduleGroup",
            "Properties": {"Name": r.care_schedule_group_name(stage)},
        },
        SCHEDULER_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Assumed by EventBridge Scheduler to deliver due journey steps.",
                "AssumeRolePolicyDocument": _trust(
                    "scheduler.amazonaws.com",
                    {
                        "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")},
                        "ArnLike": {"aws:SourceArn": [_arn(SCHEDULE_GROUP), _arn(CARE_SCHEDULE_GROUP)]},
                    },
                ),
                "Policies": [
                    {
                        "PolicyName": "deliver-journey-steps",
                        "PolicyDocument": _policy_document(
                            [
                                _statement(
                                    "DeliverSteps",
                                    ["sqs:SendMessage"],
                                    [
                                        _arn(r.STEPS_QUEUE.logical),
                                        _arn(r.SCHEDULER_DLQ.logical),
                                        _arn(r.CARE_TICKS_QUEUE.logical),
                                        _arn(r.WAITLIST_QUEUE.logical),
                                    ],
                                )
                            ]
                        ),
                    }
                ],
            },
        },
    }


def _layer(stage: str, layer_uri: str) -> Json:
    return {
        LAYER: {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": f"{r.PREFIX}-{stage}-shared",
                "Description": "chalicelib and the pinned runtime dependencies (requirements/runtime-lock.txt)",
                "ContentUri": layer_uri,
                "CompatibleRuntimes": [RUNTIME],
                "CompatibleArchitectures": [ARCHITECTURE],
                "RetentionPolicy": "Retain",
            },
        }
    }


def _worker(stage: str, region: Region, worker: r.Worker, code_uri: str) -> Json:
    if worker.timeout_seconds > worker.queue.visibility_timeout:
        raise ValueError(
            f"{worker.logical}: timeout exceeds the visibility timeout of {worker.queue.logical}"
        )
    name = worker_function_name(stage, worker)
    event: Json = {
        "Queue": _arn(worker.queue.logical),
        "BatchSize": worker.batch_size,
        "MaximumBatchingWindowInSeconds": worker.max_batching_window,
        # Bounded here rather than with ReservedConcurrentExecutions, which would take capacity from the
        # account's unreserved pool (and fails outright on accounts with a low concurrency quota).
        "ScalingConfig": {"MaximumConcurrency": worker.max_concurrency},
    }
    if worker.report_batch_item_failures:
        # Chalice never sets this (aws/chalice#2029): without it a returned batchItemFailures is ignored.
        event["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    return {
        f"{worker.logical}LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{name}",
                "RetentionInDays": region.log_retention_days,
            },
        },
        f"{worker.logical}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": worker.logical,
                        "PolicyDocument": _policy_document(worker_statements(stage, region, worker)),
                    }
                ],
            },
        },
        worker.logical: {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": name,
                "CodeUri": code_uri,
                "Handler": worker.handler,
                "Runtime": RUNTIME,
                "Architectures": [ARCHITECTURE],
                "MemorySize": worker.memory_mb,
                "Timeout": worker.timeout_seconds,
                "Layers": [_ref(LAYER)],
                "Role": _arn(f"{worker.logical}Role"),
                "Environment": {"Variables": {**environment(stage, region), **worker.env}},
                "Events": {"Queue": {"Type": "SQS", "Properties": event}},
            },
        },
    }


# ---------------------------------------------------------------- SNS SMS delivery-status logs (issue 15)

SNS_SMS_STATUS_ROLE = "SnsSmsDeliveryStatusRole"


def log_group_arn(name: str) -> Json:
    return _sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        + name.format(region="${AWS::Region}", account="${AWS::AccountId}")
        + ":*"
    )


def _log_subscriber(stage: str, region: Region, subscriber: r.LogSubscriber, code_uri: str) -> Json:
    """The function, its role and log group, and per source log group: the group itself (SNS creates it on first
    delivery otherwise, and a subscription filter needs it to exist), the permission for CloudWatch Logs to invoke
    the function, and the subscription filter (every event)."""
    module = subscriber.handler.split(".")[0]
    name = f"{r.PREFIX}-{stage}-{module.replace('_', '-')}"
    resources: Json = {
        f"{subscriber.logical}LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{name}",
                "RetentionInDays": region.log_retention_days,
            },
        },
        f"{subscriber.logical}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": subscriber.logical,
                        "PolicyDocument": _policy_document(
                            [
                                _statement(
                                    "WriteOwnLogs",
                                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    [_arn(f"{subscriber.logical}LogGroup")],
                                ),
                                _tables_read_write(),  # the receipts service updates the messages
                                _statement(
                                    "DeadLetters", ["sqs:SendMessage"], [_arn(subscriber.dlq.logical)]
                                ),
                            ]
                        ),
                    }
                ],
            },
        },
        subscriber.logical: {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": name,
                "CodeUri": code_uri,
                "Handler": subscriber.handler,
                "Runtime": RUNTIME,
                "Architectures": [ARCHITECTURE],
                "MemorySize": subscriber.memory_mb,
                "Timeout": subscriber.timeout_seconds,
                "Layers": [_ref(LAYER)],
                "Role": _arn(f"{subscriber.logical}Role"),
                "Environment": {"Variables": environment(stage, region)},
                "DeadLetterQueue": {"Type": "SQS", "TargetArn": _arn(subscriber.dlq.logical)},
            },
        },
    }
    for i, group in enumerate(subscriber.log_groups):
        source = f"{subscriber.logical}Source{i}"
        resources[f"{source}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": _sub(group.format(region="${AWS::Region}", account="${AWS::AccountId}")),
                "RetentionInDays": region.log_retention_days,
            },
        }
        resources[f"{source}Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": _ref(subscriber.logical),
                "Principal": "logs.amazonaws.com",
                "SourceArn": log_group_arn(group),
                "SourceAccount": {"Ref": "AWS::AccountId"},
            },
        }
        resources[f"{source}Subscription"] = {
            "Type": "AWS::Logs::SubscriptionFilter",
            "DependsOn": [f"{source}Permission"],  # the log group: by its Ref below
            "Properties": {
                "LogGroupName": _ref(f"{source}LogGroup"),
                "FilterPattern": "",
                "DestinationArn": _arn(subscriber.logical),
            },
        }
    return resources


def _sns_sms_delivery_status_role() -> Json:
    """The role SNS assumes to write SMS delivery status to CloudWatch Logs. CloudFormation cannot set the account's
    SMS attributes: after a deploy, `aws sns set-sms-attributes --attributes
    DeliveryStatusIAMRole=<output SnsSmsDeliveryStatusRoleArn>,DeliveryStatusSuccessSamplingRate=100` (README)."""
    return {
        SNS_SMS_STATUS_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust("sns.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "sms-delivery-status-logs",
                        "PolicyDocument": _policy_document(
                            [
                                _statement(
                                    "WriteSmsDeliveryStatus",
                                    [
                                        "logs:CreateLogGroup",
                                        "logs:CreateLogStream",
                                        "logs:PutLogEvents",
                                        "logs:PutMetricFilter",
                                        "logs:PutRetentionPolicy",
                                    ],
                                    [log_group_arn(g) for s in r.LOG_SUBSCRIBERS for g in s.log_groups],
                                )
                            ]
                        ),
                    }
                ],
            },
        }
    }


def _api_handler(stage: str, region: Region) -> Json:
    """Patches to the resources Chalice generates for the API. Its REST API is replaced after packaging by an
    HTTP API (infra/http_api.py), which is regional by nature: requests (members' data in webhook bodies) reach
    API Gateway in this region, not CloudFront's edge locations worldwide."""
    return {
        CHALICE_HANDLER: {
            "Type": "AWS::Serverless::Function",
            # Runtime: Chalice writes the Python that runs `chalice package`; the functions run on Lambda's.
            "Properties": {
                "Layers": [_ref(LAYER)],
                "Runtime": RUNTIME,
                "Architectures": [ARCHITECTURE],
                "Environment": {"Variables": environment(stage, region)},
            },
        },
        # Added beside Chalice's DefaultRole (which keeps its own logs policy) rather than replacing its
        # Policies list, so the merge cannot drop what Chalice generates.
        API_POLICY: {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": API_POLICY,
                "Roles": [_ref(CHALICE_ROLE)],
                "PolicyDocument": _policy_document(api_statements(stage, region)),
            },
        },
    }


def _ses_here(region: Region) -> bool:
    """Whether SES is called in the stack's own region: only then can the stack hold the configuration set (an SES
    resource is made in the stack's region; ap-east-1 sends from ap-southeast-1, see README "Email")."""
    return region.email_region == region.name


def _email(stage: str, region: Region) -> Json:
    """The SES configuration set every email is sent with; it publishes its events to the email events topic
    (subscribed to the email events queue in `_topics`), which lets SES publish to it."""
    config = r.EMAIL_CONFIGURATION_SET
    if not _ses_here(region):
        return {}
    return {
        config.logical: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {
                "Name": config.name(stage),
                "SuppressionOptions": {"SuppressedReasons": list(config.suppressed_reasons)},
            },
        },
        f"{config.logical}EventDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": _ref(config.logical),
                "EventDestination": {
                    "Name": config.destination_name(stage),
                    "Enabled": True,
                    "MatchingEventTypes": [event.lower() for event in config.events],
                    "SnsDestination": {"TopicARN": _ref(config.topic.logical)},
                },
            },
        },
        f"{config.topic.logical}Policy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [_ref(config.topic.logical)],
                "PolicyDocument": _policy_document(
                    [
                        {
                            "Sid": "SesPublishesEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": _ref(config.topic.logical),
                            "Condition": {
                                "StringEquals": {
                                    "AWS:SourceAccount": {"Ref": "AWS::AccountId"},
                                    "AWS:SourceArn": _sub(
                                        f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/{config.name(stage)}"
                                    ),
                                }
                            },
                        }
                    ]
                ),
            },
        },
    }


def _outputs() -> Json:
    outputs: Json = {f"{t.logical}Name": {"Value": _ref(t.logical)} for t in r.TABLES}
    for queue in (*r.QUEUES, *r.PLAIN_QUEUES):
        outputs[f"{queue.logical}Url"] = {"Value": _ref(queue.logical)}
    for topic in r.TOPICS:
        outputs[f"{topic.logical}Arn"] = {"Value": _ref(topic.logical)}
    outputs["ScheduleGroupName"] = {"Value": _ref(SCHEDULE_GROUP)}
    outputs["CareScheduleGroupName"] = {"Value": _ref(CARE_SCHEDULE_GROUP)}
    outputs["SchedulerRoleArn"] = {"Value": _arn(SCHEDULER_ROLE)}
    outputs["SharedLayerArn"] = {"Value": _ref(LAYER)}
    return outputs


def merge_template(
    stage: str,
    region: str,
    *,
    layer_uri: str = DEFAULT_LAYER_URI,
    code_uri: str = DEFAULT_CODE_URI,
) -> dict:
    """The `--merge-template` for one stage in one region."""
    settings = region_settings(region)
    resources: Json = {}
    for table in r.TABLES:
        resources[table.logical] = _table(stage, table)
    resources |= _queues(stage)
    resources |= _topics(stage)
    resources |= _alarms(stage, settings)
    resources |= _scheduling(stage)
    resources |= _layer(stage, layer_uri)
    for worker in r.WORKERS:
        resources |= _worker(stage, settings, worker, code_uri)
    resources |= _api_handler(stage, settings)
    resources |= _email(stage, settings)
    for subscriber in r.LOG_SUBSCRIBERS:  # SNS SMS delivery-status logs (issue 15)
        resources |= _log_subscriber(stage, settings, subscriber, code_uri)
    resources |= _sns_sms_delivery_status_role()
    # Alarms, the API's log group and the dashboard (issue 17 §2).
    resources |= monitoring(stage, settings, ALARM_TOPIC, [name for _, name in dead_letter_queues(stage)])
    outputs = _outputs()
    outputs["SnsSmsDeliveryStatusRoleArn"] = {"Value": _arn(SNS_SMS_STATUS_ROLE)}
    return {
        "Description": f"Chairside {stage} in {region}",
        "Resources": resources,
        "Outputs": outputs,
    }
