"""The one definition of Chairside's AWS resources.

`infra/template.py` turns these specs into CloudFormation, `devstack/provision.py` creates them on
the local moto server and the tests create them under `mock_aws` -- all three read this module, so a
table, queue or schedule group is defined exactly once.

Names are `chairside-<stage>-<logical name>`; a deployment is one stage in one region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "chairside"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None
    # ALL copies the whole item (and is written whenever the item changes); KEYS_ONLY holds the keys alone and is
    # written only when its key changes -- for items rewritten often and read through the index rarely.
    projection: str = "ALL"


@dataclass(frozen=True)
class Table:
    logical: str  # CloudFormation logical id and the env var suffix
    short: str  # name part after the stage
    hash_key: str
    range_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}"

    def attributes(self) -> list[str]:
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        return list(dict.fromkeys(k for k in keys if k))


@dataclass(frozen=True)
class Queue:
    logical: str
    short: str
    visibility_timeout: int = 60
    max_receive_count: int = 5  # deliveries before SQS moves a message to the DLQ
    retention_seconds: int = 4 * 24 * 3600
    dlq_retention_seconds: int = 14 * 24 * 3600

    def name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}"

    def dlq_name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}-dlq"


# Every function (the API's and the workers') runs on Graviton: the same Python code, 20% less per GB-second
# (https://aws.amazon.com/lambda/pricing/). The shared layer is built for it (infra/package.py).
LAMBDA_ARCHITECTURE = "arm64"
# The Lambda runtime (python3.13 runs on Amazon Linux 2023, glibc 2.34): the venv, the lock
# (requirements/runtime-lock.txt, `make lock`) and the layer's wheels are all for it.
LAMBDA_PYTHON = "3.13"
LAMBDA_RUNTIME = f"python{LAMBDA_PYTHON}"
# The wheel platforms the layer takes (pip does not widen a manylinux_2_34 tag to older glibcs by itself).
_LAYER_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}[LAMBDA_ARCHITECTURE]
LAYER_PLATFORMS = tuple(f"manylinux_2_{minor}_{_LAYER_ARCH}" for minor in range(34, 16, -1)) + (
    f"manylinux2014_{_LAYER_ARCH}",
)


@dataclass(frozen=True)
class Worker:
    """A `functions/` handler fed by one queue (an event source mapping)."""

    logical: str
    handler: str  # module.function under functions/
    queue: Queue
    batch_size: int = 10
    max_batching_window: int = 1
    # Sized by make bench (docs/PERFORMANCE.md): a queue worker mostly waits on AWS and the providers, and Lambda
    # bills that waiting by memory, so 256 MB (peak memory after the first request about 55-66 MB) costs less
    # per step than 512 at the price of slower compute, which no member waits on. The inbound worker keeps 512.
    memory_mb: int = 256
    timeout_seconds: int = 30
    report_batch_item_failures: bool = True
    # Concurrent invocations the queue's event source may run (SQS ScalingConfig, 2..1000): bounds the load
    # on the providers (SMS, WeChat, Agora) and the table without reserving account concurrency.
    max_concurrency: int = 5
    env: dict[str, str] = field(default_factory=dict)


# Everything the domain keeps: chains, stores, bookings, booking events, stylist day calendars,
# members and conversation messages. Keys are strings with typed prefixes (see docs/ARCHITECTURE.md).
MAIN_TABLE = Table(
    logical="MainTable",
    short="main",
    hash_key="pk",
    range_key="sk",
    # Overloaded indexes: gsi1 -- a store's conversations by status, a store's members by last visit; gsi2 -- a
    # campaign's sends by status; gsi3 (keys only) -- a member's bookings by start, a store's birthdays by day; gsi4
    # (keys only) -- a store's bookings by store-local day. Bookings and members are rewritten at every booking event;
    # keys-only indexes are not written then unless a key moves (see docs/ARCHITECTURE.md, access patterns).
    # Items written before 2026-11 carry the earlier keys (bookings gsi1 MEMBERBK / gsi2 STOREDAY, members gsi2
    # BIRTHDAY) until their next write or `python -m ops.reindex`. The code reading them (by_member_before,
    # gsi2 clean-up in dal/care.py) can go once `python -m ops.reindex` has run (not --dry-run) in every region.
    indexes=(
        Index(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk"),
        Index(name="gsi2", hash_key="gsi2pk", range_key="gsi2sk"),
        Index(name="gsi3", hash_key="gsi3pk", range_key="gsi3sk", projection="KEYS_ONLY"),
        Index(name="gsi4", hash_key="gsi4pk", range_key="gsi4sk", projection="KEYS_ONLY"),
    ),
    ttl_attribute="expires_at",
)

# Journey steps that are due: fired by EventBridge Scheduler (or sent at once for confirmations)
# and consumed by the sending worker.
STEPS_QUEUE = Queue(logical="StepsQueue", short="journey-steps", visibility_timeout=60, max_receive_count=5)

# Inbound messages stored by the channel endpoints, understood and answered by a worker (WeChat wants an
# answer within five seconds, so the reply is asynchronous). Two-way SMS arrives here too, through the
# SMS topic's subscription.
INBOUND_QUEUE = Queue(logical="InboundQueue", short="inbound", visibility_timeout=60, max_receive_count=5)

# Member care (campaigns, birthday/holiday/reactivation/rebook messages) and a campaign's fan-out pages: its own
# queue, so a 100,000-member campaign never delays a booking reminder on the steps queue.
CARE_QUEUE = Queue(logical="CareQueue", short="care", visibility_timeout=60, max_receive_count=5)

# Where EventBridge Scheduler puts a step it could not deliver to STEPS_QUEUE after its retries.
SCHEDULER_DLQ = Queue(
    logical="SchedulerDeadLetterQueue",
    short="scheduler",
    max_receive_count=0,
    retention_seconds=14 * 24 * 3600,
)

SCHEDULE_GROUP_SHORT = "journeys"

# Recurring schedules, one per store: its daily always-on care tick (chalicelib/care/schedules.py). A group of
# their own, so the journeys group stays the short list of one-time booking steps.
CARE_SCHEDULE_GROUP_SHORT = "care"

# A store's care tick, put here by its recurring schedule: the worker finds who is due a birthday, holiday,
# reactivation or rebook message and queues them on the care queue. Few messages (one per store a day), each
# possibly a long one (a holiday greets every member of the store).
CARE_TICKS_QUEUE = Queue(
    logical="CareTicksQueue", short="care-ticks", visibility_timeout=360, max_receive_count=3
)

# The waitlist (issue 14): time a cancel or reschedule freed ("freed"), and offers whose 30 minutes ran out
# ("offer_expired", put here by a one-time schedule in the journeys group). The worker offers the freed time to
# the member who has waited longest (chalicelib/services/waitlist.py).
WAITLIST_QUEUE = Queue(logical="WaitlistQueue", short="waitlist", visibility_timeout=60, max_receive_count=5)

# Every AWS service the functions talk to (bootstrap.Container.client and understanding/bedrock.py refuse any other):
# the layer keeps botocore's models of these only (infra/package.py prune_botocore; the other ~440 are ~20 MB).
AWS_SERVICES = ("bedrock-runtime", "dynamodb", "scheduler", "secretsmanager", "sesv2", "sns", "sqs")

# EventBridge Scheduler retry policy for every journey schedule.
SCHEDULE_RETRY = {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 6 * 3600}


@dataclass(frozen=True)
class Topic:
    """An SNS topic whose messages are delivered to a queue (SNS envelope, not raw)."""

    logical: str
    short: str
    queue: Queue

    def name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}"


# AWS End User Messaging / SNS two-way SMS publishes inbound texts to this topic.
SMS_INBOUND_TOPIC = Topic(logical="SmsInboundTopic", short="sms-inbound", queue=INBOUND_QUEUE)

TABLES: tuple[Table, ...] = (MAIN_TABLE,)
# Each gets a DLQ with a redrive policy.
QUEUES: tuple[Queue, ...] = (STEPS_QUEUE, INBOUND_QUEUE, CARE_QUEUE, CARE_TICKS_QUEUE, WAITLIST_QUEUE)
TOPICS: tuple[Topic, ...] = (SMS_INBOUND_TOPIC,)
PLAIN_QUEUES: tuple[Queue, ...] = (SCHEDULER_DLQ,)  # DLQs of other services, no redrive

WORKERS: tuple[Worker, ...] = (
    Worker(logical="SendStepFunction", handler="send_step.handler", queue=STEPS_QUEUE),
    # The member waits for this one's answer, and it holds the reply model (peak about 120 MB).
    Worker(
        logical="HandleInboundFunction", handler="handle_inbound.handler", queue=INBOUND_QUEUE, memory_mb=512
    ),
    Worker(
        logical="CareTickFunction",
        handler="care_tick.handler",
        queue=CARE_TICKS_QUEUE,
        batch_size=1,
        timeout_seconds=300,
        max_concurrency=2,
    ),
    Worker(logical="SendCareFunction", handler="send_care.handler", queue=CARE_QUEUE),
    Worker(logical="WaitlistOffersFunction", handler="waitlist_offers.handler", queue=WAITLIST_QUEUE),
)


# --- SNS SMS delivery-status logs (issue 15) ------------------------------------------------------------
@dataclass(frozen=True)
class LogSubscriber:
    """A `functions/` handler fed by CloudWatch Logs subscription filters on log groups another service writes
    (names with `{region}` and `{account}`), invoked asynchronously; what it cannot handle goes to `dlq`."""

    logical: str
    handler: str  # module.function under functions/
    log_groups: tuple[str, ...]
    dlq: Queue
    memory_mb: int = 256
    timeout_seconds: int = 30


# Where a subscription invocation that failed its retries goes (Lambda's asynchronous DLQ).
SNS_SMS_STATUS_DLQ = Queue(
    logical="SnsSmsStatusDeadLetterQueue", short="sns-sms-status-dlq", max_receive_count=0
)

# SNS writes each SMS's delivery status here once the account's SMS attributes name a DeliveryStatusIAMRole
# (infra/template.py: SnsSmsDeliveryStatusRole); the function turns them into receipts.
SNS_SMS_STATUS = LogSubscriber(
    logical="SnsSmsStatusFunction",
    handler="sns_sms_status.handler",
    log_groups=(
        "sns/{region}/{account}/DirectPublishToPhoneNumber",
        "sns/{region}/{account}/DirectPublishToPhoneNumber/Failure",
    ),
    dlq=SNS_SMS_STATUS_DLQ,
)
LOG_SUBSCRIBERS: tuple[LogSubscriber, ...] = (SNS_SMS_STATUS,)
PLAIN_QUEUES = (*PLAIN_QUEUES, SNS_SMS_STATUS_DLQ)


def schedule_group_name(stage: str) -> str:
    return f"{PREFIX}-{stage}-{SCHEDULE_GROUP_SHORT}"


def care_schedule_group_name(stage: str) -> str:
    return f"{PREFIX}-{stage}-{CARE_SCHEDULE_GROUP_SHORT}"


def channel_secret_name(stage: str, scope: str, channel: str) -> str:
    """Secrets Manager name of channel credentials, e.g. scope "stores/<id>", channel "wechat"."""
    return f"{PREFIX}/{stage}/{scope}/{channel}"


def webhook_secret_name(stage: str, chain_id: str) -> str:
    """Secrets Manager name of a chain's booking-webhook signing secret."""
    return f"{PREFIX}/{stage}/chains/{chain_id}/webhook-secret"


