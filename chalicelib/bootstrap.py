"""The composition root: the one place that builds clients, repositories and services.

Production code asks `container()` for a service; tests and the local stack call `build(...)` with
their own clock, session or settings. Everything is created lazily, so a cold start pays only for
what its entry point uses.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chalicelib import resources
from chalicelib import settings as settings_module
from chalicelib.clock import Clock, OffsetFileClock, SystemClock, WallClock
from chalicelib.settings import Settings


@dataclass
class Container:
    settings: Settings
    clock: Clock
    session: Any = None  # boto3.Session; default built lazily
    wall_clock: WallClock = field(default_factory=SystemClock)
    # held while a client is built from the session: botocore sessions are not safe for two threads at once
    building_clients: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def later(self, name: str) -> Callable[[], Any]:
        """A getter of the service `name`, built when first called: for a service a handler needs for some of its
        messages only (a hand-off alarm, a store's wake, a WeChat account event), which a cold start should not
        import for the others."""
        return functools.partial(getattr, self, name)

    # --- AWS clients ------------------------------------------------------------------------------
    @cached_property
    def _session(self) -> Any:
        if self.session is not None:
            return self.session
        import boto3

        return boto3.session.Session(region_name=self.settings.region)

    def botocore_session(self) -> Any:
        """The botocore session under the boto3 one: PynamoDB builds its client from it (dal/models.py `bind`)."""
        return self._session._session

    def client(self, service: str, region: str | None = None) -> Any:
        if service not in resources.AWS_SERVICES:  # the layer ships botocore's models of these only
            raise ValueError(f"AWS service {service!r} is not in chalicelib/resources.py AWS_SERVICES")
        region = region or self.settings.region
        key = f"{service}@{region}"
        with self.building_clients:
            if key not in self._clients:
                self._clients[key] = self._session.client(service, region_name=region)
        return self._clients[key]

    @cached_property
    def _clients(self) -> dict[str, Any]:
        return {}

    # --- data access ------------------------------------------------------------------------------
    @cached_property
    def bookings(self):
        from chalicelib.dal.bookings import BookingRepository

        return BookingRepository(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def messages(self):
        from chalicelib.dal.messages import MessageRepository

        return MessageRepository(self.cursors, on_status=self.report_events.message_status)

    @cached_property
    def receipts(self):
        """Provider receipts -> message statuses (issue 15 §6): the provider adapters call `apply`."""
        from chalicelib.services.receipts import Receipts

        return Receipts(self.messages, self.clock, metrics=self.metrics)

    @cached_property
    def regions(self):
        from chalicelib.dal.regions import RegionDirectoryRepository
        from chalicelib.services.regions import RegionDirectory

        return RegionDirectory(
            RegionDirectoryRepository(self.client("dynamodb"), self.settings.main_table),
            self.settings.region,
            self.wall_clock.timestamp,
        )

    @cached_property
    def stores(self):
        """Stores of this region; one served by another region answers 421 (docs/REGIONS.md)."""
        from chalicelib.services.stores import StoreDirectory

        return StoreDirectory(self.bookings, self.wall_clock.timestamp, elsewhere=self.regions.locate)

    @cached_property
    def local_stores(self):
        """Stores of this region only, for the sending worker: a step of a store now served elsewhere is stale."""
        from chalicelib.services.stores import StoreDirectory

        return StoreDirectory(self.bookings, self.wall_clock.timestamp)

    # --- services ---------------------------------------------------------------------------------
    @cached_property
    def staff_verifier(self):
        """Checks staff bearer tokens; one per container, so a Cognito pool's JWKS is fetched once and cached."""
        from chalicelib.secrets import StaffTokenSecret
        from chalicelib.services.auth import verifier_for

        s = self.settings
        secret = s.jwt_secret or StaffTokenSecret(self.client("secretsmanager"), s.jwt_secret_name).read
        return verifier_for(s.auth_mode, secret=secret, issuer=s.cognito_issuer, audience=s.cognito_audience)

    @cached_property
    def step_scheduler(self):
        from chalicelib.scheduling import StepScheduler

        s = self.settings
        return StepScheduler(
            self.client("scheduler"),
            self.client("sqs"),
            group=s.schedule_group,
            queue_arn=s.steps_queue_arn,
            queue_url=s.steps_queue_url,
            role_arn=s.scheduler_role_arn,
            dlq_arn=s.scheduler_dlq_arn,
        )

    @cached_property
    def webhook_secrets(self):
        from chalicelib.secrets import WebhookSecrets

        return WebhookSecrets(self.client("secretsmanager"), self.settings.stage)

    @cached_property
    def channel_secrets(self):
        """Stores' WeChat credentials and chains' Agora settings (`.wechat_credentials`, `.agora_settings`)."""
        from chalicelib.secrets import ChannelSecrets

        return ChannelSecrets(self.client("secretsmanager"), self.settings.stage)

    @cached_property
    def lookup_hasher(self):
        """Contact lookups are keyed by HMAC(lookup key, address); the key is the stage's secret, read on first use."""
        from chalicelib.pii import LookupHasher
        from chalicelib.secrets import LookupKeySecret

        return LookupHasher(LookupKeySecret(self.client("secretsmanager"), self.settings.stage).read)

    @cached_property
    def cursors(self):
        """Page cursors, signed with a key derived from the lookup key: each continues only its own listing."""
        from chalicelib.cursors import CursorSigner

        return CursorSigner(functools.partial(self.lookup_hasher.derived_key, "cursors"))

    @cached_property
    def member_tokens(self):
        """Members' bearer tokens, signed with a key derived from the lookup key (services/member_tokens.py)."""
        from chalicelib.services.member_tokens import MemberTokens

        return MemberTokens(
            functools.partial(self.lookup_hasher.derived_key, "member-tokens"), self.clock.now
        )

    @cached_property
    def booking_events(self):
        from chalicelib.services.booking_events import BookingEvents

        return BookingEvents(
            self.bookings,
            self.stores,
            self.step_scheduler,
            self.clock,
            self.lookup_hasher,
            on_member=self.member_care.refresh,
            coupons=self.care_repo.coupon,
            table_name=self.settings.main_table,
            on_freed=self._time_freed,
            metrics=self.metrics,
            reports=self.report_events,
        )

    @cached_property
    def booking_marks(self):
        """Staff's check-in / no-show marks and a member's confirm reply."""
        from chalicelib.services.booking_marks import BookingMarks

        return BookingMarks(
            self.bookings,
            self.stores,
            self.step_scheduler,
            self.clock,
            metrics=self.metrics,
            reports=self.report_events,
        )

    @cached_property
    def message_history(self):
        from chalicelib.services.message_history import MessageHistory

        return MessageHistory(self.stores, self.messages, self.member_access, self.conversations)

    @cached_property
    def member_access(self):
        """Which members store staff may reach: those who belong to the store (services/member_access.py)."""
        from chalicelib.dal.membership import MembershipRepository
        from chalicelib.services.member_access import MemberAccess

        return MemberAccess(MembershipRepository())

    @cached_property
    def member_profiles(self):
        from chalicelib.services.member_profiles import MemberProfiles

        return MemberProfiles(
            self.stores, self.clock, self.care_repo, self.member_care, self.conversations, self.member_access
        )

    @cached_property
    def member_channel(self):
        """A member's own choice of channel (services/member_channel.py)."""
        from chalicelib.services.member_channel import MemberChannel

        return MemberChannel(self.stores, self.care_repo)

    @cached_property
    def member_privacy(self):
        """A member's export and erasure (PIPL / GDPR)."""
        from chalicelib.dal.member_data import MemberDataRepository
        from chalicelib.services.member_privacy import MemberPrivacy

        return MemberPrivacy(
            self.stores,
            MemberDataRepository(self.client("dynamodb"), self.settings.main_table),
            self.step_scheduler,
            self.lookup_hasher,
            self.clock,
            self.member_access,
            self.correction_repo,
        )

    @cached_property
    def provider_http(self):
        """One pooled HTTP client for every provider call of this container (WeChat, Agora, booking systems)."""
        from chalicelib.channels.http import ProviderHttp

        return ProviderHttp()

    @cached_property
    def channels(self):
        """The base channels (`.base`) and each store's reply channels (`.for_store(store)`)."""
        from chalicelib.channels.registry import ChannelRegistry
        from chalicelib.dal.sms_settings import chain_sms_settings

        s = self.settings
        return ChannelRegistry(
            self.client,
            self.channel_secrets,
            ses_region=s.ses_region,
            email_sender=s.email_sender,
            wechat_api_base=s.wechat_api_base,
            wall=self.wall_clock.timestamp,
            http=self.provider_http,
            faults_path=s.local_dir / "faults.json" if s.local_dir is not None else None,
            email_configuration_set=s.email_configuration_set,
            unsubscribe=self.unsubscribe_links,
            email_suppressed=self.email_suppressions.is_suppressed,
            sms_settings=chain_sms_settings,
            sms_secrets=self.sms_secrets,
            sns_receipts=s.sns_sms_receipts,
            wechat_grants=self.wechat_follows,
        )

    @cached_property
    def delivery(self):
        from chalicelib.channels.wechat.client import can_send_customer_service
        from chalicelib.dal.routing import RouteInputs
        from chalicelib.services.delivery import DeadLetters, ReceiptChecks, StepDelivery

        return StepDelivery(
            self.bookings,
            self.local_stores,
            self.messages,
            self.channels.for_store,
            DeadLetters(self.client("sqs"), self.settings.steps_dlq_url),
            self.clock,
            self.wall_clock.timestamp,
            links=self.member_links,
            route_inputs=RouteInputs(self.client("dynamodb"), self.settings.main_table),
            window=can_send_customer_service,
            receipt_checks=ReceiptChecks(self.client("sqs"), self.settings.steps_queue_url),
            feedback=self.feedback,
            metrics=self.metrics,
            reports=self.report_events,
            receipt_sink=self.receipt_sink,  # a receipt check's pull (Alibaba's QuerySendDetails)
        )

    # --- mainland SMS and its receipts (issue 15, section 3) ---------------------------------------------
    @cached_property
    def sms_secrets(self):
        """Chains' mainland SMS provider credentials and receipt tokens (secrets.SmsProviderSecrets)."""
        from chalicelib.secrets import SmsProviderSecrets

        return SmsProviderSecrets(self.client("secretsmanager"), self.settings.stage)

    @cached_property
    def sms_receipts(self):
        """Alibaba's SmsReport and Tencent's status callbacks -> ProviderReceipts -> `receipt_sink`."""
        from chalicelib.services.sms_receipts import SmsReceipts

        return SmsReceipts(self.receipt_sink)

    @cached_property
    def sns_sms_status(self):
        """SNS's SMS delivery-status logs (functions/sns_sms_status.py) -> receipts -> `receipt_sink`."""
        from chalicelib.services.sms_receipts import SnsSmsStatus

        return SnsSmsStatus(self.sms_receipts)

    # --- two-way chat -----------------------------------------------------------------------------
    @cached_property
    def conversations(self):
        from chalicelib.dal.conversations import ConversationRepository

        return ConversationRepository(
            self.client("dynamodb"), self.settings.main_table, self.lookup_hasher, self.cursors
        )

    @cached_property
    def reply_sender(self):
        from chalicelib.channels.wechat.client import can_send_customer_service
        from chalicelib.conversations.outbound import ChannelLaw, ReplySender

        return ReplySender(
            self.messages,
            self.conversations,
            self.channels.for_store,
            ChannelLaw(can_send_customer_service),
            self.clock,
            self.wall_clock.timestamp,
            metrics=self.metrics,
        )

    @cached_property
    def inbound(self):
        from chalicelib.care.attribution import ReplyAttribution
        from chalicelib.conversations.inbound import InboundService

        return InboundService(
            self.conversations,
            self.messages,
            self.stores,
            self.booking_marks,
            self.reply_classifier,
            self.reply_sender,
            self.booking_system,
            self.staff_alerts,
            self.clock,
            ReplyAttribution(self.care_repo).count,
            self.chat_booking,
            second_opinion=self.second_opinion,
            hand_offs=self.hand_offs,
            feedback=self.feedback,
            metrics=self.metrics,
            reports=self.report_events,
        )

    @cached_property
    def second_opinion(self):
        """A chain's hosted second opinion (Bedrock Converse), off unless its chain item says so (issue 16)."""
        from chalicelib.understanding.bedrock import SecondOpinion

        return SecondOpinion(
            self._second_opinion_setting, self._bedrock_classifier, self.wall_clock.timestamp
        )

    def _second_opinion_setting(self, chain_id: str):
        chain = self.bookings.chain(chain_id)
        return chain.second_opinion if chain is not None else None

    def _bedrock_classifier(self, opinion_settings):
        """One Bedrock classifier per (region, time budget, model), built on first use."""
        from chalicelib.understanding.bedrock import BedrockClassifier, runtime_client

        region = opinion_settings.region or self.settings.region
        key = f"bedrock-runtime@{region}@{opinion_settings.budget_ms}@{opinion_settings.model_id}"
        if key not in self._clients:
            client = runtime_client(self._session, region, opinion_settings.budget_ms)
            self._clients[key] = BedrockClassifier(client, opinion_settings.model_id)
        return self._clients[key]

    def reply_classifier(self):
        """The reply classifier, built on first use, reading "today" (for "11月29日") from the domain clock, which
        the local stack and the tests move."""
        return self._reply_classifier

    @cached_property
    def _reply_classifier(self):
        from chalicelib.understanding.classifier import RulesClassifier
        from chalicelib.understanding.combined import CombinedClassifier

        # the rules and the learned model (issue 16); the model file is read on the first reply
        return CombinedClassifier(RulesClassifier(clock=self.clock))

    @cached_property
    def correction_repo(self):
        from chalicelib.dal.corrections import CorrectionRepository

        return CorrectionRepository(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def corrections(self):
        """Staff correct a message's understood intent; kept per chain as labelled data (issue 16)."""
        from chalicelib.services.corrections import Corrections

        return Corrections(
            self.stores,
            self.correction_repo,
            self.member_access,
            self.clock,
            self.conversations.latest_booking,
        )

    @cached_property
    def chat_booking(self):
        """Booking by chat (issue 14, item 6): slots offered in a conversation, booked by their number."""
        from chalicelib.conversations.chat_booking import ChatBooking

        return ChatBooking(
            self.conversations,
            self.availability.open_starts,
            self._book_by_chat,
            self.bookings.member,
            self.reply_sender,
            self.settings.public_base_url,
        )

    @cached_property
    def intake(self):
        from chalicelib.conversations.intake import InboundQueue, Intake
        from chalicelib.dal.callbacks import CallbackClaims, SmsNumbers

        return Intake(
            self.inbound,
            self.conversations,
            self.stores,
            InboundQueue(self.client("sqs"), self.settings.inbound_queue_url),
            self.clock,
            self.channel_secrets.wechat_credentials,
            CallbackClaims(),
            SmsNumbers(),
            receipts=self.receipt_sink,
            wechat_events=self.later("wechat_events"),
        )

    # --- WeChat account events (issue 15, §2: follow state, template and subscription receipts, grants) ---
    @cached_property
    def wechat_follows(self):
        """Her follow state and subscription-message grants (MemberItem)."""
        from chalicelib.dal.wechat_follow import WeChatFollowRepository

        return WeChatFollowRepository()

    @cached_property
    def wechat_events(self):
        """subscribe / unsubscribe -> MemberItem.wechat_following; subscription pop-up and settings choices ->
        MemberItem.wechat_grants; TEMPLATESENDJOBFINISH and subscribe_msg_sent_event -> the receipt sink."""
        from chalicelib.conversations.wechat_events import WeChatAccountEvents

        return WeChatAccountEvents(self.wechat_follows, self.receipt_sink)

    @cached_property
    def inbound_worker(self):
        from chalicelib.workers.inbound_messages import InboundWorker

        return InboundWorker(self.intake)

    @cached_property
    def staff_conversations(self):
        from chalicelib.conversations.staff_desk import StaffConversations
        from chalicelib.conversations.video import VideoConsults

        video = VideoConsults(
            self.channel_secrets.agora_settings, self.clock, self.wall_clock.timestamp, self.messages
        )
        return StaffConversations(
            self.stores,
            self.conversations,
            self.messages,
            self.reply_sender,
            video,
            self.clock,
            self.bookings.member,
            hand_offs=self.hand_offs,
            reports=self.report_events,
        )

    @cached_property
    def booking_system(self):
        """Signed events to the chain's booking system (members' change requests, staff's marks)."""
        from chalicelib.conversations.outbound import BookingSystemNotifier

        return BookingSystemNotifier(
            self.webhook_secrets.active, self.wall_clock.timestamp, http=self.provider_http
        )

    @cached_property
    def staff_bookings(self):
        """The Today screen, a booking's timeline, and staff marking check-ins and no-shows."""
        from chalicelib.services.staff_bookings import StaffBookings

        return StaffBookings(
            self.stores, self.bookings, self.messages, self.booking_marks, self.booking_system, self.clock
        )

    def _book_by_chat(self, member, store_id, body):
        """`self_booking.book`, wired when a member first books by chat: a container that only reads replies
        never loads the self-booking contracts (pydantic; the inbound worker's cold start, issue 13 §8)."""
        return self.self_booking.book(member, store_id, body)

    # --- self-booking (issue 14) ---------------------------------------------------------------------
    @cached_property
    def availability(self):
        """Open times from the catalogue and the stylists' calendars (services/availability.py)."""
        from chalicelib.services.availability import Availability

        return Availability(self.stores, self.bookings, self.clock)

    @cached_property
    def self_booking(self):
        """Members book, move and cancel (and staff for them) through booking events (services/self_booking.py)."""
        from chalicelib.services.self_booking import SelfBooking

        return SelfBooking(
            self.stores,
            self.bookings,
            self.booking_events,
            self.availability,
            self.booking_system,
            self.clock,
        )

    @cached_property
    def step_worker(self):
        from chalicelib.workers.steps import StepWorker

        return StepWorker(
            self.delivery,
            self.client("sqs"),
            self.settings.steps_queue_url,
            max_receive_count=resources.STEPS_QUEUE.max_receive_count,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_max_seconds=self.settings.retry_max_seconds,
            hand_offs=self.later("hand_offs"),
            wakes=self.later("store_wakes"),
        )

    @cached_property
    def store_wakes(self):
        from chalicelib.services.store_wakes import StoreWakes

        return StoreWakes(self.bookings, self.step_scheduler)

    # --- member care (chalicelib/care) ---------------------------------------------------------------
    @cached_property
    def care_repo(self):
        from chalicelib.dal.care import CareRepository

        return CareRepository(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def member_care(self):
        from chalicelib.care.member_care import MemberCare

        return MemberCare(self.care_repo, self.clock, reports=self.report_events)

    @cached_property
    def outreach(self):
        from chalicelib.care.outreach import Outreach
        from chalicelib.channels.wechat.client import can_send_customer_service

        return Outreach(
            self.care_repo,
            self.messages,
            self.local_stores,
            self.conversations,
            self.reply_sender,
            self.clock,
            self.client("sqs"),
            self.settings.care_queue_url,
            wall=self.wall_clock.timestamp,
            window=can_send_customer_service,
        )

    @cached_property
    def care_worker(self):
        from chalicelib.workers.care_outreach import CareWorker

        return CareWorker(
            self.outreach,
            self.client("sqs"),
            self.settings.care_queue_url,
            self.settings.care_dlq_url,
            fan_out=self.campaigns.fan_out_page,
            max_defer_seconds=self.settings.care_defer_max_seconds,
        )

    @cached_property
    def campaigns(self):
        from chalicelib.care.campaigns import Campaigns
        from chalicelib.care.segments import SegmentReader

        return Campaigns(
            self.care_repo,
            SegmentReader(self.care_repo),
            self.outreach,
            self.local_stores,
            self.clock,
            self.client("sqs"),
            self.settings.care_queue_url,
            self.cursors,
            max_delay_seconds=self.settings.care_defer_max_seconds,
        )

    # --- always-on care (chalicelib/care/always_on.py) ----------------------------------------------------
    @cached_property
    def care_schedules(self):
        """Each store's recurring care schedule; ensured wherever a store is provisioned (devstack/seed.py)."""
        from chalicelib.care.schedules import CareSchedules

        s = self.settings
        return CareSchedules(
            self.client("scheduler"),
            group=s.care_schedule_group,
            queue_arn=s.care_ticks_queue_arn,
            role_arn=s.scheduler_role_arn,
            dlq_arn=s.scheduler_dlq_arn,
        )

    @cached_property
    def care_tick(self):
        from chalicelib.care.always_on import CareTick
        from chalicelib.dal.care_due import CareDueRepository

        return CareTick(
            CareDueRepository(),
            self.local_stores,
            self.outreach,
            self.clock,
            next_tick=self._queue_care_tick,
            refresh_member=self.member_care.refresh,
        )

    def _queue_care_tick(self, tick) -> None:
        """Put a care tick on the care-ticks queue (a holiday greeting's next page of members)."""
        self.client("sqs").send_message(
            QueueUrl=self.settings.care_ticks_queue_url, MessageBody=tick.to_json()
        )

    @cached_property
    def care_tick_worker(self):
        from chalicelib.workers.care_tick import CareTickWorker

        return CareTickWorker(self.care_tick)

    # --- the waitlist (issue 14, item 5; services/waitlist.py) ------------------------------------------
    @cached_property
    def waitlist(self):
        from chalicelib.dal.waitlist import WaitlistRepository
        from chalicelib.services.waitlist import Waitlist, WaitlistQueue

        s = self.settings
        return Waitlist(
            WaitlistRepository(self.client("dynamodb"), s.main_table),
            self.stores,
            self.clock,
            WaitlistQueue(
                self.client("sqs"),
                self.client("scheduler"),
                queue_url=s.waitlist_queue_url,
                queue_arn=s.waitlist_queue_arn,
                group=s.schedule_group,
                role_arn=s.scheduler_role_arn,
                dlq_arn=s.scheduler_dlq_arn,
            ),
            member=self.bookings.member,
            conversations=self.conversations,
            messages=self.messages,
            sender=self.reply_sender,
            link=self.member_links.link,
            open_starts=self.availability.open_starts,
            book=self._book_from_waitlist,
        )

    def _book_from_waitlist(self, *args: Any, **kwargs: Any) -> Any:
        """Waitlist's `book`: self-booking is built when a member claims an offer, not by the offers worker (it
        loads the booking contracts and pydantic, which an offer never needs)."""
        return self.self_booking.book(*args, **kwargs)

    def _time_freed(self, before: Any, after: Any) -> None:
        """BookingEvents' `on_freed` (the waitlist is built on first use: it books through BookingEvents)."""
        self.waitlist.freed(before, after)

    @cached_property
    def waitlist_worker(self):
        from chalicelib.workers.waitlist_offers import WaitlistWorker

        return WaitlistWorker(self.waitlist)

    # --- members signing in (issue 14: sessions, member directory, manage links) --------------------------
    @cached_property
    def member_directory_repo(self):
        from chalicelib.dal.member_directory import MemberDirectoryRepository

        return MemberDirectoryRepository()

    @cached_property
    def member_directory(self):
        """Who a phone number or openid is in a chain, or a new member (services/member_directory.py)."""
        from chalicelib.services.member_directory import MemberDirectory

        return MemberDirectory(
            self.member_directory_repo,
            self.lookup_hasher,
            self.clock,
            profiles=self.member_care,
            lookups=self.bookings,
        )

    @cached_property
    def member_links(self):
        """Short "manage my booking" (and claim) links, `<public base URL>/m/<code>` (services/member_links.py)."""
        from chalicelib.services.member_links import MemberLinks

        return MemberLinks(
            self.member_directory_repo,
            self.member_tokens,
            self.settings.public_base_url,
            self.clock,
            functools.partial(self.lookup_hasher.derived_key, "member-links"),
        )

    @cached_property
    def member_sessions(self):
        """A member signing in: SMS code or WeChat OAuth (services/member_sessions.py)."""
        from chalicelib.channels.wechat.oauth import WeChatOAuth
        from chalicelib.services.member_sessions import MemberSessions

        s = self.settings
        return MemberSessions(
            self.stores,
            self.member_directory,
            self.member_directory_repo,
            self.member_tokens,
            self.lookup_hasher,
            self.lookup_hasher.derived_key,
            self.clock,
            sms=self.channels.base["sms"],
            wechat_credentials=self.channel_secrets.wechat_credentials,
            oauth=WeChatOAuth(s.wechat_api_base, self.provider_http),
            oauth_base=s.wechat_oauth_base,
            public_base=s.public_base_url,
        )

    @cached_property
    def wechat_page(self):
        """WeChat's subscribe button on the booking page: its JS-SDK configuration (services/wechat_page.py)."""
        from chalicelib.services.wechat_page import WeChatPage

        return WeChatPage(
            self.stores,
            self.channel_secrets.wechat_credentials,
            self.channels.wechat_client,
            self.settings.public_base_url,
            self.clock,
        )

    # --- the catalogue (issue 14: services/catalogue.py) -----------------------------------------------------
    @cached_property
    def catalogue(self):
        from chalicelib.dal.catalogue import CatalogueRepository
        from chalicelib.secrets import StoreChannelDefaults
        from chalicelib.services.catalogue import Catalogue

        return Catalogue(
            CatalogueRepository(),
            self.stores,
            self.care_schedules,
            StoreChannelDefaults(self.client("secretsmanager"), self.settings.stage),
        )

    # --- provider receipts and email (issue 15 §4, §5) ----------------------------------------------------
    @cached_property
    def receipt_sink(self):
        """Where every provider's receipts go (the port of services/receipt_sink.py): the receipts service."""
        return self.receipts

    @cached_property
    def unsubscribe_links(self):
        """Signed one-click unsubscribe links of marketing email (services/unsubscribe.py)."""
        from chalicelib.services.unsubscribe import KEY_PURPOSE, UnsubscribeLinks

        s = self.settings
        return UnsubscribeLinks(
            functools.partial(self.lookup_hasher.derived_key, KEY_PURPOSE),
            s.public_base_url,
            s.email_unsubscribe_mailbox,
        )

    @cached_property
    def unsubscribe(self):
        from chalicelib.dal.email import opt_out_member
        from chalicelib.services.unsubscribe import Unsubscribe

        return Unsubscribe(
            self.unsubscribe_links, opt_out_member, self.clock.now, self.report_events.email_unsubscribed
        )

    @cached_property
    def email_suppressions(self):
        """Addresses a bounce or complaint suppressed (dal/email.py): written by the SES events worker."""
        from chalicelib.dal.email import EmailSuppressions

        return EmailSuppressions(self.client("dynamodb"), self.settings.main_table, self.lookup_hasher)

    @cached_property
    def email_events_worker(self):
        """SES's bounce / complaint / delivery events -> receipts and suppressions (functions/email_events.py)."""
        from chalicelib.services.email_events import EmailEvents
        from chalicelib.workers.email_events import EmailEventsWorker

        return EmailEventsWorker(EmailEvents(self.receipt_sink, self.email_suppressions))

    # --- issue 17 part 3: staff presence, hand-off routing, the response alarm ---------------------------------
    @cached_property
    def hand_offs(self):
        from chalicelib.conversations.hand_offs import HandOffs
        from chalicelib.dal.hand_offs import HandOffRepository

        return HandOffs(
            self.stores,
            self.presence_repo,
            HandOffRepository(),
            self.conversations,
            self.staff_alerts,
            self.step_scheduler,
            self.clock,
        )

    @cached_property
    def staff_alerts(self):
        """Texts to the store's staff, once per member message (inbound complaints, hand-offs, response alarms)."""
        from chalicelib.conversations.outbound import StaffAlerts
        from chalicelib.dal.staff_alerts import StaffAlertClaims

        return StaffAlerts(self.channels.base["sms"], StaffAlertClaims(), self.wall_clock.timestamp)

    @cached_property
    def presence_repo(self):
        from chalicelib.dal.presence import PresenceRepository

        return PresenceRepository()

    @cached_property
    def staff_presence(self):
        from chalicelib.services.presence import StaffPresence

        return StaffPresence(self.stores, self.presence_repo, self.clock)

    # --- feedback closes the loop (issue 17 §1) ----------------------------------------------------------
    @cached_property
    def feedback(self):
        """Her answer to the feedback request on the booking; the review request's link and thank-you coupon."""
        from chalicelib.dal.feedback import FeedbackRepository
        from chalicelib.services.feedback import FeedbackService

        return FeedbackService(
            FeedbackRepository(),
            self.local_stores.feedback_settings,
            self.local_stores,
            self.care_repo,
            reports=self.report_events,
        )

    # --- metrics (issue 17 §2) ---------------------------------------------------------------------------
    @cached_property
    def metrics(self):
        """The services' counts as CloudWatch EMF (chalicelib/metrics.py); the handlers flush them."""
        from chalicelib.observability import EmfCounter, metrics

        return EmfCounter(metrics, self.settings.stage)

    # --- an owner's reports (issue 17) -----------------------------------------------------------------
    @cached_property
    def report_counters(self):
        """Per store-day counters (dal/report_counters.py): written as events happen, read by `reports`."""
        from chalicelib.dal.report_counters import ReportCounters

        return ReportCounters(self.client("dynamodb"), self.settings.main_table)

    @cached_property
    def report_events(self):
        """What the counters count, called by messages, bookings, conversations and care (docs/REPORTS.md)."""
        from chalicelib.services.report_events import ReportEvents

        return ReportEvents(self.report_counters, self.local_stores, self.clock)

    @cached_property
    def reports(self):
        from chalicelib.dal.report_counters import chain_stores
        from chalicelib.services.reports import Reports

        return Reports(self.report_counters, self.stores, chain_stores, self.clock)

    # --- what owners and managers set for issue 17's features ----------------------------------------------
    @cached_property
    def store_settings(self):
        """Review links, manager phone and hand-off limit of a store; a chain's feedback settings."""
        from chalicelib.dal.settings_items import SettingsRepository
        from chalicelib.services.store_settings import StoreSettings

        return StoreSettings(
            SettingsRepository(self.client("dynamodb"), self.settings.main_table),
            (self.stores, self.local_stores),
        )


def build(settings: Settings | None = None, *, clock: Clock | None = None, session: Any = None) -> Container:
    settings = settings or settings_module.current()
    if clock is None:
        clock = OffsetFileClock(settings.local_dir / "clock.json") if settings.local_dir else SystemClock()
    from chalicelib.dal import models

    container = Container(settings=settings, clock=clock, session=session)
    # every PynamoDB model, once: metadata only, no AWS call; their client comes from the container's session
    models.bind(settings.main_table, settings.region, container.botocore_session, container.building_clients)
    return container


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
