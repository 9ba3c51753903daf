"""An in-process Chairside on moto's mock_aws: the real app, the real worker handler and the same
local plumbing `make run` uses, driven by a FixedClock."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib import settings as settings_module
from chalicelib.clock import FixedClock
from chalicelib.services.signatures import sign
from tests.conftest import REGION

START = datetime.fromisoformat("2026-11-22T10:00:00+08:00")


@dataclass
class Harness:
    session: boto3.session.Session
    container: bootstrap.Container
    clock: FixedClock
    client: Any
    chain: dict[str, Any]
    plumbing: Any
    env: dict[str, str]
    faults: Any = None
    fakes: dict[str, Any] = field(default_factory=dict)

    # --- members writing in -------------------------------------------------------------------
    def post_message(self, event: dict, **kwargs: Any):
        raw = json.dumps(event, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Chairside-Chain": self.chain["chain_id"],
            "X-Chairside-Timestamp": ts,
            "X-Chairside-Signature": sign("whsec-test", ts, raw),
        }
        headers.update(kwargs.get("headers") or {})
        response = self.client.http.post("/v1/webhooks/messages", headers=headers, body=raw)
        return response.status_code, (
            json.loads(response.body) if response.body[:1] == b"{" else response.body
        )

    def wechat(
        self,
        store_id: str,
        xml: str,
        *,
        token: str | None = None,
        method: str = "POST",
        echostr: str | None = None,
        timestamp: int | str | None = None,
        nonce: str | None = None,
        encrypted: bool | None = None,
    ):
        """A WeChat callback as the fake WeChat server builds it: signed with the store's token, encrypted when the
        store is in encrypted mode (unless `encrypted=False`), with a fresh timestamp and a new nonce unless told."""
        store = next((s for s in self.chain["stores"] if s["id"] == store_id), {})
        aes_key = store.get("wechat_encoding_aes_key") if encrypted is not False else None
        params, body = self.fakes["wechat"].callback(
            token or store.get("wechat_token", ""),
            xml,
            timestamp=timestamp,
            nonce=nonce,
            encoding_aes_key=aes_key if method == "POST" else None,
        )
        if echostr:
            params["echostr"] = echostr
        path = f"/v1/channels/wechat/{store_id}?{urlencode(params, quote_via=quote)}"
        if method == "GET":
            response = self.client.http.get(path)
        else:
            response = self.client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
        return response.status_code, response.body

    def agora(self, body: dict, chain_id: str = "demo-chain", *, sign: bool = True):
        """An Agora Chat callback, `security` signed with the chain's callback secret unless `sign=False`."""
        from chalicelib.channels.agora.chat import callback_signature

        if sign:
            body = {
                **body,
                "security": callback_signature(
                    body["callId"], self.chain["agora"]["callback_secret"], body["timestamp"]
                ),
            }
        response = self.client.http.post(
            f"/v1/channels/agora/{chain_id}/callback",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        return response.status_code, json.loads(response.body) if response.body else None

    def staff(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {
            "Authorization": f"Bearer {token or self.chain['staff_token']}",
            "Content-Type": "application/json",
        }
        if method == "GET":
            response = self.client.http.get(path, headers=headers)
        else:
            response = self.client.http.post(path, headers=headers, body=json.dumps(body or {}).encode())
        return response.status_code, json.loads(response.body) if response.body else None

    # --- the booking system -------------------------------------------------------------------
    def post(
        self,
        event: dict | bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        chain_id: str | None = None,
        headers: dict | None = None,
    ):
        raw = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = sign(secret or self.chain["webhook_secret"], ts, raw)
        all_headers = {
            "Content-Type": "application/json",
            "X-Chairside-Chain": chain_id or self.chain["chain_id"],
            "X-Chairside-Timestamp": ts,
            "X-Chairside-Signature": sig,
        }
        all_headers.update(headers or {})
        response = self.client.http.post("/v1/webhooks/bookings", headers=all_headers, body=raw)
        return response.status_code, (json.loads(response.body) if response.body else None)

    # --- time and the event plumbing ----------------------------------------------------------
    def pump(self, rounds: int = 50) -> None:
        """Fire due schedules and run the workers until nothing moves."""
        idle = 0
        for _ in range(rounds):
            moved = self.plumbing.tick()
            idle = idle + 1 if not moved else 0
            if idle >= 2:
                return

    def advance_to(self, moment: datetime | str) -> None:
        moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        self.clock.set(moment)
        self.pump()

    # --- what happened ------------------------------------------------------------------------
    def messages(self, store_id: str, member_id: str, limit: int = 100) -> list[dict]:
        response = self.client.http.get(
            f"/v1/stores/{store_id}/members/{member_id}/messages?limit={limit}",
            headers={"Authorization": f"Bearer {self.chain['staff_token']}"},
        )
        assert response.status_code == 200, response.body
        return json.loads(response.body)["items"]

    def sent_kinds(self, store_id: str, member_id: str) -> list[str]:
        return [m["kind"] for m in reversed(self.messages(store_id, member_id)) if m["status"] == "sent"]

    def sms(self) -> list[tuple[str, str]]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        return [
            (phone, text) for phone, text in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()
        ]

    def schedules(self, wakes: bool = True) -> list[dict]:
        """The journey group's schedules; `wakes=False` leaves out the stores' shared wakes (`wake-...`)."""
        scheduler = self.session.client("scheduler")
        group = self.container.settings.schedule_group
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
        names = [n for n in names if wakes or not n.startswith("wake-")]
        return [scheduler.get_schedule(Name=n, GroupName=group) for n in names]

    def wakes(self) -> list[dict]:
        """The stores' wakes still to fire: their bodies (contracts/store_wake.py)."""
        return [json.loads(s["Target"]["Input"]) for s in self.schedules() if s["Name"].startswith("wake-")]

    def dlq(self) -> list[dict]:
        sqs = self.session.client("sqs")
        got = sqs.receive_message(
            QueueUrl=self.container.settings.steps_dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return got.get("Messages", [])


@pytest.fixture
def fakes() -> Iterator[dict[str, Any]]:
    """The providers we cannot reach, as local servers speaking their wire formats."""
    from devstack.fakes.agora_chat import FakeAgoraChat
    from devstack.fakes.booking_system import FakeBookingSystem
    from devstack.fakes.wechat_api import FakeWeChatAPI
    from devstack.seed import ChannelSetup

    base = ChannelSetup()
    with ExitStack() as stack:
        yield {
            "wechat": stack.enter_context(
                FakeWeChatAPI(app_id=base.wechat_app_id, app_secret=base.wechat_app_secret)
            ),
            "agora": stack.enter_context(
                FakeAgoraChat(
                    base.agora_app_id,
                    base.agora_app_certificate,
                    org_name=base.agora_org,
                    app_name=base.agora_app,
                )
            ),
            "booking": stack.enter_context(FakeBookingSystem("whsec-test")),
        }


@pytest.fixture
def harness(
    provisioned: dict[str, str],
    aws: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
    fakes: dict[str, Any],
) -> Iterator[Harness]:
    from chalice.test import Client

    from chalicelib.resources import ENV_JWT_SECRET
    from devstack.event_sources import build_pollers
    from devstack.plumbing import Plumbing
    from devstack.scheduler import build_firers
    from devstack.seed import ChannelSetup, seed

    env = dict(provisioned)
    env[ENV_JWT_SECRET] = "test-jwt-secret-of-at-least-32-bytes!"
    env["CHAIRSIDE_RETRY_BASE_SECONDS"] = "0"
    env["CHAIRSIDE_RETRY_MAX_SECONDS"] = "0"
    # the tests feed SNS delivery-status logs (tests/integration/test_sns_*): the stage has them on
    env["CHAIRSIDE_SNS_SMS_RECEIPTS"] = "1"
    env["CHAIRSIDE_LOCAL_DIR"] = str(tmp_path)  # enables fault injection, as in the local stack
    env["POWERTOOLS_METRICS_DISABLED"] = "true"
    env["CHAIRSIDE_WECHAT_API_BASE"] = fakes["wechat"].base_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    aws.client("ses").verify_email_identity(EmailAddress="care@chairside.example")

    clock = FixedClock(START)
    container = bootstrap.build(settings_module.from_env(), clock=clock, session=aws)
    bootstrap.use(container)
    _ = container.bookings
    channels = ChannelSetup(
        agora_base_url=fakes["agora"].base_url, booking_system_url=fakes["booking"].url + "/chairside/changes"
    )
    chain = seed(
        aws,
        env["CHAIRSIDE_STAGE"],
        env[ENV_JWT_SECRET],
        datetime.now(UTC),
        webhook_secret="whsec-test",
        channels=channels,
    )
    plumbing = Plumbing(
        build_firers(aws, env["CHAIRSIDE_STAGE"], None, REGION, clock),
        build_pollers(aws, env["CHAIRSIDE_STAGE"], None, REGION),
    )
    from app import app
    from chalicelib.channels.faults import FaultFile

    with Client(app) as client:
        yield Harness(
            aws,
            container,
            clock,
            client,
            chain,
            plumbing,
            env,
            faults=FaultFile(tmp_path / "faults.json"),
            fakes=fakes,
        )
    bootstrap.use(None)


@pytest.fixture
def alibaba(harness: Any) -> Iterator[tuple[Any, str]]:
    """The Alibaba fake as the seeded chain's account; yields it and the chain's receipt token."""
    from chalicelib.dal.models import ChainItem
    from devstack.fakes.alibaba_sms import FakeAlibabaSms
    from devstack.seed import (
        DEMO_SIGN_NAME,
        DEMO_SMS_SETTINGS,
        ChannelSetup,
        demo_alibaba_templates,
        seed_alibaba_sms,
    )

    setup = ChannelSetup()
    with FakeAlibabaSms(
        {setup.alibaba_access_key_id: setup.alibaba_access_key_secret},
        sign_names={DEMO_SIGN_NAME},
        templates=demo_alibaba_templates(),
        clock=lambda: harness.clock.now().timestamp(),  # the operator on the test's clock, as our sends
    ) as fake:
        published = seed_alibaba_sms(
            harness.session.client("secretsmanager"),
            harness.env["CHAIRSIDE_STAGE"],
            "demo-chain",
            ChannelSetup(alibaba_sms_base_url=fake.base_url),
        )
        chain = ChainItem.get(*ChainItem.key("demo-chain"))
        chain.sms_settings = DEMO_SMS_SETTINGS  # the chain routes +86 to Alibaba (seed's mainland_sms)
        chain.save()
        yield fake, published["receipt_token"]
