"""The composition root: the one place that builds clients, repositories and services.

Production code asks `container()` for a service; tests and the local stack call `build(...)` with
their own clock, session or settings. Everything is created lazily, so a cold start pays only for
what its entry point uses.
"""

from __future__ import annotations

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
        return MessageRepository()

    @cached_property
    def stores(self):
        from chalicelib.services.booking_events import StoreDirectory

        return StoreDirectory(self.bookings, time.time)

    # --- services ---------------------------------------------------------------------------------
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
    def booking_events(self):
        from chalicelib.services.booking_events import BookingEvents

        return BookingEvents(self.bookings, self.stores, self.step_scheduler, self.clock,
                             self.webhook_secrets.active)

    @cached_property
    def message_history(self):
        from chalicelib.services.conversations import MessageHistory

        return MessageHistory(self.stores, self.messages, self.settings.jwt_secret)

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

        return StepDelivery(self.bookings, self.stores, self.messages, self.channels,
                            DeadLetters(self.client("sqs"), self.settings.steps_dlq_url),
                            self.clock, time.time)

    @cached_property
    def step_worker(self):
        from chalicelib.services.step_worker import StepWorker

        return StepWorker(self.delivery, self.client("sqs"), self.settings.steps_queue_url,
                          max_receive_count=resources.STEPS_QUEUE.max_receive_count,
                          retry_base_seconds=self.settings.retry_base_seconds,
                          retry_max_seconds=self.settings.retry_max_seconds)


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
