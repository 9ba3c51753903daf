"""A member's own choice of channel (issue 15 §1): GET/PUT /v1/stores/{store}/me/channel, and the router follows it."""

from __future__ import annotations

import json

import pytest

from chalicelib.dal.models import MemberItem
from tests.support.builders import SH_STORE, booking_event

MINE = f"/v1/stores/{SH_STORE}/me/channel"


def _call(harness, method: str, token: str, body: object = None, path: str = MINE) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else b""
    response = harness.client.http.request(method, path, headers=headers, body=data)
    return response.status_code, json.loads(response.body)


def _token(harness, member_id: str = "m-1", **kw) -> str:
    return harness.container.member_tokens.issue("demo-chain", member_id, **kw)[0]


def _stored(member_id: str = "m-1") -> str | None:
    return MemberItem.get(*MemberItem.key("demo-chain", member_id), consistent_read=True).preferred_channel


def test_she_sets_her_channel_and_her_next_confirmation_goes_there(harness):
    harness.post(booking_event(event_id="evt-ch-1", booking_id="bk-ch-1", email="li@example.com"))
    harness.pump()
    token = _token(harness)
    assert _call(harness, "GET", token) == (
        200,
        {"preferred_channel": None, "choices": ["wechat", "agora", "sms", "email"]},
    )

    first = _call(harness, "PUT", token, {"preferred_channel": "email"})
    assert first == (200, {"preferred_channel": "email", "choices": ["wechat", "agora", "sms", "email"]})
    assert _call(harness, "PUT", token, {"preferred_channel": "email"}) == first  # the same PUT twice
    assert _stored() == "email"

    harness.post(
        booking_event(
            event_id="evt-ch-2",
            booking_id="bk-ch-2",
            email="li@example.com",
            start="2026-11-26T15:00:00+08:00",
        )
    )
    harness.pump()
    sent = [m for m in harness.messages(SH_STORE, "m-1") if m["kind"] == "confirmation"]
    assert sorted(m["channel"] for m in sent) == [
        "email",
        "sms",
    ]  # the first by SMS (the store's order), then hers

    assert _call(harness, "PUT", token, {"preferred_channel": None})[1]["preferred_channel"] is None
    assert _stored() is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"preferred_channel": "wechat_template"}, "preferred_channel"),  # ours, not hers to choose
        ({}, "preferred_channel"),
        ({"preferred_channel": "sms", "colour": "red"}, "colour"),
        (["sms"], "body"),
    ],
)
def test_a_bad_choice_is_a_400_naming_the_field_and_changes_nothing(harness, body, field):
    harness.post(booking_event(event_id="evt-ch-3"))
    token = _token(harness)
    _call(harness, "PUT", token, {"preferred_channel": "sms"})

    status, answer = _call(harness, "PUT", token, body)

    assert status == 400 and field in answer["fields"], answer
    assert _stored() == "sms"


def test_another_chains_token_a_booking_link_a_staff_token_and_an_unknown_member_are_refused(harness):
    harness.post(booking_event(event_id="evt-ch-4"))
    other_chain = harness.container.member_tokens.issue("other-chain", "m-1")[0]
    link_only = _token(harness, booking_id="bk-1")
    choice = {"preferred_channel": "email"}

    assert _call(harness, "PUT", other_chain, choice)[0] == 404
    assert _call(harness, "PUT", link_only, choice)[0] == 404
    assert _call(harness, "PUT", _token(harness, "m-nobody"), choice)[0] == 404
    assert _call(harness, "PUT", harness.chain["staff_token"], choice)[0] == 401
    assert _call(harness, "GET", other_chain)[0] == 404
    assert (
        _call(harness, "PUT", _token(harness), choice, path="/v1/stores/no-such-store/me/channel")[0] == 404
    )
    assert _stored() is None