def jwt_secret_name(stage: str) -> str:
    """Secrets Manager name of the stage's HS256 staff-token signing secret (stages in `hs256` auth mode); read at
    run time and cached (chalicelib/bootstrap.py), never put into a function's environment."""
    return f"{PREFIX}/{stage}/jwt-secret"


def lookup_key_secret_name(stage: str) -> str:
    """Secrets Manager name of the stage's contact lookup key (chalicelib/pii.py: the HMAC key that turns a
    phone number or openid into its lookup item's key). Created once per stage; never rotated in place."""
    return f"{PREFIX}/{stage}/lookup-key"


# Environment variables the code reads (chalicelib/settings.py); the template and the local stack
# both fill them in.
ENV_STAGE = "CHAIRSIDE_STAGE"
ENV_MAIN_TABLE = "CHAIRSIDE_MAIN_TABLE"
ENV_STEPS_QUEUE_URL = "CHAIRSIDE_STEPS_QUEUE_URL"
ENV_STEPS_QUEUE_ARN = "CHAIRSIDE_STEPS_QUEUE_ARN"
ENV_SCHEDULE_GROUP = "CHAIRSIDE_SCHEDULE_GROUP"
ENV_SCHEDULER_ROLE_ARN = "CHAIRSIDE_SCHEDULER_ROLE_ARN"
ENV_SCHEDULER_DLQ_ARN = "CHAIRSIDE_SCHEDULER_DLQ_ARN"
ENV_STEPS_DLQ_URL = "CHAIRSIDE_STEPS_DLQ_URL"
ENV_SES_REGION = "CHAIRSIDE_SES_REGION"
ENV_INBOUND_QUEUE_URL = "CHAIRSIDE_INBOUND_QUEUE_URL"
ENV_CARE_SCHEDULE_GROUP = "CHAIRSIDE_CARE_SCHEDULE_GROUP"
ENV_CARE_TICKS_QUEUE_ARN = "CHAIRSIDE_CARE_TICKS_QUEUE_ARN"
ENV_CARE_QUEUE_URL = "CHAIRSIDE_CARE_QUEUE_URL"
ENV_CARE_TICKS_QUEUE_URL = (
    "CHAIRSIDE_CARE_TICKS_QUEUE_URL"  # a holiday fan-out queues its next page as a tick
)
ENV_CARE_DLQ_URL = "CHAIRSIDE_CARE_DLQ_URL"
ENV_EMAIL_SENDER = "CHAIRSIDE_EMAIL_SENDER"
ENV_WAITLIST_QUEUE_URL = "CHAIRSIDE_WAITLIST_QUEUE_URL"
ENV_WAITLIST_QUEUE_ARN = "CHAIRSIDE_WAITLIST_QUEUE_ARN"
ENV_PUBLIC_BASE_URL = (
    "CHAIRSIDE_PUBLIC_BASE_URL"  # where members open links: booking page, /m/ links, WeChat sign-in
)
ENV_JWT_SECRET_NAME = "CHAIRSIDE_JWT_SECRET_NAME"  # noqa: S105 - the secret's name in Secrets Manager
# The secret itself, only where there is no Secrets Manager to read (tests, benches); never set on AWS.
ENV_JWT_SECRET = "CHAIRSIDE_JWT_SECRET"  # noqa: S105 - a variable name, not a secret


