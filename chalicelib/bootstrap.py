"""The composition root: the one place that builds clients, repositories and services.

Production code asks `container()` for a service; tests and the local stack call `build(...)` with
their own clock, session or settings. Everything is created lazily, so a cold start pays only for
what its entry point uses.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chalicelib import resources
from chalicelib import settings as settings_module
from chalicelib.clock import Clock, OffsetFileClock, SystemClock
from chalicelib.settings import Settings


@dataclass
class Container:
    settings: Settings
    clock: Clock
    session: Any = None  # boto3.Session; default built lazily
    wall_clock: Clock = field(default_factory=SystemClock)

    # --- AWS clients ------------------------------------------------------------------------------
    @cached_property
    def _session(self) -> Any:
        if self.session is not None:
            return self.session
        import boto3

        return boto3.session.Session(region_name=self.settings.region)

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.settings.region
        key = f"{service}@{region}"
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region)
        return self._clients[key]

    @cached_property
    def _clients(self) -> dict[str, Any]:
        return {}

    # --- data access ------------------------------------------------------------------------------
    @cached_property
    def bookings(self):
        from chalicelib.dal import models
        from chalicelib.dal.bookings import BookingRepository

        models.bind(self.settings.main_table, self.settings.region)
        return BookingRepository(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def messages(self):
        from chalicelib.dal.messages import MessageRepository

        _ = self.bookings  # binds the models
        return MessageRepository(self.cursors)

    @cached_property
    def regions(self):
        from chalicelib.services.regions import RegionDirectory

        return RegionDirectory(self.client("dynamodb"), self.settings.main_table, self.settings.region, time.time)

    @cached_property
    def stores(self):
        """Stores of this region; one served by another region answers 421 (docs/REGIONS.md)."""
        from chalicelib.services.stores import StoreDirectory

        return StoreDirectory(self.bookings, time.time, elsewhere=self.regions.locate)

    @cached_property
    def local_stores(self):
        """Stores of this region only, for the sending worker: a step of a store now served elsewhere is stale."""
        from chalicelib.services.stores import StoreDirectory

        return StoreDirectory(self.bookings, time.time)

    # --- services ---------------------------------------------------------------------------------
    @cached_property
    def staff_verifier(self):
        """Checks staff bearer tokens; one per container, so a Cognito pool's JWKS is fetched once and cached."""
        from chalicelib.services.auth import verifier_for

        s = self.settings
        secret = s.jwt_secret or functools.partial(self.secrets_provider.get, s.jwt_secret_name, max_age=300)
        return verifier_for(s.auth_mode, secret=secret, issuer=s.cognito_issuer, audience=s.cognito_audience)

    @cached_property
    def step_scheduler(self):
        from chalicelib.scheduling import StepScheduler

        s = self.settings
        return StepScheduler(self.client("scheduler"), self.client("sqs"), group=s.schedule_group,
                             queue_arn=s.steps_queue_arn, queue_url=s.steps_queue_url,
                             role_arn=s.scheduler_role_arn, dlq_arn=s.scheduler_dlq_arn)

    @cached_property
    def webhook_secrets(self):
        return WebhookSecrets(self.client("secretsmanager"), self.settings.stage)

    @cached_property
    def lookup_hasher(self):
        """Contact lookups are keyed by HMAC(lookup key, address); the key is the stage's secret, read on first use."""
        from chalicelib.privacy import LookupHasher, secrets_manager_key

        return LookupHasher(secrets_manager_key(self.client("secretsmanager"),
                                                resources.lookup_key_secret_name(self.settings.stage)))

    @cached_property
    def cursors(self):
        """Page cursors, signed with a key derived from the lookup key: each continues only its own listing."""
        from chalicelib.cursors import CursorSigner

        return CursorSigner(functools.partial(self.lookup_hasher.derived_key, "cursors"))

    @cached_property
    def booking_events(self):
        from chalicelib.services.booking_events import BookingEvents

        return BookingEvents(self.bookings, self.stores, self.step_scheduler, self.clock, self.lookup_hasher,
                             on_member=self.member_care.refresh,
                             coupons=lambda chain_id, code: self.care_repo.coupon(chain_id, code),
                             table_name=self.settings.main_table)

    @cached_property
    def booking_marks(self):
        """Staff's check-in / no-show marks and a member's confirm reply."""
        from chalicelib.services.booking_marks import BookingMarks

        return BookingMarks(self.bookings, self.stores, self.step_scheduler, self.clock)

    @cached_property
    def message_history(self):
        from chalicelib.services.conversations import MessageHistory

        return MessageHistory(self.stores, self.messages, self.member_access)

    @cached_property
    def member_access(self):
        """Which members store staff may reach: those who belong to the store (services/member_access.py)."""
        from chalicelib.dal.membership import MembershipRepository
        from chalicelib.services.member_access import MemberAccess

        _ = self.bookings  # binds the models
        return MemberAccess(MembershipRepository())

    @cached_property
    def member_profiles(self):
        from chalicelib.services.members import MemberProfiles

        return MemberProfiles(self.stores, self.clock, self.care_repo, self.member_care,
                              self.conversations, self.member_access)

    @cached_property
    def member_privacy(self):
        """A member's export and erasure (PIPL / GDPR)."""
        from chalicelib.dal.privacy import MemberDataRepository
        from chalicelib.services.privacy import MemberPrivacy

        _ = self.bookings  # binds the models
        return MemberPrivacy(self.stores,
                             MemberDataRepository(self.client("dynamodb"), self.settings.main_table),
                             self.step_scheduler, self.lookup_hasher, self.clock, self.member_access)

    @cached_property
    def channels(self) -> dict[str, Any]:
        from chalicelib.channels.email import SesEmail
        from chalicelib.channels.sms import SnsSms

        channels: dict[str, Any] = {
            "sms": SnsSms(self.client("sns")),
            "email": SesEmail(self.client("ses", self.settings.ses_region), self.settings.email_sender),
        }
        if self.settings.local_dir is not None:
            from chalicelib.channels.faults import FaultFile, FaultInjectingChannel

            faults = FaultFile(self.settings.local_dir / "faults.json")
            channels = {name: FaultInjectingChannel(ch, faults) for name, ch in channels.items()}
        return channels

    @cached_property
    def delivery(self):
        from chalicelib.services.delivery import DeadLetters, StepDelivery

        return StepDelivery(self.bookings, self.local_stores, self.messages, self.channels,
                            DeadLetters(self.client("sqs"), self.settings.steps_dlq_url),
                            self.clock, time.time)

    # --- two-way chat -----------------------------------------------------------------------------
    @cached_property
    def conversations(self):
        from chalicelib.dal.conversations import ConversationRepository

        _ = self.bookings  # binds the models
        return ConversationRepository(self.client("dynamodb"), self.settings.main_table, self.lookup_hasher,
                                      self.cursors)

    @cached_property
    def secrets_provider(self):
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=self.client("secretsmanager"))

    def wechat_credentials(self, store_id: str):
        from chalicelib.channels.wechat.credentials import load_wechat_credentials

        return load_wechat_credentials(store_id, self.settings.stage, self.secrets_provider)

    def agora_settings(self, chain_id: str) -> dict | None:
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        name = resources.channel_secret_name(self.settings.stage, f"chains/{chain_id}", "agora")
        try:
            value = self.secrets_provider.get(name, transform="json", max_age=300)
        except GetParameterError:
            return None
        return value if isinstance(value, dict) else None

    def reply_channels(self, store) -> dict[str, Any]:
        """The channels that can carry an answer from this store, built once per store and container."""
        cached = self._store_channels.get(store.store_id)
        if cached is not None:
            return cached
        from chalicelib.channels.agora.chat import AgoraChatClient
        from chalicelib.channels.wechat.client import WeChatChannel, WeChatClient
        from chalicelib.conversations.outbound import AgoraChatChannel, WeChatTemplateChannel

        channels: dict[str, Any] = dict(self.channels)
        credentials = self.wechat_credentials(store.store_id)
        if credentials is not None:
            client = WeChatClient(credentials.app_id, credentials.app_secret, base_url=self.settings.wechat_api_base,
                                  clock=time.time)
            channels["wechat"] = WeChatChannel(client)
            channels["wechat_template"] = WeChatTemplateChannel(client, credentials.template_ids.get("staff_reply"))
        agora = self.agora_settings(store.chain_id)
        if agora:
            channels["agora"] = AgoraChatChannel(AgoraChatClient(
                agora["base_url"], agora["org_name"], agora["app_name"], agora["app_id"], agora["app_certificate"],
                clock=time.time, sender_id=f"store-{store.store_id}"))
        self._store_channels[store.store_id] = channels
        return channels

    @cached_property
    def _store_channels(self) -> dict[str, dict[str, Any]]:
        return {}

    @cached_property
    def reply_sender(self):
        from chalicelib.channels.wechat.client import can_send_customer_service
        from chalicelib.conversations.outbound import ChannelLaw, ReplySender

        return ReplySender(self.messages, self.conversations, self.reply_channels,
                           ChannelLaw(can_send_customer_service), self.clock)

    @cached_property
    def inbound(self):
        from chalicelib.conversations.inbound import InboundService
        from chalicelib.conversations.outbound import StaffAlerts

        def classifier():
            from chalicelib.understanding import default_classifier

            return default_classifier()

        def campaign_replies(chain_id: str, member_id: str, at: Any) -> None:
            from chalicelib.care.campaigns import attribute_reply

            attribute_reply(self.care_repo, chain_id, member_id, at)

        return InboundService(self.conversations, self.stores, self.booking_marks, classifier,
                              self.reply_sender, self.booking_system,
                              StaffAlerts(self.channels["sms"]), self.clock, campaign_replies)

    @cached_property
    def intake(self):
        from chalicelib.conversations.intake import InboundQueue, Intake
        from chalicelib.dal.callbacks import CallbackClaims, SmsNumbers

        _ = self.bookings  # binds the models
        return Intake(self.inbound, self.conversations, self.stores,
                      InboundQueue(self.client("sqs"), self.settings.inbound_queue_url),
                      self.clock, self.wechat_credentials, self.agora_settings,
                      CallbackClaims(), SmsNumbers())

    @cached_property
    def inbound_worker(self):
        from chalicelib.workers.inbound import InboundWorker

        return InboundWorker(self.intake)

    @cached_property
    def staff_conversations(self):
        from chalicelib.conversations.staff import StaffConversations
        from chalicelib.conversations.video import VideoConsults

        video = VideoConsults(self.agora_settings, self.clock, time.time, lambda m: m.save())
        return StaffConversations(self.stores, self.conversations, self.messages, self.reply_sender, video, self.clock, self.bookings.member)

    @cached_property
    def booking_system(self):
        """Signed events to the chain's booking system (members' change requests, staff's marks)."""
        from chalicelib.conversations.outbound import BookingSystemNotifier

        return BookingSystemNotifier(self.webhook_secrets.active)

    @cached_property
    def staff_bookings(self):
        """The Today screen, a booking's timeline, and staff marking check-ins and no-shows."""
        from chalicelib.services.staff_bookings import StaffBookings

        return StaffBookings(self.stores, self.bookings, self.messages, self.booking_marks, self.booking_system,
                             self.clock)

    @cached_property
    def step_worker(self):
        from chalicelib.workers.steps import StepWorker

        return StepWorker(self.delivery, self.client("sqs"), self.settings.steps_queue_url,
                          max_receive_count=resources.STEPS_QUEUE.max_receive_count,
                          retry_base_seconds=self.settings.retry_base_seconds,
                          retry_max_seconds=self.settings.retry_max_seconds)

    # --- member care (chalicelib/care) ---------------------------------------------------------------
    @cached_property
    def care_repo(self):
        from chalicelib.dal.care import CareRepository

        _ = self.bookings  # binds the models
        return CareRepository(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def member_care(self):
        from chalicelib.care.member_care import MemberCare

        return MemberCare(self.care_repo, self.clock)

    @cached_property
    def outreach(self):
        from chalicelib.care.outreach import Outreach

        return Outreach(self.care_repo, self.local_stores, self.conversations, self.reply_sender, self.clock,
                        self.client("sqs"), self.settings.care_queue_url)

    @cached_property
    def care_worker(self):
        from chalicelib.workers.care import CareWorker

        return CareWorker(self.outreach, self.client("sqs"), self.settings.care_queue_url,
                          self.settings.care_dlq_url, fan_out=self.campaigns.fan_out_page,
                          max_defer_seconds=self.settings.care_defer_max_seconds)

    @cached_property
    def campaigns(self):
        from chalicelib.care.campaigns import Campaigns
        from chalicelib.care.segments import SegmentReader

        return Campaigns(self.care_repo, SegmentReader(self.care_repo), self.outreach, self.local_stores,
                         self.clock, self.client("sqs"), self.settings.care_queue_url,
                         self.cursors, max_delay_seconds=self.settings.care_defer_max_seconds)

    # --- always-on care (chalicelib/care/always_on.py) ----------------------------------------------------
    @cached_property
    def care_schedules(self):
        """Each store's recurring care schedule; ensured wherever a store is provisioned (devstack/seed.py)."""
        from chalicelib.care.schedules import CareSchedules

        s = self.settings
        return CareSchedules(self.client("scheduler"), group=s.care_schedule_group, queue_arn=s.care_ticks_queue_arn,
                             role_arn=s.scheduler_role_arn, dlq_arn=s.scheduler_dlq_arn)

    @cached_property
    def care_tick(self):
        from chalicelib.care.always_on import CareTick
        from chalicelib.dal.care_due import CareDueRepository

        _ = self.bookings  # binds the models
        return CareTick(CareDueRepository(), self.local_stores, self.outreach, self.clock)

    @cached_property
    def care_tick_worker(self):
        from chalicelib.workers.care_tick import CareTickWorker

        return CareTickWorker(self.care_tick)


class WebhookSecrets:
    """A chain's active webhook secrets from Secrets Manager, cached for five minutes.

    The secret is either a plain string or `{"current": "...", "previous": "..."}` -- two active
    secrets while a chain rotates, so senders can switch without downtime.
    """

    TTL_SECONDS = 300

    def __init__(self, secrets_client: Any, stage: str) -> None:
        self._client = secrets_client
        self._stage = stage
        self._cache: dict[str, tuple[float, list[str]]] = {}

    def active(self, chain_id: str) -> list[str]:
        hit = self._cache.get(chain_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        secrets = self._fetch(chain_id)
        self._cache[chain_id] = (time.monotonic() + self.TTL_SECONDS, secrets)
        return secrets

    def _fetch(self, chain_id: str) -> list[str]:
        name = resources.webhook_secret_name(self._stage, chain_id)
        try:
            value = self._client.get_secret_value(SecretId=name)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return []
        try:
            data = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(data, dict):
            return [str(data[k]) for k in ("current", "previous") if data.get(k)]
        return [value]


def build(settings: Settings | None = None, *, clock: Clock | None = None, session: Any = None) -> Container:
    settings = settings or settings_module.current()
    if clock is None:
        clock = OffsetFileClock(settings.local_dir / "clock.json") if settings.local_dir else SystemClock()
    return Container(settings=settings, clock=clock, session=session)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = build()
    return _container


def use(replacement: Container | None) -> None:
    """Swap the process-wide container (tests)."""
    global _container
    _container = replacement
