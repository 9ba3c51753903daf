"""A member texts back to a mainland SMS (上行短信): Alibaba's SmsUp push, played by the fake over real HTTP to the
chain's reply route, joins her conversation and is understood by the inbound worker; a reply pushed again is stored
once; the chain's receipt token guards the route; a malformed push changes nothing and names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.dal.models import MessageItem
from tests.support.builders import SH_STORE, booking_event

PHONE = "+8613800138000"


def _reply_path(chain: str, token: str) -> str:
    return f"/v1/channels/alibaba-sms/{chain}/replies?receipt_token={token}"


def _post(harness: Any, body: Any, token: str, chain: str = "demo-chain") -> tuple[int, Any]:
    response = harness.client.http.post(
        _reply_path(chain, token),
        headers={"Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    return response.status_code, json.loads(response.body)


def _inbound(member: str) -> list[MessageItem]:
    items = MessageItem.query(MessageItem.pk_for(SH_STORE, member), consistent_read=True)
    return [m for m in items if m.direction == "in"]


def _booked(harness: Any, member: str = "m-up") -> None:
    harness.post(booking_event(event_id=f"evt-{member}", member_id=member, phone=PHONE))
    harness.pump()


def test_her_reply_joins_her_conversation_and_is_understood(harness: Any, alibaba: Any) -> None:
    fake, token = alibaba
    _booked(harness)
    fake.reply(PHONE, "明天有事来不了 帮我取消吧")

    status, answer = _post(harness, fake.replies, token)
    harness.pump()  # the inbound worker

    assert status == 200 and answer["code"] == 0 and answer["replies"]["stored"] == 1
    [message] = _inbound("m-up")
    assert (message.channel, message.text, message.msg_type) == ("sms", "明天有事来不了 帮我取消吧", "text")
    assert message.processed and message.intent == "cancel"


def test_a_reply_pushed_again_is_stored_once(harness: Any, alibaba: Any) -> None:
    fake, token = alibaba
    _booked(harness)
    [item] = [fake.reply(PHONE, "好的 准时到")]

    first = _post(harness, [item], token)
    again = _post(harness, [item], token)  # Alibaba retries a push it thinks failed
    harness.pump()

    assert first[1]["replies"]["stored"] == 1 and again[1]["replies"] == {
        "stored": 0,
        "duplicate": 1,
        "unknown": 0,
    }
    assert len(_inbound("m-up")) == 1


def test_a_number_no_member_gave_is_dropped(harness: Any, alibaba: Any) -> None:
    fake, token = alibaba
    status, answer = _post(harness, [fake.reply("+8613900000000", "你好")], token)
    assert status == 200 and answer["replies"] == {"stored": 0, "duplicate": 0, "unknown": 1}


@pytest.mark.parametrize("token", ["", "not-the-token"])
def test_a_push_without_the_chains_token_is_refused(harness: Any, alibaba: Any, token: str) -> None:
    fake, _ = alibaba
    _booked(harness)
    status, body = _post(harness, [fake.reply(PHONE, "1")], token)
    assert status == 401 and body["error"] == "unauthorized"
    assert _inbound("m-up") == []


def test_another_chains_token_does_not_open_this_chain(harness: Any, alibaba: Any) -> None:
    _, token = alibaba
    assert _post(harness, [], token, chain="other-chain")[0] == 401


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"phone_number": "12345", "content": "hi", "sequence_id": 1, "send_time": "2026-11-22 10:00:00"},
            "[1].phone_number",
        ),
        (
            {"phone_number": "13800138000", "sequence_id": 1, "send_time": "2026-11-22 10:00:00"},
            "[1].content",
        ),
        (
            {
                "phone_number": "13800138000",
                "content": "hi",
                "sequence_id": "x",
                "send_time": "2026-11-22 10:00:00",
            },
            "[1].sequence_id",
        ),
        (
            {"phone_number": "13800138000", "content": "hi", "sequence_id": 2, "send_time": "yesterday"},
            "[1].send_time",
        ),
    ],
)
def test_a_malformed_push_changes_nothing_and_names_the_field(
    harness: Any,
    alibaba: Any,
    item: dict,
    field: str,
) -> None:
    fake, token = alibaba
    _booked(harness)
    status, body = _post(harness, [fake.reply(PHONE, "好的"), item], token)
    assert status == 400 and body["fields"]["body"].startswith(field)
    assert _inbound("m-up") == []


def test_what_the_fake_pushes_over_http_is_what_the_route_takes(harness: Any, alibaba: Any) -> None:
    """The fake's own push (SmsUp's JSON array, POSTed as the HTTP batch push does) is captured at a local address
    and handed to the route as it came."""
    from tests.support.receiver import capturing_receiver

    fake, token = alibaba
    _booked(harness)
    with capturing_receiver({"code": 0, "msg": "成功"}) as (base_url, received):
        fake.reply(PHONE, "谢谢 收到")
        status, answer = fake.push_replies(f"{base_url}/replies")
    assert (status, answer) == (200, {"code": 0, "msg": "成功"}) and fake.replies == []

    assert _post(harness, json.loads(received[0][1]), token)[0] == 200
    harness.pump()
    assert [m.text for m in _inbound("m-up")] == ["谢谢 收到"]


def test_a_staff_or_member_token_without_the_receipt_token_is_refused(harness: Any, alibaba: Any) -> None:
    """Only the chain's receipt token opens the route: the console's or a member's bearer token does not."""
    fake, _ = alibaba
    _booked(harness)
    member_token = harness.container.member_tokens.issue("demo-chain", "m-up")[0]
    for bearer in (harness.chain["staff_token"], member_token):
        response = harness.client.http.post(
            "/v1/channels/alibaba-sms/demo-chain/replies",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"},
            body=json.dumps([fake.reply(PHONE, "1")]).encode(),
        )
        assert response.status_code == 401, response.body
    assert _inbound("m-up") == []
