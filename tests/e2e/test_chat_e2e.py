"""Two-way chat end to end: each channel's real payload over HTTP to the running local stack."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.e2e.conftest import eventually, http
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e
INBOX = f"/v1/stores/{SH_STORE}/conversations"


def _wechat_text(openid: str, text: str, msg_id: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def _message(member_id: str, text: str, channel: str = "sms") -> dict:
    return {
        "event_id": f"e-{uuid.uuid4().hex[:8]}",
        "store_id": SH_STORE,
        "member_id": member_id,
        "channel": channel,
        "message": {"id": f"m-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
        "sent_at": "2026-11-22T10:00:00+08:00",
    }


def _booking(member_id: str, openid: str | None, stack) -> dict:
    start = stack.local(SH_STORE, 5, 11)
    event = booking_event(
        booking_id=f"bk-{member_id}",
        member_id=member_id,
        stylist=f"st-{member_id}",
        start=start,
        occurred_at=stack.now(),
        phone="+8613700137000",
    )
    event["booking"]["member"]["wechat_openid"] = openid
    return event


def test_wechat_triple_retry_is_one_message_and_dry_hair_gets_care_advice(stack):
    member, openid = f"wx-e2e-{uuid.uuid4().hex[:6]}", f"o{uuid.uuid4().hex[:12]}"
    assert stack.post_booking(_booking(member, openid, stack))[0] == 202
    xml = _wechat_text(openid, "头发有点干怎么办", msg_id=str(uuid.uuid4().int)[:18])

    answers = [stack.wechat(SH_STORE, xml) for _ in range(3)]  # WeChat retries after 5 s without an answer

    assert answers == [(200, b"success")] * 3
    page = eventually(
        lambda: (lambda p: p if any(m.get("intent") for m in p["items"]) else None)(
            stack.staff("GET", f"{INBOX}/{member}/messages")[1]
        ),
        what="the reply understood",
    )
    inbound = [m for m in page["items"] if m["direction"] == "in"]
    assert len(inbound) == 1 and inbound[0]["intent"] == "aftercare_issue"
    # Sent through WeChat's customer-service API (the local fake checked the token and the body).
    replies = [m for m in page["items"] if m["direction"] == "out" and m["kind"] == "reply_aftercare"]
    assert len(replies) == 1 and replies[0]["channel"] == "wechat" and replies[0]["status"] == "sent"


def test_a_complaint_is_handed_to_a_human_and_staff_can_answer(stack):
    member = f"cp-{uuid.uuid4().hex[:6]}"
    stack.post_booking(_booking(member, None, stack))

    status, body = stack.signed("/v1/webhooks/messages", _message(member, "烫坏了，我要投诉！"))

    assert status == 200 and body["intent"] == "complaint"
    status, inbox = stack.staff("GET", f"{INBOX}?status=needs_human")
    assert member in [c["id"] for c in inbox["items"]]
    status, reply = stack.staff(
        "POST", f"{INBOX}/{member}/messages", {"text": "非常抱歉，店长马上给您打电话。"}
    )
    assert status == 200 and reply["delivery"]["status"] == "sent" and reply["delivery"]["channel"] == "sms"
    assert stack.staff("POST", f"{INBOX}/{member}/status", {"status": "resolved"})[0] == 200
    assert stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}")[1]["status"] == "active"


def test_an_opt_out_is_honoured_later(stack):
    member = f"td-{uuid.uuid4().hex[:6]}"
    stack.post_booking(_booking(member, None, stack))

    status, body = stack.signed("/v1/webhooks/messages", _message(member, "TD"))
    assert body["intent"] == "opt_out"
    later = _booking(member, None, stack)
    later["booking"]["id"] = f"bk2-{member}"
    later["booking"]["start"] = stack.local(SH_STORE, 9, 11).isoformat()
    later["booking"]["member"]["marketing_consent"] = True
    assert stack.post_booking(later)[0] == 202

    profile = stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}")[1]
    assert profile["consent"]["marketing"] is False and profile["status"] == "opted_out"


def test_two_devices_page_the_same_history_identically(stack):
    member = f"pg-{uuid.uuid4().hex[:6]}"
    for i in range(5):
        stack.signed("/v1/webhooks/messages", _message(member, f"消息{i}", channel="web"))

    def sync() -> list[str]:
        seen, cursor = [], ""
        while True:
            page = stack.staff("GET", f"{INBOX}/{member}/messages?limit=2&cursor={cursor}")[1]
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return seen

    phone, laptop = sync(), sync()
    assert (
        phone == laptop
        and len(phone) == len(set(phone))
        and len([m for m in phone if m.startswith("in-")]) == 5
    )


def test_agora_callback_in_its_documented_format(stack):
    import hashlib

    agora = stack.info["agora"]
    ts = int(time.time() * 1000)
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    body = {
        "callId": call_id,
        "eventType": "chat",
        "chat_type": "chat",
        "timestamp": ts,
        "security": hashlib.md5(f"{call_id}{agora['callback_secret']}{ts}".encode()).hexdigest(),  # noqa: S324
        "from": f"ag-{uuid.uuid4().hex[:6]}",
        "to": f"store-{SH_STORE}",
        "msg_id": str(uuid.uuid4().int)[:15],
        "payload": {"bodies": [{"type": "txt", "msg": "甲片翘边了"}], "ext": {}},
    }

    status, answer = http(
        "POST",
        stack.api + agora["callback_url_path"],
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )

    assert status == 200 and answer["result"] == "stored"
    # The answer is claimed (`queued`) before the provider is called: wait for its outcome.
    page = eventually(
        lambda: (
            lambda p: (
                p if any(m["direction"] == "out" and m["status"] != "queued" for m in p["items"]) else None
            )
        )(stack.staff("GET", f"{INBOX}/{body['from']}/messages")[1]),
        what="an Agora answer",
    )
    outbound = [m for m in page["items"] if m["direction"] == "out"]
    assert any(m["channel"] == "agora" and m["status"] == "sent" for m in outbound), outbound
