"""Hostile input, surface by surface: each gets a clear 4xx, and nothing is stored or sent."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.services.signatures import sign
from tests.support.builders import SH_STORE, booking_event


def _table_items(harness) -> int:
    # Test oracle only (counting the in-memory table); the application never scans.
    ddb = harness.session.client("dynamodb")
    return ddb.scan(TableName=harness.container.settings.main_table, Select="COUNT")["Count"]


@pytest.fixture
def untouched(harness):
    """Asserts, after the test, that nothing was stored, scheduled or sent."""
    before = _table_items(harness)
    yield harness
    harness.pump()
    assert _table_items(harness) == before
    assert harness.schedules() == []
    assert harness.sms() == []


def _post(
    harness,
    path: str,
    raw: bytes,
    *,
    ts: int | None = None,
    signed_body: bytes | None = None,
    content_type: str = "application/json",
):
    stamp = str(ts if ts is not None else int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Chairside-Chain": "demo-chain",
        "X-Chairside-Timestamp": stamp,
        "X-Chairside-Signature": sign("whsec-test", stamp, signed_body if signed_body is not None else raw),
    }
    return harness.client.http.post(path, headers=headers, body=raw).status_code


WEBHOOKS = ["/v1/webhooks/bookings", "/v1/webhooks/messages"]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_oversized_bodies_get_413(untouched, path):
    assert _post(untouched, path, b'{"x": "' + b"a" * 300_000 + b'"}') == 413


@pytest.mark.parametrize("path", WEBHOOKS)
def test_deeply_nested_json_gets_400(untouched, path):
    assert _post(untouched, path, b"[" * 30_000 + b"]" * 30_000) == 400
    assert _post(untouched, path, b'{"a":' * 10_000 + b"1" + b"}" * 10_000) == 400


@pytest.mark.parametrize("path", WEBHOOKS)
def test_signatures_replayed_after_the_window_or_on_another_body_get_401(untouched, path):
    body = json.dumps(booking_event()).encode()
    assert _post(untouched, path, body, ts=int(time.time()) - 600) == 401
    assert _post(untouched, path, body, signed_body=body + b" ") == 401


@pytest.mark.parametrize(
    "text", ["\u202e\u0000\ufeff", "𝕏" * 100, "\ud800", "a\x00b", "\U0001f9d1\u200d\U0001f3a8"]
)
def test_odd_unicode_in_a_booking_is_validated_not_crashed(untouched, text):
    event = booking_event()
    event["booking"]["id"] = text  # ids are restricted to a safe alphabet
    raw = json.dumps(event, ensure_ascii=True).encode()
    assert _post(untouched, "/v1/webhooks/bookings", raw) == 400


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><xml/>',
        "<xml><Content>unclosed",
        "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",
    ],
)
def test_malformed_xml_bombs_and_external_entities_get_400(untouched, xml):
    status, _ = untouched.wechat(SH_STORE, xml)
    assert status == 400


def test_operator_templates_cannot_escape_the_sandbox():
    from chalicelib.journeys.texts import MessageContext, TemplateRejected, render_operator_template

    ctx = MessageContext("zh-CN", "Asia/Shanghai", {"name": "店"}, {"name": "李"}, {})
    for source in (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{% for x in range(10**9) %}{% endfor %}{{ member.name * 100000000 }}",
        "{{ undefined_thing }}",
    ):
        with pytest.raises(TemplateRejected):
            render_operator_template(source, ctx)
    assert render_operator_template("{{ member.name }}您好", ctx) == "李您好"


# --- Issue 12: cursors, heavy templates, control characters ---------------------------------------------------
CAMPAIGNS = "/v1/chains/demo-chain/campaigns"


def _get(harness, path: str):
    response = harness.client.http.get(
        path, headers={"Authorization": f"Bearer {harness.chain['staff_token']}"}
    )
    return response.status_code, json.loads(response.body) if response.body else None


def _first_cursor(harness, path: str) -> str:
    status, body = _get(harness, path)
    assert status == 200 and body["next_cursor"], (path, body)
    return body["next_cursor"]


@pytest.fixture
def listings(harness):
    """Two of everything that pages: members with messages, conversations in two stores, two campaigns."""
    from tests.support.builders import LDN_STORE
    from tests.support.care import visit

    for member_id in ("p-1", "p-2"):
        visit(harness, member_id)
        for n, store in enumerate((SH_STORE, SH_STORE, LDN_STORE)):
            assert (
                harness.post_message(
                    {
                        "event_id": f"evt-{member_id}-{n}",
                        "store_id": store,
                        "member_id": member_id,
                        "channel": "sms",
                        "message": {"id": f"msg-{member_id}-{n}", "type": "text", "text": f"周日营业吗 {n}"},
                        "sent_at": "2026-11-22T10:05:00+08:00",
                    }
                )[0]
                == 200
            )
    template = {"zh-CN": "{{ member.name }}您好", "en": "Hi {{ member.name }}"}
    for campaign_id in ("cursor-a", "cursor-b"):
        status, _ = harness.staff(
            "POST", CAMPAIGNS, {"campaign_id": campaign_id, "segment": {}, "template": template}
        )
        assert status in (200, 201)
    harness.pump()
    return harness


def _paged_routes(harness):
    """Each paged route twice: (this listing, another listing of the same route)."""
    from tests.support.builders import LDN_STORE

    _, inbox = _get(harness, f"/v1/stores/{SH_STORE}/conversations")
    status = inbox["items"][0]["status"]
    return [
        (
            f"/v1/stores/{SH_STORE}/members/p-1/messages?limit=1",
            f"/v1/stores/{SH_STORE}/members/p-2/messages?limit=1",
        ),
        (
            f"/v1/stores/{SH_STORE}/conversations?status={status}&limit=1",
            f"/v1/stores/{LDN_STORE}/conversations?status={status}&limit=1",
        ),
        (
            f"/v1/stores/{SH_STORE}/conversations/p-1/messages?limit=1",
            f"/v1/stores/{SH_STORE}/conversations/p-2/messages?limit=1",
        ),
        (f"{CAMPAIGNS}/cursor-a/results?limit=1", f"{CAMPAIGNS}/cursor-b/results?limit=1"),
    ]


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_bad_or_tampered_cursors_get_400_naming_the_cursor_on_every_paged_route(listings):
    import base64

    for here, there in _paged_routes(listings):
        mine, theirs = _first_cursor(listings, here), _first_cursor(listings, there)
        assert _get(listings, f"{here}&cursor={mine}")[0] == 200  # a cursor continues its own listing
        body, dot, mac = mine.partition(".")
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        edited = decoded.replace(b"p-1", b"p-2").replace(b"cursor-a", b"cursor-b").replace(b"2026", b"2027")
        assert edited != decoded
        bad = {
            "garbage": "!!not-a-cursor$$",
            "truncated base64": mine[: len(mine) // 2],
            "base64 of not JSON": _b64(b"{not json"),
            "base64 of the wrong JSON": _b64(b'{"pk": {"N": "1"}}'),
            "another listing's cursor": theirs,
            "edited to point elsewhere": _b64(edited) + dot + mac,
            "huge": "A" * 5000,
        }
        for name, cursor in bad.items():
            from urllib.parse import quote

            status, answer = _get(listings, f"{here}&cursor={quote(cursor)}")
            assert status == 400 and "cursor" in answer["fields"], (here, name, status, answer)


HEAVY_TEMPLATES = [
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% for a in range(3000) %}{% for b in range(3000) %}{% endfor %}{% endfor %}done",
    "{% for a in range(5000) %}{{ (range(100000) | sum) > 0 and '' }}{% endfor %}",
    "{% macro deep(n) %}{{ deep(n + 1) }}{% endmacro %}{{ deep(0) }}",
    "{% for x in [1, 2] recursive %}{{ loop([x, x]) }}{% endfor %}",
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", HEAVY_TEMPLATES)
@pytest.mark.parametrize("path", [f"{CAMPAIGNS}/preview", CAMPAIGNS])
def test_templates_over_the_render_budget_get_400_naming_the_field(harness, source, path):
    template = {"zh-CN": "{{ member.name }}您好", "en": source}
    status, body = harness.staff("POST", path, {"campaign_id": "heavy", "segment": {}, "template": template})
    assert status == 400 and "template.en" in body["fields"], (status, body)


CONTROLS = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\x00\x01\x07\x08\x0b\x1b\x7f\x85\x9b"
)


def _hostile(text: str) -> str:
    return "\u202e" + text[:1] + "\x00\u2066" + text[1:] + "\x1b[31m\u2069\x85\x7f"


def _assert_clean(value: str, expected: str) -> None:
    assert not any(c in CONTROLS for c in value), repr(value)
    assert value == expected, repr(value)


def test_control_characters_in_a_booking_are_removed_from_names_and_notes(harness):
    from chalicelib.dal.models import BookingItem

    event = booking_event(booking_id="bk-ctl")
    event["booking"]["member"]["name"] = _hostile("李女士")
    event["booking"]["stylist"]["name"] = _hostile("小王")
    event["booking"]["service"]["name"] = _hostile("染发")
    event["booking"]["notes"] = _hostile("对氨水过敏\n第二行\t缩进")
    assert harness.post(event)[0] == 202

    booking = BookingItem.get(*BookingItem.key("demo-chain", "bk-ctl"))
    _assert_clean(booking.member.name, "李女士[31m")
    _assert_clean(booking.stylist_name, "小王[31m")
    _assert_clean(booking.service_name, "染发[31m")
    _assert_clean(booking.notes, "对氨水过敏\n第二行\t缩进[31m")


def test_control_characters_in_member_messages_are_removed_on_every_channel(harness):
    harness.post(booking_event(member_id="m-ctl"))
    assert (
        harness.post_message(
            {
                "event_id": "evt-ctl",
                "store_id": SH_STORE,
                "member_id": "m-ctl",
                "channel": "sms",
                "member_name": _hostile("Lily"),
                "message": {"id": "msg-ctl", "type": "text", "text": _hostile("hello\nthere")},
                "sent_at": "2026-11-22T10:05:00+08:00",
            }
        )[0]
        == 200
    )
    wechat = (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[o-ctl]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[\u202e周日\u2066营业吗\u2069\x85]]></Content><MsgId>6054768590064719999</MsgId></xml>"
    )
    assert harness.wechat(SH_STORE, wechat)[0] == 200
    harness.pump()

    inbound = [m for m in harness.messages(SH_STORE, "m-ctl") if m["direction"] == "in"]
    _assert_clean(inbound[0]["text"], "hello\nthere[31m")
    _, inbox = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations")
    names = {c["id"]: c.get("member_name") for c in inbox["items"]}
    _assert_clean(names["m-ctl"], "Lily[31m")
    from_wechat = [m for m in harness.messages(SH_STORE, "wx-o-ctl") if m["direction"] == "in"]
    _assert_clean(from_wechat[0]["text"], "周日营业吗")


def test_control_characters_in_staff_replies_notes_and_campaigns_are_removed(harness):
    harness.post(booking_event(member_id="m-ctl"))
    assert (
        harness.post_message(
            {
                "event_id": "evt-ctl",
                "store_id": SH_STORE,
                "member_id": "m-ctl",
                "channel": "sms",
                "message": {"id": "msg-ctl", "type": "text", "text": "你好"},
                "sent_at": "2026-11-22T10:05:00+08:00",
            }
        )[0]
        == 200
    )

    status, _ = harness.staff(
        "POST", f"/v1/stores/{SH_STORE}/conversations/m-ctl/messages", {"text": _hostile("明天见\n小王")}
    )
    assert status in (200, 201, 202)
    status, profile = harness.staff(
        "POST", f"/v1/stores/{SH_STORE}/members/m-ctl/notes", {"text": _hostile("喜欢\t安静")}
    )
    assert status == 200
    status, campaign = harness.staff(
        "POST",
        CAMPAIGNS,
        {
            "campaign_id": "ctl",
            "name": _hostile("Winter"),
            "segment": {},
            "template": {"zh-CN": _hostile("{{ member.name }}您好\n新品"), "en": "Hi"},
        },
    )
    assert status in (200, 201)

    replies = [
        m
        for m in harness.messages(SH_STORE, "m-ctl")
        if m["direction"] == "out" and m.get("kind") != "confirmation"
    ]
    assert any(m["text"] == "【花漾·静安店】明天见\n小王[31m" for m in replies), replies
    for m in replies:
        assert not any(c in CONTROLS for c in m["text"]), repr(m["text"])
    _assert_clean(profile["notes"][-1]["text"], "喜欢\t安静[31m")
    _assert_clean(campaign["name"], "Winter[31m")
    _assert_clean(campaign["template"]["zh-CN"], "{{ member.name }}您好\n新品[31m")
