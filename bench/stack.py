"""An in-process Chairside on moto's `mock_aws` for measuring: the real Chalice app, the real worker
handlers and the local plumbing (`devstack/plumbing.py`), every client counted by a `CallCounter`.

The production wiring is kept: no local directory (no fault injection, no `_local` routes); only the
clock is a `FixedClock` the driver moves.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.counting import CallCounter

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-southeast-1"
STAGE = "bench"
WEBHOOK_SECRET = "whsec-bench"  # a local test secret
JWT_SECRET = "bench-jwt-secret-of-at-least-32-bytes!"  # a local test secret
START = datetime.fromisoformat("2026-11-22T10:00:00+08:00")


@dataclass
class Invocation:
    """One Lambda invocation: which function, in which phase, how long, and which counted calls it made."""

    function: str
    phase: str
    seconds: float
    calls: slice
    records: int = 1


@dataclass
class Stack:
    counter: CallCounter
    session: Any
    container: Any
    clock: Any
    client: Any  # chalice.test.Client
    plumbing: Any
    chain: dict[str, Any]
    invocations: list[Invocation] = field(default_factory=list)

    # --- Lambda invocations, timed --------------------------------------------------------------------------
    def _timed(self, function: str, call, records: int = 1):
        first = len(self.counter.calls)
        started = time.perf_counter()
        try:
            return call()
        finally:
            seconds = time.perf_counter() - started
            if self.counter.recording:
                self.invocations.append(
                    Invocation(
                        function, self.counter.phase, seconds, slice(first, len(self.counter.calls)), records
                    )
                )

    def post_booking(self, event: dict) -> tuple[int, dict]:
        """The booking system's signed webhook through API Gateway's local stand-in (one API invocation)."""
        from chalicelib.services.signatures import sign

        raw = json.dumps(event, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Chairside-Chain": self.chain["chain_id"],
            "X-Chairside-Timestamp": ts,
            "X-Chairside-Signature": sign(WEBHOOK_SECRET, ts, raw),
        }
        response = self._timed(
            "api", lambda: self.client.http.post("/v1/webhooks/bookings", headers=headers, body=raw)
        )
        return response.status_code, json.loads(response.body) if response.body else {}

    def pump(self, rounds: int = 50) -> None:
        """Fire due schedules and run the workers until nothing moves."""
        idle = 0
        for _ in range(rounds):
            idle = idle + 1 if not self.plumbing.tick() else 0
            if idle >= 2:
                return

    def advance_to(self, moment: datetime) -> None:
        if moment > self.clock.now():
            self.clock.set(moment)
        self.pump()

    def sms_count(self) -> int:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        return len(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages)


def booking_event(
    event_type: str,
    booking_id: str,
    member_id: str,
    phone: str,
    start: datetime,
    occurred_at: datetime,
    stylist: str = "sh-xiaowang",
) -> dict:
    """A booking-system webhook body shaped like `events/webhooks/booking.created.json`."""
    template = json.loads((ROOT / "events" / "webhooks" / "booking.created.json").read_text())
    event = copy.deepcopy(template)
    event.update(
        event_id=f"evt-{booking_id}-{event_type}-{occurred_at.timestamp():.0f}",
        type=event_type,
        occurred_at=occurred_at.isoformat(),
    )
    booking = event["booking"]
    booking.update(id=booking_id, start=start.isoformat())
    booking["stylist"]["id"] = stylist
    booking["member"].update(id=member_id, phone=phone)
    return event


def _moto_item_lookup(table: str, key: dict) -> dict | None:
    """The stored item, read from moto's backend directly (not an API call, so not counted)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    try:
        item = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_item(table, key)
    except Exception:  # noqa: BLE001 - a missing table or key: size unknown, the key is used instead
        return None
    return item.to_json()["Attributes"] if item is not None else None


@contextmanager
def running_stack(counter: CallCounter | None = None) -> Iterator[Stack]:
    """Provision, seed and wire a whole Chairside in this process; restore the environment afterwards."""
    import boto3
    from moto import mock_aws

    counter = counter or CallCounter(_moto_item_lookup)
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            del os.environ[name]
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("CHAIRSIDE_LOCAL_DIR", None)
    counter.install()
    try:
        with mock_aws():
            yield _build(counter, boto3.session.Session(region_name=REGION))
    finally:
        counter.uninstall()
        from chalicelib import bootstrap

        bootstrap.use(None)
        os.environ.clear()
        os.environ.update(saved)


def _build(counter: CallCounter, session: Any) -> Stack:
    from chalice.test import Client

    from chalicelib import bootstrap
    from chalicelib import settings as settings_module
    from chalicelib.clock import FixedClock
    from chalicelib.resources import ENV_JWT_SECRET
    from devstack.event_sources import build_pollers
    from devstack.plumbing import Plumbing
    from devstack.provision import provision
    from devstack.scheduler import build_firer
    from devstack.seed import seed

    env = provision(session, STAGE)
    env[ENV_JWT_SECRET] = JWT_SECRET
    env["CHAIRSIDE_RETRY_BASE_SECONDS"] = "0"
    env["CHAIRSIDE_RETRY_MAX_SECONDS"] = "0"
    os.environ.update(env)
    session.client("ses").verify_email_identity(EmailAddress="care@chairside.example")

    clock = FixedClock(START)
    container = bootstrap.build(settings_module.from_env(), clock=clock, session=session)
    bootstrap.use(container)
    _ = container.bookings  # binds the PynamoDB models
    chain = seed(session, STAGE, JWT_SECRET, datetime.now(UTC), webhook_secret=WEBHOOK_SECRET)
    with counter.building("scheduler"):
        firer = build_firer(session, STAGE, None, REGION, clock)
    with counter.building("esm"):
        pollers = build_pollers(session, STAGE, None, REGION)
    from app import app

    stack = Stack(counter, session, container, clock, Client(app), Plumbing([firer], pollers), chain)
    for poller in pollers:
        handler, name = poller.handler, poller.function_name

        def timed(event, context, handler=handler, name=name):
            return stack._timed(name, lambda: handler(event, context), len(event["Records"]))

        poller.handler = timed
    return stack
