"""What owners and managers set for issue 17's features, on moto: GET/PATCH /v1/stores/{store}/settings (review
links, manager phone, hand-off limit) and /v1/chains/{chain}/settings (feedback), and that the hand-off and the
review request then use what was set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.resources import ENV_JWT_SECRET
from chalicelib.services.auth import issue_token
from tests.integration.conftest import START
from tests.integration.test_feedback import reply as feedback_reply
from tests.integration.test_feedback import review_texts, visited_and_asked
from tests.integration.test_hand_offs import alarms, complain, texts_to
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

STORE = f"/v1/stores/{SH_STORE}/settings"
CHAIN = "/v1/chains/demo-chain/settings"
DIANPING = "https://www.dianping.com/shop/demo-sh-jingan/review"
ROUTING_TOML = {
    "order": ["wechat", "wechat_template", "wechat_subscribe", "agora", "sms", "email"],
    "prefer_member_choice": True,
}
MEITUAN = "https://www.meituan.com/shop/demo-sh-jingan/review"


def token(harness, role: str, stores: tuple[str, ...] = (SH_STORE,), chain: str = "demo-chain") -> str:
    return issue_token(
        harness.env[ENV_JWT_SECRET],
        subject=f"settings-{role}",
        chain_id=chain,
        role=role,
        store_ids=list(stores),
        now=datetime.now(UTC),
    )


def call(
    harness,
    method: str,
    path: str,
    body: dict | None = None,
    tok: str | None = None,
    raw: bytes | None = None,
):
    headers = {
        "Authorization": f"Bearer {tok or harness.chain['staff_token']}",
        "Content-Type": "application/json",
    }
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    response = harness.client.http.request(method, path, headers=headers, body=data)
    return response.status_code, json.loads(response.body) if response.body else None


def stored_store() -> dict:
    return StoreItem.get(*StoreItem.key(SH_STORE), consistent_read=True).attribute_values


def stored_chain() -> dict:
    return ChainItem.get(*ChainItem.key("demo-chain"), consistent_read=True).attribute_values


# --- the store's settings ------------------------------------------------------------------------------------


def test_a_store_manager_reads_the_seeded_settings_with_the_defaults(harness):
    status, body = call(harness, "GET", STORE, tok=token(harness, "store_manager"))

    assert status == 200, body
    assert body == {
        "store_id": SH_STORE,
        "chain_id": "demo-chain",
        "review_links": [
            {"label": "大众点评", "url": DIANPING, "locales": ["zh-CN"]},
            {"label": "Google", "url": "https://g.page/r/demo-sh-jingan/review", "locales": []},
        ],
        "manager_phone": None,
        "handoff_limit_minutes": None,
        "channel_routing": None,
        "defaults": {"handoff_limit_minutes": 15, "channel_routing": ROUTING_TOML},
    }


def test_a_patch_sets_only_the_fields_it_names_and_the_same_patch_twice_gives_the_same_result(harness):
    before = stored_store()
    patch = {"manager_phone": "+86 139 0000 0001", "handoff_limit_minutes": 20}

    first = call(harness, "PATCH", STORE, patch, tok=token(harness, "store_manager"))
    after_first = stored_store()
    second = call(harness, "PATCH", STORE, patch, tok=token(harness, "store_manager"))

    assert first == second
    status, body = first
    assert status == 200, body
    assert body["manager_phone"] == "+8613900000001"  # stored in E.164
    assert body["handoff_limit_minutes"] == 20
    assert [link["url"] for link in body["review_links"]][0] == DIANPING  # not named: kept
    assert stored_store() == after_first
    assert {k: v for k, v in after_first.items() if k not in ("manager_phone", "handoff_limit_minutes")} == {
        k: v for k, v in before.items() if k not in ("manager_phone", "handoff_limit_minutes")
    }
    assert call(harness, "GET", STORE)[1] == body


def test_null_puts_a_field_back_to_its_default_and_new_review_links_replace_the_list(harness):
    call(harness, "PATCH", STORE, {"manager_phone": "+8613900000001", "handoff_limit_minutes": 30})
    links = [{"label": "美团", "url": MEITUAN, "locales": ["zh-CN"]}, {"url": "https://g.page/r/x/review"}]

    status, body = call(
        harness, "PATCH", STORE, {"manager_phone": None, "handoff_limit_minutes": None, "review_links": links}
    )

    assert status == 200, body
    assert body["manager_phone"] is None and body["handoff_limit_minutes"] is None
    assert body["review_links"] == [
        {"label": "美团", "url": MEITUAN, "locales": ["zh-CN"]},
        {"label": "", "url": "https://g.page/r/x/review", "locales": []},
    ]
    item = stored_store()
    assert "manager_phone" not in item and "handoff_limit_minutes" not in item
    status, body = call(harness, "PATCH", STORE, {"review_links": []})
    assert status == 200 and body["review_links"] == [] and "review_links" not in stored_store()


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"review_links": [{"url": "http://www.dianping.com/review"}]}, "review_links.0.url"),
        ({"review_links": [{"url": "https://" + "a" * 300 + ".com/"}]}, "review_links.0.url"),
        ({"review_links": [{"url": "https://user:pw@g.page/r/x"}]}, "review_links.0.url"),
        ({"review_links": [{"url": "javascript:alert(1)"}]}, "review_links.0.url"),
        ({"review_links": [{"url": "https://g.page/r/x", "locales": ["fr"]}]}, "review_links.0.locales"),
        ({"review_links": [{"url": "https://g.page/r/x", "colour": "red"}]}, "review_links.0.colour"),
        ({"review_links": [{"label": "Google"}]}, "review_links.0.url"),
        ({"review_links": "https://g.page/r/x"}, "review_links"),
        ({"manager_phone": "13900000001"}, "manager_phone"),
        ({"manager_phone": "+86 139"}, "manager_phone"),
        ({"handoff_limit_minutes": 0}, "handoff_limit_minutes"),
        ({"handoff_limit_minutes": 241}, "handoff_limit_minutes"),
        ({"handoff_limit_minutes": "15"}, "handoff_limit_minutes"),
        ({"handoff_limit_minutes": 15.5}, "handoff_limit_minutes"),
        ({"handoff_limit_minutes": True}, "handoff_limit_minutes"),
        ({"phone": "+8613900000001"}, "phone"),
        ({"channel_routing": {"order": ["pigeon"]}}, "channel_routing.order.0"),
        ({"channel_routing": {"order": ["sms", "sms"]}}, "channel_routing.order"),
        ({"channel_routing": {"order": []}}, "channel_routing.order"),
        ({"channel_routing": {"receipt_wait_seconds": {"sms": 901}}}, "channel_routing.receipt_wait_seconds"),
        ({"channel_routing": {"transactional": ["campaign"]}}, "channel_routing.transactional"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(harness, patch, field):
    before = stored_store()

    status, body = call(harness, "PATCH", STORE, patch)

    assert status == 400, body
    assert body["error"] == "invalid_request" and field in body["fields"], body
    assert stored_store() == before


def test_a_body_that_is_not_a_json_object_is_400(harness):
    assert call(harness, "PATCH", STORE, raw=b"[1]")[0] == 400
    assert call(harness, "PATCH", STORE, raw=b"{")[0] == 400


def test_who_may_read_and_write_a_stores_settings(harness):
    patch = {"handoff_limit_minutes": 10}
    for role in ("stylist", "front_desk"):
        assert call(harness, "GET", STORE, tok=token(harness, role))[0] == 403, role
        status, body = call(harness, "PATCH", STORE, patch, tok=token(harness, role))
        assert (status, body["action"]) == (403, "settings.write"), role
    # another store's manager, another chain's admin, a store that does not exist: 404, as if there were none
    nobody = call(harness, "PATCH", "/v1/stores/no-such-store/settings", patch)
    assert nobody == (404, {"error": "not_found", "message": "no such store"})
    assert call(harness, "PATCH", STORE, patch, tok=token(harness, "store_manager", (LDN_STORE,))) == nobody
    assert call(harness, "GET", STORE, tok=token(harness, "chain_admin", (), chain="other-chain")) == nobody
    member = harness.container.member_tokens.issue("demo-chain", "m-1")[0]
    assert call(harness, "GET", STORE, tok=member)[0] == 401
    assert call(harness, "PATCH", STORE, patch, tok=member)[0] == 401
    assert "handoff_limit_minutes" not in stored_store()
    with pytest.raises(StoreItem.DoesNotExist):  # a PATCH never creates a store
        StoreItem.get(*StoreItem.key("no-such-store"))


# --- the chain's feedback settings --------------------------------------------------------------------------


def test_a_chain_admin_sets_the_feedback_settings_key_by_key(harness):
    status, body = call(harness, "GET", CHAIN)
    assert status == 200, body
    assert body == {
        "chain_id": "demo-chain",
        "channel_routing": None,
        "feedback_settings": {"no_answer": None, "thank_you_coupon": None},
        "defaults": {"feedback_settings": {"no_answer": "send_review"}, "channel_routing": ROUTING_TOML},
    }

    call(harness, "PATCH", CHAIN, {"feedback_settings": {"no_answer": "skip"}})
    coupon = {"thank_you_coupon": {"offer": "护理八折"}}
    first = call(harness, "PATCH", CHAIN, {"feedback_settings": coupon})
    assert first == call(harness, "PATCH", CHAIN, {"feedback_settings": coupon})  # the same PATCH twice
    status, body = first
    assert status == 200, body
    assert body["feedback_settings"] == {
        "no_answer": "skip",
        "thank_you_coupon": {"offer": "护理八折", "valid_days": 30},
    }
    assert stored_chain()["feedback_settings"] == {
        "no_answer": "skip",
        "thank_you_coupon": {"offer": "护理八折", "valid_days": 30},
    }
    assert call(harness, "GET", CHAIN)[1] == body

    status, body = call(harness, "PATCH", CHAIN, {"feedback_settings": {"thank_you_coupon": None}})
    assert body["feedback_settings"] == {"no_answer": "skip", "thank_you_coupon": None}
    status, body = call(harness, "PATCH", CHAIN, {"feedback_settings": None})
    assert body["feedback_settings"] == {"no_answer": None, "thank_you_coupon": None}
    assert "feedback_settings" not in stored_chain()


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"feedback_settings": {"no_answer": "maybe"}}, "feedback_settings.no_answer"),
        (
            {"feedback_settings": {"thank_you_coupon": {"offer": ""}}},
            "feedback_settings.thank_you_coupon.offer",
        ),
        (
            {"feedback_settings": {"thank_you_coupon": {"offer": "八折", "valid_days": 0}}},
            "feedback_settings.thank_you_coupon.valid_days",
        ),
        ({"feedback_settings": {"gating": True}}, "feedback_settings.gating"),
        ({"no_answer": "skip"}, "no_answer"),
        ({"channel_routing": {"order": ["pigeon"]}}, "channel_routing.order.0"),
        ({"channel_routing": {"marketing": []}}, "channel_routing.marketing"),
        ({"feedback_settings": {"no_answer": "skip"}, "channel_routing": "sms"}, "channel_routing"),
    ],
)
def test_a_bad_chain_field_is_named_and_nothing_is_written(harness, patch, field):
    before = stored_chain()

    status, body = call(harness, "PATCH", CHAIN, patch)

    assert status == 400 and field in body["fields"], body
    assert stored_chain() == before


def test_only_a_chain_admin_of_that_chain_reads_or_sets_its_feedback_settings(harness):
    patch = {"feedback_settings": {"no_answer": "skip"}}
    for role in ("stylist", "front_desk", "store_manager"):
        assert call(harness, "GET", CHAIN, tok=token(harness, role))[0] == 403, role
        assert call(harness, "PATCH", CHAIN, patch, tok=token(harness, role))[0] == 403, role
    other = token(harness, "chain_admin", (), chain="other-chain")
    nobody = call(harness, "PATCH", "/v1/chains/no-such-chain/settings", patch)
    assert nobody == (404, {"error": "not_found", "message": "no such chain"})
    assert call(harness, "PATCH", CHAIN, patch, tok=other) == nobody
    assert call(harness, "GET", CHAIN, tok=other) == nobody
    assert (
        call(harness, "GET", CHAIN, tok=harness.container.member_tokens.issue("demo-chain", "m-1")[0])[0]
        == 401
    )
    assert "feedback_settings" not in stored_chain()


# --- what the features then use -----------------------------------------------------------------------------


def test_a_patched_hand_off_limit_and_manager_phone_are_what_the_hand_off_uses(harness):
    harness.post(booking_event())
    harness.container.stores.get(SH_STORE)  # cached in this container before the change
    status, body = call(
        harness, "PATCH", STORE, {"handoff_limit_minutes": 5, "manager_phone": "+8613900000001"}
    )
    assert status == 200, body

    complain(harness)  # nobody online: the manager is texted on her own phone

    assert len(texts_to(harness, "+8613900000001")) == 1
    harness.advance_to(START + timedelta(minutes=4))
    assert [t for t in texts_to(harness, "+8613900000001") if "分钟无人回复" in t] == []
    harness.advance_to(START + timedelta(minutes=5, seconds=1))
    assert len([t for t in texts_to(harness, "+8613900000001") if "分钟无人回复" in t]) == 1
    assert alarms(harness) == []  # not the store's phone


def test_patched_review_links_are_what_the_review_request_carries(harness):
    status, body = call(harness, "PATCH", STORE, {"review_links": [{"label": "美团", "url": MEITUAN}]})
    assert status == 200, body
    visited_and_asked(harness)

    harness.post_message(feedback_reply("5"))
    harness.advance_to("2026-12-02T11:01:00+08:00")

    [text] = review_texts(harness)
    assert MEITUAN in text and "美团" in text and DIANPING not in text


def test_a_patched_no_answer_rule_is_what_the_review_request_follows(harness):
    visited_and_asked(harness)
    directory = harness.container.local_stores  # the sending worker's: it holds the chain for a minute
    assert directory.feedback_settings(directory.get(SH_STORE)) is None
    status, body = call(harness, "PATCH", CHAIN, {"feedback_settings": {"no_answer": "skip"}})
    assert status == 200, body

    harness.advance_to("2026-12-03T12:00:00+08:00")

    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def confirmation_channel(harness, name: str, start: str) -> str:
    """The channel of a new member's booking confirmation (her booking `bk-<name>`, with a phone and an email)."""
    event = booking_event(
        event_id=f"evt-{name}",
        booking_id=f"bk-{name}",
        member_id=f"m-{name}",
        email=f"{name}@example.com",
        start=start,
    )
    assert harness.post(event)[0] == 202
    harness.pump()
    [sent] = [m for m in harness.messages(SH_STORE, f"m-{name}") if m["kind"] == "confirmation"]
    return sent["channel"]


