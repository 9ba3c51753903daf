"""The channel router's table (chalicelib/channels/routing.toml) and its overrides, as a table of cases."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.channels.wechat.client import can_send_customer_service
from chalicelib.errors import ValidationFailed
from chalicelib.services.channel_router import (
    MemberFacts,
    Route,
    next_route,
    routes,
    settings_for,
)

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

PHONE, EMAIL, OPENID = "+8613800138000", "li@example.com", "o-li"
WROTE_ON_WECHAT = {"last_inbound_channel": "wechat", "last_inbound_at": NOW - timedelta(hours=3)}
ALLOWED = frozenset({"tmpl-feedback ev-1"})  # one subscription-message grant (dal/wechat_follow.py)


def facts(**kw) -> MemberFacts:
    return MemberFacts(**kw)


def plan(kind: str, member: MemberFacts, chain=None, store=None) -> list[tuple[str, str]]:
    return [
        (r.channel, r.reason)
        for r in routes(kind, member, settings_for(chain, store), NOW, can_send_customer_service)
    ]


@pytest.mark.parametrize(
    "kind, member, expected",
    [
        # an SMS-only member
        ("confirmation", facts(phone=PHONE), [("sms", "sms")]),
        ("confirmation", facts(phone=PHONE, email=EMAIL), [("sms", "sms"), ("email", "email")]),
        ("confirmation", facts(email=EMAIL), [("email", "email_only")]),
        ("confirmation", facts(), []),
        # a WeChat follower (following not known yet counts as following: the openid came through the store)
        (
            "reminder_2h",
            facts(phone=PHONE, wechat_openid=OPENID),
            [("wechat_template", "wechat_template"), ("sms", "sms")],
        ),
        ("reminder_2h", facts(phone=PHONE, wechat_openid=OPENID, wechat_following=False), [("sms", "sms")]),
        # inside the 48-hour window, customer-service text first, then the template
        (
            "reminder_2h",
            facts(phone=PHONE, wechat_openid=OPENID, wechat_following=True, **WROTE_ON_WECHAT),
            [("wechat", "wechat_window"), ("wechat_template", "wechat_template"), ("sms", "sms")],
        ),
        # the window has closed after 48 hours
        (
            "reminder_2h",
            facts(
                phone=PHONE,
                wechat_openid=OPENID,
                last_inbound_channel="wechat",
                last_inbound_at=NOW - timedelta(hours=49),
            ),
            [("wechat_template", "wechat_template"), ("sms", "sms")],
        ),
        # marketing never by template message: the window, or another channel
        ("birthday", facts(phone=PHONE, wechat_openid=OPENID, wechat_following=True), [("sms", "sms")]),
        (
            "campaign",
            facts(phone=PHONE, wechat_openid=OPENID, wechat_following=True, **WROTE_ON_WECHAT),
            [("wechat", "wechat_window"), ("sms", "sms")],
        ),
        # a kind neither transactional nor marketing (a review request) does not use the template either
        ("review_request", facts(phone=PHONE, wechat_openid=OPENID), [("sms", "sms")]),
        # a service follow-up goes by subscription message to a follower who allowed one, else by SMS
        (
            "feedback_request",
            facts(phone=PHONE, wechat_openid=OPENID, wechat_grants=ALLOWED),
            [("wechat_subscribe", "wechat_subscribed"), ("sms", "sms")],
        ),
        ("feedback_request", facts(phone=PHONE, wechat_openid=OPENID), [("sms", "sms")]),
        ("feedback_request", facts(phone=PHONE, wechat_grants=ALLOWED), [("sms", "sms")]),  # no openid
        # a grant is no way round the rules: marketing, or a review request, never by subscription message
        ("birthday", facts(phone=PHONE, wechat_openid=OPENID, wechat_grants=ALLOWED), [("sms", "sms")]),
        ("review_request", facts(phone=PHONE, wechat_openid=OPENID, wechat_grants=ALLOWED), [("sms", "sms")]),
        # a booking notice stays a template message (no grant spent on it)
        (
            "confirmation",
            facts(phone=PHONE, wechat_openid=OPENID, wechat_grants=ALLOWED),
            [("wechat_template", "wechat_template"), ("sms", "sms")],
        ),
        # "wechat" preferred: a subscription message is her WeChat too
        (
            "checkin_1_month",
            facts(phone=PHONE, wechat_openid=OPENID, wechat_grants=ALLOWED, preferred_channel="wechat"),
            [("wechat_subscribe", "preferred"), ("sms", "sms")],
        ),
        # an app user
        (
            "confirmation",
            facts(phone=PHONE, agora_user="m-7", last_inbound_channel="agora"),
            [("agora", "agora_app_user"), ("sms", "sms")],
        ),
        # her preference first, when it can carry the kind
        (
            "confirmation",
            facts(phone=PHONE, email=EMAIL, wechat_openid=OPENID, preferred_channel="email"),
            [("email", "preferred"), ("wechat_template", "wechat_template"), ("sms", "sms")],
        ),
        (
            "confirmation",
            facts(phone=PHONE, wechat_openid=OPENID, agora_user="m-7", preferred_channel="sms"),
            [("sms", "preferred"), ("wechat_template", "wechat_template"), ("agora", "agora_app_user")],
        ),
        # "wechat" preferred: the template when the window is closed
        (
            "confirmation",
            facts(phone=PHONE, wechat_openid=OPENID, agora_user="m-7", preferred_channel="wechat"),
            [("wechat_template", "preferred"), ("agora", "agora_app_user"), ("sms", "sms")],
        ),
        # a preference that cannot carry it (no e-mail; WeChat for marketing outside the window) is passed over
        ("confirmation", facts(phone=PHONE, preferred_channel="email"), [("sms", "sms")]),
        ("birthday", facts(phone=PHONE, wechat_openid=OPENID, preferred_channel="wechat"), [("sms", "sms")]),
    ],
)
def test_given_a_member_when_routing_a_kind_then_the_channels_come_in_the_table_order(kind, member, expected):
    assert plan(kind, member) == expected


@pytest.mark.parametrize(
    "chain, store, expected",
    [
        (None, None, [("wechat_template", "wechat_template"), ("agora", "agora_app_user"), ("sms", "sms")]),
        (
            {"order": ["sms", "wechat_template"]},
            None,
            [("sms", "sms"), ("wechat_template", "wechat_template")],
        ),
        # the store's order wins over the chain's
        ({"order": ["sms", "wechat_template"]}, {"order": ["agora", "email"]}, [("agora", "agora_app_user")]),
    ],
)
def test_given_chain_and_store_overrides_then_the_store_wins_over_the_chain_over_the_file(
    chain, store, expected
):
    member = facts(phone=PHONE, wechat_openid=OPENID, agora_user="m-7")
    assert plan("confirmation", member, chain, store) == expected


def test_a_store_that_does_not_follow_her_preference_uses_its_order():
    member = facts(phone=PHONE, wechat_openid=OPENID, preferred_channel="sms")
    assert plan("confirmation", member)[0] == ("sms", "preferred")
    assert plan("confirmation", member, None, {"prefer_member_choice": False}) == [
        ("wechat_template", "wechat_template"),
        ("sms", "sms"),
    ]


def test_receipt_waits_merge_channel_by_channel():
    settings = settings_for({"receipt_wait_seconds": {"sms": 900}}, {"receipt_wait_seconds": {"agora": 0}})
    assert settings.receipt_wait("sms") == 900
    assert settings.receipt_wait("agora") == 0
    assert settings.receipt_wait("wechat_template") == 300
    assert settings.receipt_wait("email") == 0


@pytest.mark.parametrize(
    "override, field",
    [
        ({"order": ["pigeon"]}, "store.channel_routing.order.0"),
        ({"order": ["sms", "sms"]}, "store.channel_routing.order"),
        ({"order": []}, "store.channel_routing.order"),
        ({"receipt_wait_seconds": {"sms": 901}}, "store.channel_routing.receipt_wait_seconds"),
        ({"receipt_wait_seconds": {"sms": "600"}}, "store.channel_routing.receipt_wait_seconds.sms"),
        ({"colour": "red"}, "store.channel_routing.colour"),
        ("sms", "store.channel_routing"),
    ],
)
def test_a_bad_override_is_a_clear_error_naming_the_field(override, field):
    with pytest.raises(ValidationFailed) as caught:
        settings_for(None, override)
    assert field in caught.value.fields


def test_the_next_route_skips_every_channel_tried():
    planned = [Route("wechat_template", "wechat_template"), Route("sms", "sms"), Route("email", "email")]
    assert next_route(planned, {"wechat_template"}, "fallback_no_receipt") == Route(
        "sms", "fallback_no_receipt"
    )
    assert next_route(planned, {"wechat_template", "sms"}, "fallback_permanent") == Route(
        "email", "fallback_permanent"
    )
    assert next_route(planned, {"wechat_template", "sms", "email"}, "fallback_permanent") is None


def test_the_marketing_kinds_are_the_opt_out_kinds_and_every_journey_kind_is_classified_once():
    routing = tomllib.loads((ROOT / "chalicelib/channels/routing.toml").read_text())
    lines = tomllib.loads((ROOT / "chalicelib/journeys/lines.toml").read_text())
    journeys = tomllib.loads((ROOT / "chalicelib/journeys/journeys.toml").read_text())
    assert set(routing["marketing"]) == set(lines["opt_out"]["kinds"])
    assert not set(routing["marketing"]) & set(routing["transactional"])
    assert not set(routing["subscribable"]) & (set(routing["marketing"]) | set(routing["transactional"]))
    journey_kinds = {step["kind"] for step in journeys["step"]}
    assert set(routing["transactional"]) <= journey_kinds
    assert set(routing["subscribable"]) <= journey_kinds


def test_a_receipt_check_names_its_step_and_the_channel_it_waited_on():
    from chalicelib.contracts.step import ReceiptCheck, StepMessage, message_type

    step = StepMessage("c", "s", "b", "m", "confirmation", "event:created", 3, "2026-11-22T02:00:00+00:00")
    body = ReceiptCheck(step, "sms").to_json()

    assert message_type(body) == "receipt_check" and message_type(step.to_json()) == "journey_step"
    assert ReceiptCheck.from_json(body) == ReceiptCheck(step, "sms")
    with pytest.raises(ValidationFailed):
        StepMessage.from_json(body)  # a step worker never takes a check for a step
    with pytest.raises(ValidationFailed):
        ReceiptCheck.from_json(step.to_json())


def test_routing_toml_keeps_the_rules_an_override_is_held_to():
    """The defaults are read without pydantic (a worker's cold start), so the file is held to the contract here."""
    from typing import get_args

    from chalicelib.contracts.channel_routing import ChannelName, RoutingOverride
    from chalicelib.services.channel_router import CHANNELS, ROUTING_FILE, parse_override

    raw = tomllib.loads(ROUTING_FILE.read_text("utf-8"))
    keys = ("order", "prefer_member_choice", "receipt_wait_seconds")
    parsed = parse_override({k: raw[k] for k in keys if k in raw}, "routing.toml")
    assert isinstance(parsed, RoutingOverride)
    defaults = settings_for(None, None)
    assert list(defaults.order) == parsed.order
    assert defaults.prefer_member_choice is parsed.prefer_member_choice
    assert dict(defaults.receipt_wait_seconds) == (parsed.receipt_wait_seconds or {})
    assert set(get_args(ChannelName)) == set(CHANNELS)
    from chalicelib.contracts.member_channel import MemberChoice
    from chalicelib.services.channel_router import MEMBER_CHOICES

    assert set(get_args(MemberChoice)) == set(MEMBER_CHOICES)


def test_routing_by_the_defaults_does_not_load_pydantic():
    import subprocess
    import sys

    code = (
        "import sys; from chalicelib.services import channel_router as r; r.settings_for(None, None); "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
