# Names `make deadcode` (vulture over chalicelib, functions, app.py) reports but that are used: by the
# framework, by data, by name, or by code outside the gated folders (devstack, infra, bench, ops).
# Format of `vulture --make-whitelist`; one line per name, with why it is used. Anything really unused is
# deleted, not listed here.

# --- used outside chalicelib/functions/app.py (devstack, infra, ops, bench) ----------------------------
use  # bootstrap.use: swaps the container (tests/integration/conftest.py, bench/stack.py, bench/coldstart.py)
_.ensure  # CareSchedules.ensure: devstack/seed.py and infra/care_schedules.py provision store schedules
_.import_member  # MemberDirectory.import_member: ops/members.py loads a members file through it (issue 14)
_.take_crash  # FaultPlan.take_crash: devstack/event_sources.py injects worker crashes (make chaos)
FixedClock  # the clock bench/stack.py and bench/campaign_fanout.py drive (also the tests)
issue_token  # HS256 staff tokens: devstack/seed.py (the local stack's tokens)
LAMBDA_RUNTIME  # infra/template.py: the functions' runtime
LAYER_PLATFORMS  # infra/package.py: the wheels the layer installs
TABLES  # devstack/provision.py, infra/template.py
QUEUES  # devstack/provision.py, infra/template.py, ops/redrive.py
TOPICS  # devstack/provision.py, infra/template.py
PLAIN_QUEUES  # devstack/provision.py, infra/template.py
logical  # resources.*.logical: CloudFormation logical ids (infra/template.py), env var suffixes
projection  # resources.Index.projection (infra/template.py, devstack/provision.py); PynamoDB index Meta
ttl_attribute  # resources.Table.ttl_attribute: devstack/provision.py, infra/template.py
visibility_timeout  # resources.Queue: devstack/provision.py, infra/template.py
retention_seconds  # resources.Queue: devstack/provision.py, infra/template.py
dlq_retention_seconds  # resources.Queue: devstack/provision.py, infra/template.py
_.dlq_name  # resources.Queue.dlq_name: devstack/provision.py, infra/template.py, ops/redrive.py, chaos
batch_size  # resources.Worker: infra/template.py event source mapping, devstack/event_sources.py
max_batching_window  # resources.Worker: infra/template.py (MaximumBatchingWindowInSeconds)
memory_mb  # resources.Worker: infra/template.py (MemorySize), devstack/event_sources.py, bench
timeout_seconds  # resources.Worker: infra/template.py (Timeout), devstack/event_sources.py
report_batch_item_failures  # resources.Worker: infra/template.py, devstack/event_sources.py
max_concurrency  # resources.Worker: infra/template.py (ScalingConfig.MaximumConcurrency)

# --- frameworks ---------------------------------------------------------------------------------------
index_name  # PynamoDB GlobalSecondaryIndex.Meta (dal/models.py)
attr_type  # PynamoDB custom Attribute classes declare their DynamoDB type (dal/models.py)
_._connection  # PynamoDB Model._connection, reset so the model reconnects with new settings (dal/models.py)
gsi4pk  # hash key of BookingsByStoreDayIndex (gsi4); BookingItem.place_on_store_day writes it
gsi4sk  # range key of gsi4; BookingItem.place_on_store_day writes it
model_config  # pydantic ConfigDict (conversations/intake.py, models/booking_event.py)
_._phone_e164  # pydantic @field_validator (models/booking_event.py)
_._email  # pydantic @field_validator (models/booking_event.py)
_._birthday  # pydantic @field_validator (models/booking_event.py)
_._amount  # pydantic @field_validator (models/booking_event.py)
_._phone_required  # pydantic @field_validator (contracts/member_import.py)
_._locale  # pydantic @field_validator (contracts/member_import.py)
_._tags  # pydantic @field_validator (contracts/member_import.py)
intercepted_binops  # jinja2 SandboxedEnvironment hook: the operators call_binop sees (journeys/texts.py)
budgeted  # environment attribute the compiled templates call (nodes.EnvironmentAttribute, journeys/texts.py)
__self  # jinja2 SandboxedEnvironment.call's positional-only self, named as jinja2 names it (journeys/texts.py)

# --- called by name --------------------------------------------------------------------------------------
_._do_confirm_booking  # InboundService runs actions.toml's actions as getattr(self, f"_do_{action}")
_._do_notify_booking_system  # ditto
_._do_needs_human  # ditto
_._do_notify_staff  # ditto
_._do_pause_marketing  # ditto
_._do_opt_out  # ditto
_._do_reply  # ditto
_._do_offer_slots  # ditto (booking by chat)
_._do_book_offered_slot  # ditto

# --- stored or parsed data -------------------------------------------------------------------------------
sms_number  # ChainItem/StoreItem attribute: written by devstack/seed.py; SmsNumberItem indexes the same number
category_visits  # member care profile attribute dal/care.py writes (docs/ARCHITECTURE.md data model)
created_by  # CampaignItem attribute: who scheduled a campaign (care/campaigns.py writes it), an audit field
booking_version  # MessageItem attribute: the booking version a step was planned for (dal/messages.py writes it)
confidence  # Understanding.confidence: a field of the Classifier interface's result, set by classifier.py
media_id  # WeChatInbound field: the parsed MediaId of an image/voice message (required by the parser)
media_format  # WeChatInbound field: the parsed voice Format
raw_msg_type  # WeChatInbound/_Common field: MsgType as WeChat sent it (video, location, ... for "other")

# --- dead, but removing it needs chalicelib/bootstrap.py (rewritten elsewhere now) -------------------------

# --- self-booking (issue 14) ---------------------------------------------------------------------------
reschedule_mine  # a @member_route view, called by Chalice (api/self_booking.py)
cancel_mine  # a @member_route view, called by Chalice (api/self_booking.py)


# --- staff corrections and the hosted second opinion (issue 16) -----------------------------------------
set_second_opinion  # chalicelib/dal/chain_settings.py: written by the operator command ops/second_opinion.py
eval_row  # chalicelib/dal/corrections.py Correction: the eval format, written by ops/labels.py export
# --- issue 15: email (used by infra/template.py and devstack/provision.py) ------------------------------------------
EMAIL_CONFIGURATION_SET  # resources: infra/template.py (the configuration set), devstack/provision.py
topic  # resources.ConfigurationSet.topic: infra/template.py (its event destination)
suppressed_reasons  # resources.ConfigurationSet.suppressed_reasons: infra/template.py (SuppressionOptions)
_.destination_name  # resources.ConfigurationSet.destination_name: infra/template.py (its event destination's name)
# --- mainland SMS (issue 15, section 3) -----------------------------------------------------------------
LOG_SUBSCRIBERS  # resources.py: infra/template.py subscribes each to its log groups (SNS SMS delivery status)
dlq  # resources.LogSubscriber.dlq: infra/template.py, the subscriber function's asynchronous DLQ
log_groups  # resources.LogSubscriber.log_groups: infra/template.py, the log groups it is subscribed to
_._no_repeats  # pydantic @field_validator (services/channel_router.py RoutingOverride)
_._waits  # pydantic @field_validator (services/channel_router.py RoutingOverride)