def test_a_patched_channel_routing_is_what_the_router_follows_and_null_gives_the_default_back(harness):
    """Issue 15's per-store override, set through the API: this store's confirmations go by email first."""
    routing = {"order": ["email", "sms"], "prefer_member_choice": False}
    manager = token(harness, "store_manager")
    status, body = call(harness, "PATCH", STORE, {"channel_routing": routing}, tok=manager)
    assert status == 200 and body["channel_routing"] == routing, body

    assert confirmation_channel(harness, "r1", "2026-11-25T15:00:00+08:00") == "email"

    status, body = call(harness, "PATCH", STORE, {"channel_routing": None}, tok=manager)
    assert status == 200 and body["channel_routing"] is None and "channel_routing" not in stored_store()
    assert (
        confirmation_channel(harness, "r2", "2026-11-26T15:00:00+08:00") == "sms"
    )  # routing.toml: SMS before email


def test_a_chains_channel_routing_is_followed_by_every_store_under_its_own(harness):
    """Issue 15: the chain's override applies where a store sets none; a store's own wins over it."""
    routing = {"order": ["email", "sms"], "prefer_member_choice": False}
    status, body = call(harness, "PATCH", CHAIN, {"channel_routing": routing})
    assert status == 200 and body["channel_routing"] == routing, body
    assert body["feedback_settings"] == {"no_answer": None, "thank_you_coupon": None}  # untouched
    assert call(harness, "GET", CHAIN)[1] == body
    assert call(harness, "PATCH", CHAIN, {"channel_routing": routing}) == (200, body)  # the same PATCH twice

    assert confirmation_channel(harness, "c1", "2026-11-25T15:00:00+08:00") == "email"
    store_routing = {"order": ["sms", "email"]}
    assert call(harness, "PATCH", STORE, {"channel_routing": store_routing})[0] == 200
    assert (
        confirmation_channel(harness, "c2", "2026-11-26T15:00:00+08:00") == "sms"
    )  # the store's own, over the chain's

    status, body = call(harness, "PATCH", CHAIN, {"channel_routing": None})
    assert status == 200 and body["channel_routing"] is None and "channel_routing" not in stored_chain()
