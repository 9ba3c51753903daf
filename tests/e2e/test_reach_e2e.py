"""Issue 15 end to end, against a local stack of its own started as `make run` does with mainland SMS on
(CHAIRSIDE_DEMO_MAINLAND_SMS=1: +86 numbers go by the fake Alibaba Cloud SMS): each member is reached where she
is, and each message's status comes from the provider's own receipt mechanism, played by the fakes."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.e2e.conftest import eventually, http
from tests.support.builders import booking_event
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reach(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("chairside-reach")
    with running_stack(state, {"CHAIRSIDE_DEMO_MAINLAND_SMS": "1"}) as running:
        assert running.info["alibaba_sms"]["routes_mainland_numbers"] is True
        yield running


def _run() -> str:
    return uuid.uuid4().hex[:8]


def _store(reach: Stack) -> str:
    """The store whose callback URL the fake WeChat pushes its events to (one Official Account, one server URL)."""
    return reach.info["stores"][0]["id"]


def _book(reach: Stack, store: str, member_id: str, phone: str, openid: str | None = None) -> dict:
    event = booking_event(
        store_id=store,
        booking_id=f"bk-{member_id}",
        member_id=member_id,
        stylist=f"st-{member_id}",
        phone=phone,
        start=reach.local(store, 3, 15),
        occurred_at=reach.now(),
    )
    event["booking"]["member"]["wechat_openid"] = openid
    status, answer = reach.post_booking(event)
    assert status == 202, answer
    return event


def _message(reach: Stack, store: str, member_id: str, kind: str, statuses: tuple[str, ...]) -> dict | None:
    found = [m for m in reach.messages(store, member_id) if m["kind"] == kind and m["direction"] == "out"]
    return found[0] if found and found[0]["status"] in statuses else None


def _wait(reach: Stack, store: str, member_id: str, kind: str, *statuses: str) -> dict:
    return eventually(
        lambda: _message(reach, store, member_id, kind, statuses), 60, f"{kind} {statuses} for {member_id}"
    )


def _fake(url: str, method: str = "POST", body: dict | None = None) -> dict:
    status, answer = http(method, url, body, {"Content-Type": "application/json"})
    assert status == 200, answer
    return answer


def test_a_wechat_followers_confirmation_goes_by_template_and_is_delivered_by_the_job_finish_event(reach):
    store, member, phone = _store(reach), f"wx-{_run()}", "+8613900139101"

    _book(reach, store, member, phone, openid=f"o-e2e-{_run()}")

    delivered = _wait(reach, store, member, "confirmation", "delivered")
    assert (delivered["channel"], delivered["route_reason"]) == ("wechat_template", "wechat_template")
    assert delivered["delivered_at"]
    assert reach.sms_to(phone) == []  # not by SNS, and (below) not by Alibaba either
    assert all(m["channel"] == "wechat_template" for m in reach.messages(store, member))


def test_an_app_members_confirmation_goes_by_agora_and_becomes_read_from_her_apps_ack(reach):
    store, agora = _store(reach), reach.info["agora"]
    member = f"ag-{_run()}"
    # She writes to the store from the salon's app (Agora's post-delivery callback, its documented format).
    ts, call_id = int(time.time() * 1000), f"call-{_run()}"
    inbound = {
        "callId": call_id,
        "eventType": "chat",
        "chat_type": "chat",
        "timestamp": ts,
        "security": hashlib.md5(f"{call_id}{agora['callback_secret']}{ts}".encode()).hexdigest(),  # noqa: S324
        "from": member,
        "to": f"store-{store}",
        "msg_id": str(uuid.uuid4().int)[:15],
        "payload": {"bodies": [{"type": "txt", "msg": "你好，想问下周六还有位置吗"}], "ext": {}},
    }
    status, answer = http(
        "POST",
        reach.api + agora["callback_url_path"],
        json.dumps(inbound).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, answer
    eventually(
        lambda: [
            m for m in reach.messages(store, member) if m["direction"] == "out" and m["status"] != "queued"
        ],
        60,
        "the answer to her message",
    )
    listing = f"{reach.info['fakes']['agora_chat']}/_fake/messages?to={member}"
    before = {m["msg_id"] for m in _fake(listing, "GET")["messages"]}

    _book(reach, store, member, "+8613900139102")

    sent = _wait(reach, store, member, "confirmation", "sent", "delivered")
    assert (sent["channel"], sent["route_reason"]) == ("agora", "agora_app_user")
    [msg_id] = [m["msg_id"] for m in _fake(listing, "GET")["messages"] if m["msg_id"] not in before]
    _fake(f"{reach.info['fakes']['agora_chat']}/_fake/messages/{msg_id}/read")
    read = _wait(reach, store, member, "confirmation", "read")
    assert read["read_at"] and read["delivered_at"]


def test_an_sms_only_mainland_members_confirmation_goes_by_alibaba_and_its_sms_report_delivers_it(reach):
    store, member, phone = _store(reach), f"cn-{_run()}", "+8613900139103"

    _book(reach, store, member, phone)

    sent = _wait(reach, store, member, "confirmation", "sent")
    assert (sent["channel"], sent["provider"]) == ("sms", "alibaba_sms")
    pushed = _fake(f"{reach.info['fakes']['alibaba_sms']}/_fake/push-reports")
    assert pushed["pushed_to_status"] == 200
    assert [r["phone_number"] for r in pushed["reported"]].count(phone.removeprefix("+86")) + [
        r["phone_number"] for r in pushed["reported"]
    ].count(phone) == 1
    delivered = _wait(reach, store, member, "confirmation", "delivered")
    assert delivered["delivered_at"]
    assert reach.sms_to(phone) == []  # never by SNS


def test_a_mainland_members_sms_reply_through_alibaba_lands_in_her_conversation_and_is_understood(reach):
    store, member, phone = _store(reach), f"up-{_run()}", "+8613900139105"
    _book(reach, store, member, phone)
    _wait(reach, store, member, "confirmation", "sent")

    pushed = _fake(
        f"{reach.info['fakes']['alibaba_sms']}/_fake/push-replies",
        body={"phone_number": phone.removeprefix("+86"), "content": "明天有事来不了 帮我取消吧"},
    )

    assert pushed["pushed_to_status"] == 200 and pushed["answer"]["replies"]["stored"] == 1
    reply = eventually(
        lambda: next(
            (m for m in reach.messages(store, member) if m["direction"] == "in" and m.get("intent")), None
        ),
        60,
        f"her reply understood for {member}",
    )
    assert (reply["channel"], reply["text"], reply["intent"]) == (
        "sms",
        "明天有事来不了 帮我取消吧",
        "cancel",
    )


def test_a_blocked_wechat_template_falls_back_to_sms_once_and_she_gets_each_step_exactly_once(reach):
    store, member, phone, openid = _store(reach), f"bl-{_run()}", "+8613900139104", f"o-block-{_run()}"
    _fake(f"{reach.info['fakes']['wechat_api']}/_fake/user", body={"openid": openid, "blocked": "refuse"})

    event = _book(reach, store, member, phone, openid=openid)
    _wait(reach, store, member, "confirmation", "sent")
    start = reach.local(store, 3, 15)
    reach.advance_to(start - timedelta(days=1, hours=5))  # the day before at 10:00
    _wait(reach, store, member, "reminder_day_before", "sent")
    reach.advance_to(start - timedelta(hours=2))
    _wait(reach, store, member, "reminder_2h", "sent")
    # the same booking event again (a redelivery): nothing more is sent
    assert reach.post_booking(event)[0] == 202

    messages = [m for m in reach.messages(store, member) if m["direction"] == "out"]
    assert Counter(m["kind"] for m in messages) == {
        "confirmation": 1,
        "reminder_day_before": 1,
        "reminder_2h": 1,
    }
    assert {(m["channel"], m["provider"], m["route_reason"]) for m in messages} == {
        ("sms", "alibaba_sms", "fallback_permanent")
    }
    pushed = _fake(f"{reach.info['fakes']['alibaba_sms']}/_fake/push-reports")["reported"]
    to_her = [r for r in pushed if r["phone_number"] in (phone, phone.removeprefix("+86"))]
    assert len(to_her) == 3  # one SMS per step: the template was refused, never retried, never sent twice


def test_a_followers_feedback_request_goes_by_the_subscription_message_she_allowed_and_is_delivered(reach):
    store, member, phone, openid = _store(reach), f"sub-{_run()}", "+8613900139106", f"o-sub-{_run()}"
    wechat_api = reach.info["fakes"]["wechat_api"]
    event = _book(reach, store, member, phone, openid=openid)
    _wait(reach, store, member, "confirmation", "delivered")

    # She allows the store's feedback notice in the subscribe pop-up; WeChat reports it to the store's server
    _fake(f"{wechat_api}/_fake/subscribe", body={"openid": openid, "template_ids": ["demo-sub-feedback"]})
    eventually(lambda: _fake(f"{wechat_api}/_fake/pushes", "GET")["owed"] == 0, 30, "the pop-up event pushed")

    # Her visit is done; two days later at 11:00 the feedback request comes due
    start = reach.local(store, 3, 15)
    reach.advance_to(start + timedelta(hours=2))
    done = {**event, "event_id": f"{event['event_id']}-done", "type": "booking.completed"}
    done["occurred_at"] = reach.now().isoformat()
    assert reach.post_booking(done)[0] == 202
    reach.advance_to(reach.local(store, 5, 11, 5))

    feedback = _wait(reach, store, member, "feedback_request", "delivered")
    assert (feedback["channel"], feedback["route_reason"]) == ("wechat_subscribe", "wechat_subscribed")
    # The clock jumped past the first-visit follow-up's moment too: both came due at once, and the follow-up may
    # still be on its way when the feedback request is delivered
    eventually(
        lambda: (
            (m := _message(reach, store, member, "first_visit_followup", ("sent", "delivered")))
            and m["channel"] == "sms"
        ),
        60,
        "the first-visit follow-up sent by SMS",
    )
    # the feedback request once, by WeChat; her other messages (the first-visit follow-up she did not allow) by SMS
    mine = [m for m in reach.messages(store, member) if m["direction"] == "out"]
    assert [m["channel"] for m in mine if m["kind"] == "feedback_request"] == ["wechat_subscribe"]
    by_sms = [m for m in mine if m["channel"] == "sms"]
    assert "feedback_request" not in {m["kind"] for m in by_sms}
    # Alibaba's reports name each SMS by our message id (OutId): none is the feedback request
    pushed = _fake(f"{reach.info['fakes']['alibaba_sms']}/_fake/push-reports")["reported"]
    to_her = {r["out_id"] for r in pushed if r["phone_number"] in (phone, phone.removeprefix("+86"))}
    assert to_her == {m["id"] for m in by_sms}, (to_her, mine)
    assert feedback["id"] not in to_her