# --- email (issue 15 §5) ------------------------------------------------------------------------------------------
# SES events of members' email (Bounce, Complaint, Delivery, Reject), published by the configuration set to a topic
# delivered to this queue (SNS envelope) and read by the email events worker: a bounce or complaint becomes a `failed`
# receipt and suppresses the address, a delivery a `delivered` receipt (chalicelib/services/email_events.py).
EMAIL_EVENTS_QUEUE = Queue(
    logical="EmailEventsQueue", short="email-events", visibility_timeout=60, max_receive_count=5
)
EMAIL_EVENTS_TOPIC = Topic(logical="EmailEventsTopic", short="email-events", queue=EMAIL_EVENTS_QUEUE)


@dataclass(frozen=True)
class ConfigurationSet:
    """An SES (v2) configuration set: every email is sent with it, and it publishes `events` to `topic`."""

    logical: str
    short: str
    topic: Topic
    events: tuple[str, ...]  # SES v2 EventType values
    # Addresses SES itself stops sending to (its suppression list, per configuration set), besides ours.
    suppressed_reasons: tuple[str, ...] = ("BOUNCE", "COMPLAINT")

    def name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}"

    def destination_name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}-{self.short}-events"


EMAIL_CONFIGURATION_SET = ConfigurationSet(
    logical="EmailConfigurationSet",
    short="email",
    topic=EMAIL_EVENTS_TOPIC,
    events=("BOUNCE", "COMPLAINT", "DELIVERY", "REJECT"),
)
ENV_EMAIL_CONFIGURATION_SET = "CHAIRSIDE_EMAIL_CONFIGURATION_SET"

QUEUES += (EMAIL_EVENTS_QUEUE,)
TOPICS += (EMAIL_EVENTS_TOPIC,)
WORKERS += (Worker(logical="EmailEventsFunction", handler="email_events.handler", queue=EMAIL_EVENTS_QUEUE),)
