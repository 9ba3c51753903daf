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


def _post(harness, path: str, raw: bytes, *, ts: int | None = None, signed_body: bytes | None = None,
          content_type: str = "application/json"):
    stamp = str(ts if ts is not None else int(time.time()))
    headers = {"Content-Type": content_type, "X-Chairside-Chain": "demo-chain", "X-Chairside-Timestamp": stamp,
               "X-Chairside-Signature": sign("whsec-test", stamp, signed_body if signed_body is not None else raw)}
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


@pytest.mark.parametrize("text", ["\u202e\u0000\ufeff", "𝕏" * 100, "\ud800", "a\x00b", "\U0001f9d1\u200d\U0001f3a8"])
def test_odd_unicode_in_a_booking_is_validated_not_crashed(untouched, text):
    event = booking_event()
    event["booking"]["id"] = text  # ids are restricted to a safe alphabet
    raw = json.dumps(event, ensure_ascii=True).encode()
    assert _post(untouched, "/v1/webhooks/bookings", raw) == 400


@pytest.mark.parametrize("xml", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
    '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><xml/>',
    "<xml><Content>unclosed",
    "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",
])
def test_malformed_xml_bombs_and_external_entities_get_400(untouched, xml):
    status, _ = untouched.wechat(SH_STORE, xml)
    assert status == 400


def test_operator_templates_cannot_escape_the_sandbox():
    from chalicelib.journeys.texts import MessageContext, TemplateRejected, render_operator_template

    ctx = MessageContext("zh-CN", "Asia/Shanghai", {"name": "店"}, {"name": "李"}, {})
    for source in ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ cycler.__init__.__globals__.os }}",
                   "{% for x in range(10**9) %}{% endfor %}{{ member.name * 100000000 }}", "{{ undefined_thing }}"):
        with pytest.raises(TemplateRejected):
            render_operator_template(source, ctx)
    assert render_operator_template("{{ member.name }}您好", ctx) == "李您好"
