"""Two-way chat on mock_aws with the provider fakes: every channel's real format in, understood, answered."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.care import visit

BASE = f"/v1/stores/{SH_STORE}/conversations"


def message_event(
    text: str,
    *,
    member_id: str = "m-1",
    channel: str = "sms",
    msg_id: str | None = None,
    store_id: str = SH_STORE,
    type: str = "text",
    **extra,
) -> dict:
    return {
        "event_id": f"evt-{uuid.uuid4().hex[:8]}",
        "store_id": store_id,
        "member_id": member_id,
        "channel": channel,
        "message": {"id": msg_id or f"msg-{uuid.uuid4().hex[:8]}", "type": type, "text": text, **extra},
        "sent_at": "2026-11-22T10:05:00+08:00",
    }


def wechat_text(openid: str, text: str, msg_id: str = "6054768590064713728") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def member(member_id: str = "m-1") -> MemberItem:
    return MemberItem.get(*MemberItem.key("demo-chain", member_id))


def test_dry_hair_gets_care_advice_for_the_service_she_had(harness):
    harness.post(booking_event())
    harness.advance_to("2026-11-25T17:00:00+08:00")
    harness.post(booking_event(type="booking.completed", occurred_at="2026-11-25T17:00:00+08:00"))

    status, body = harness.post_message(message_event("头发有点干怎么办"))

    assert status == 200, body
    assert body["intent"] == "aftercare_issue" and body["conversation_id"] == "m-1"
    [reply] = [a for a in body["actions"] if a["action"] == "reply:reply_aftercare"]
    assert reply["result"] == "sent" and reply["channel"] == "sms"
    texts = [t for _, t in harness.sms()]
    assert any("发膜" in t and "补水" in t for t in texts), texts  # the colour-care advice for dryness


def test_a_complaint_goes_to_a_human_at_once_and_pauses_marketing(harness):
    harness.post(booking_event())

    status, body = harness.post_message(message_event("烫坏了，我要投诉！"))

    assert body["intent"] == "complaint" and body["sentiment"] == "negative"
    assert {a["action"] for a in body["actions"]} >= {"needs_human", "notify_staff", "pause_marketing"}
    assert member().marketing_paused is True
    _, inbox = harness.staff("GET", f"{BASE}?status=needs_human")
    assert [c["id"] for c in inbox["items"]] == ["m-1"]
    assert any(phone == "+862162880000" for phone, _ in harness.sms())  # the store was told

    status, _ = harness.staff("POST", f"{BASE}/m-1/status", {"status": "resolved"})
    assert status == 200 and member().marketing_paused is False


def test_td_opts_out_of_marketing_and_is_confirmed(harness):
    harness.post(booking_event())

    _, body = harness.post_message(message_event("TD"))

    assert body["intent"] == "opt_out"
    assert member().marketing_consent is False and member().opted_out_at is not None
    assert any("退订" in t for _, t in harness.sms())


def test_confirm_marks_the_booking_confirmed_and_skips_the_please_confirm_reminder(harness):
    harness.post(booking_event())
    harness.pump()

    _, body = harness.post_message(message_event("1"))

    assert body["intent"] == "confirm"
    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-1")).status == "confirmed"
    harness.advance_to("2026-11-25T14:00:00+08:00")
    assert "reminder_2h" not in harness.sent_kinds(SH_STORE, "m-1")
    assert "reminder_day_before" in harness.sent_kinds(SH_STORE, "m-1")


def test_reschedule_goes_to_the_booking_system_signed_with_the_requested_day(harness):
    harness.post(booking_event())

    _, body = harness.post_message(message_event("能改到周五下午3点吗"))

    assert body["intent"] == "reschedule"
    [request] = harness.fakes["booking"].received
    assert request["signature_ok"] and request["body"]["type"] == "member.reschedule_requested"
    assert request["body"]["booking_id"] == "bk-1" and request["body"]["requested"]["weekday"] == 4


def test_the_same_message_twice_is_stored_and_answered_once(harness):
    event = message_event("谢谢，头发很好看😍", msg_id="dup-1")
    first = harness.post_message(event)
    second = harness.post_message({**event, "event_id": "evt-again"})

    assert first == second
    _, page = harness.staff("GET", f"{BASE}/m-1/messages")
    assert [m["direction"] for m in page["items"]].count("in") == 1
    assert len(harness.sms()) == 0  # no phone known for m-1 without a booking: nothing to send to


def test_wechat_url_verification_echoes_only_for_a_valid_signature(harness):
    assert harness.wechat(SH_STORE, "", method="GET", echostr="hello123") == (200, b"hello123")
    assert harness.wechat(SH_STORE, "", method="GET", echostr="x", token="wrong")[0] == 401


def test_wechat_triple_retry_is_stored_once_and_answered_through_customer_service(harness):
    harness.post(booking_event(wechat_openid=None))
    xml = wechat_text("o-wx-member-1", "头发有点干怎么办")

    sent_at = int(time.time())  # WeChat's retries repeat the query: the same timestamp and nonce
    answers = [harness.wechat(SH_STORE, xml, timestamp=sent_at, nonce="n0nce") for _ in range(3)]
    harness.pump()

    assert answers == [(200, b"success")] * 3
    _, page = harness.staff("GET", f"{BASE}/wx-o-wx-member-1/messages")
    inbound = [m for m in page["items"] if m["direction"] == "in"]
    assert len(inbound) == 1 and inbound[0]["intent"] == "aftercare_issue"
    assert len(harness.fakes["wechat"].sent) == 1
    assert harness.fakes["wechat"].sent[0]["touser"] == "o-wx-member-1"


def test_wechat_member_linked_by_openid_from_her_booking(harness):
    event = booking_event()
    event["booking"]["member"]["wechat_openid"] = "o-linked"
    harness.post(event)

    harness.wechat(SH_STORE, wechat_text("o-linked", "好的收到", msg_id="77"))
    harness.pump()

    _, page = harness.staff("GET", f"{BASE}/m-1/messages")
    assert any(m["direction"] == "in" and m["channel"] == "wechat" for m in page["items"])


def test_hostile_wechat_xml_is_refused_and_nothing_stored(harness):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<xml><Content>&lol2;</Content></xml>"
    )
    assert harness.wechat(SH_STORE, bomb)[0] == 400
    assert harness.wechat(SH_STORE, "<xml><MsgType>text</MsgType>")[0] == 400
    assert harness.wechat(SH_STORE, wechat_text("o1", "hi"), token="forged")[0] == 401
    _, inbox = harness.staff("GET", BASE)
    assert inbox["items"] == []


def test_staff_reply_outside_the_wechat_window_uses_the_template_message(harness):
    harness.wechat(SH_STORE, wechat_text("o-late", "你好"))
    harness.pump()
    conversation = ConversationItem.get(*ConversationItem.key(SH_STORE, "wx-o-late"))
    conversation.update(
        actions=[ConversationItem.last_inbound_at.set(datetime.now(UTC) - timedelta(hours=49))]
    )
    harness.clock.set(datetime.now(UTC))

    status, body = harness.staff("POST", f"{BASE}/wx-o-late/messages", {"text": "您好，周五下午有空位哦"})

    assert status == 200, body
    assert body["delivery"]["channel"] == "wechat" and "48-hour" in body["delivery"]["note"]
    assert len(harness.fakes["wechat"].templates) == 1


def test_agora_callback_is_verified_stored_and_answered_in_agora(harness):
    from chalicelib.channels.agora.chat import callback_signature

    secret = harness.chain["agora"]["callback_secret"]
    ts = int(time.time() * 1000)
    body = {
        "callId": "c-1",
        "eventType": "chat",
        "chat_type": "chat",
        "security": callback_signature("c-1", secret, ts),
        "timestamp": ts,
        "from": "m-agora",
        "to": f"store-{SH_STORE}",
        "msg_id": "889900",
        "payload": {"bodies": [{"type": "txt", "msg": "thanks, love my nails 😍"}], "ext": {}},
    }

    response = harness.client.http.post(
        "/v1/channels/agora/demo-chain/callback",
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    harness.pump()

    assert response.status_code == 200
    assert len(harness.fakes["agora"].messages) == 1
    forged = {**body, "security": "0" * 32}
    assert (
        harness.client.http.post(
            "/v1/channels/agora/demo-chain/callback",
            body=json.dumps(forged).encode(),
            headers={"Content-Type": "application/json"},
        ).status_code
        == 401
    )


def test_two_way_sms_from_sns_finds_the_member_by_phone(harness):
    harness.post(booking_event())
    sns = harness.session.client("sns")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("sms-inbound"))

    sns.publish(
        TopicArn=topic,
        Message=json.dumps(
            {
                "originationNumber": "+8613800138000",
                "destinationNumber": "+8610690000",
                "messageKeyword": "KEYWORD_x",
                "messageBody": "退订",
                "inboundMessageId": "in-sms-1",
                "previousPublishedMessageId": "p-1",
            }
        ),
    )
    harness.pump()

    assert member().marketing_consent is False


def test_two_devices_page_the_same_history_identically_and_gap_free(harness):
    for i in range(7):
        harness.post_message(message_event(f"第{i}条消息"))
    device_a, device_b = [], []
    for device in (device_a, device_b):
        cursor = ""
        while True:
            _, page = harness.staff("GET", f"{BASE}/m-1/messages?limit=3&cursor={cursor}")
            device += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert device_a == device_b
    assert len(device_a) == len(set(device_a)) and sum(1 for m in device_a if m.startswith("in-")) == 7


def test_reading_marks_inbound_messages_read_and_clears_unread(harness):
    harness.post_message(message_event("在吗"))
    _, inbox = harness.staff("GET", BASE)
    assert inbox["items"][0]["unread"] == 1

    harness.staff("POST", f"{BASE}/m-1/read")

    _, page = harness.staff("GET", f"{BASE}/m-1/messages")
    assert {m["status"] for m in page["items"] if m["direction"] == "in"} == {"read"}
    assert harness.staff("GET", BASE)[1]["items"][0]["unread"] == 0


def test_video_consult_returns_verifiable_agora_tokens_and_is_recorded(harness):
    from devstack.fakes.agora_token import parse_token

    harness.post_message(message_event("可以视频看看吗"))

    status, body = harness.staff("POST", f"{BASE}/m-1/video")

    assert status == 200
    for who in ("member", "staff"):
        parsed = parse_token(body[who]["token"])
        assert parsed.verify("fedcba9876543210fedcba9876543210")
    _, page = harness.staff("GET", f"{BASE}/m-1/messages?order=desc")
    assert page["items"][0]["kind"] == "video_call"


def test_another_stores_staff_cannot_see_this_conversation(harness):
    from chalicelib.services.auth import issue_token

    harness.post_message(message_event("hello"))
    ldn = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="ldn",
        chain_id="demo-chain",
        role="store_manager",
        store_ids=[LDN_STORE],
        now=datetime.now(UTC),
    )
    assert harness.staff("GET", BASE, token=ldn)[0] == 404
    assert harness.staff("GET", f"{BASE}/m-1/messages", token=ldn)[0] == 404
    assert harness.staff("POST", f"{BASE}/m-1/messages", {"text": "hi"}, token=ldn)[0] == 404


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda e: e.update(channel="fax"), "channel"),
        (lambda e: e["message"].update(type="video"), "message.type"),
        (lambda e: e.pop("member_id"), "member_id"),
        (lambda e: e.update(sent_at="2026-11-22T10:05:00"), "sent_at"),
        (lambda e: e.update(store_id="nope"), "store_id"),
    ],
)
def test_malformed_message_events_get_400_naming_the_field(harness, mutate, field):
    event = message_event("hi")
    mutate(event)
    status, body = harness.post_message(event)
    assert status == 400 and field in body["fields"], body


def test_an_opt_out_is_honoured_when_the_booking_system_later_says_yes(harness):
    harness.post(booking_event())
    harness.post_message(message_event("退订"))

    later = booking_event(booking_id="bk-2", start="2026-12-20T15:00:00+08:00")
    later["booking"]["member"]["marketing_consent"] = True
    assert harness.post(later)[0] == 202

    assert member().marketing_consent is False
    _, profile = harness.staff("GET", f"/v1/stores/{SH_STORE}/members/m-1")
    assert (
        profile["consent"] == {"transactional": True, "marketing": False} and profile["status"] == "opted_out"
    )
    assert profile["next_booking_at"] == "2026-11-25T15:00:00+08:00"


def test_a_yes_asked_to_be_written_only_if_unanswered_never_overwrites_an_opt_out_recorded_after_the_read(
    harness,
):
    # Given her profile read while she had no answer, and her "TD" recorded after that read
    harness.post(booking_event())
    repo = harness.container.care_repo
    read = repo.member("demo-chain", "m-1", consistent=True)
    assert read.marketing_consent is None
    harness.post_message(message_event("退订"))
    # When the care service, going by that read, asks for a "yes" written only where she has no answer
    repo.save_profile(
        read, None, sorted(read.manual_tags or []), list(read.tags or []), consent_if_unanswered=True
    )
    # Then the repository's single write kept her opt-out (if_not_exists, atomic with the write)
    assert member().marketing_consent is False


def test_a_resolved_conversation_reopens_when_the_member_writes_again(harness):
    harness.post_message(message_event("你们什么破服务！"))
    harness.staff("POST", f"{BASE}/m-1/status", {"status": "resolved"})

    # A plain question (asking for a slot with no booking ahead would go to a person: needs_human, not open)
    harness.post_message(message_event("请问周六营业吗？"))

    _, inbox = harness.staff("GET", f"{BASE}?status=open")
    assert [c["id"] for c in inbox["items"]] == ["m-1"]


def test_a_staff_reply_retried_with_the_same_client_id_is_sent_once(harness):
    harness.post(booking_event())
    harness.post_message(message_event("在吗"))
    body = {"text": "在的，请问有什么可以帮您？", "client_message_id": "desk-42"}

    first = harness.staff("POST", f"{BASE}/m-1/messages", body)
    second = harness.staff("POST", f"{BASE}/m-1/messages", body)

    assert first[0] == second[0] == 200
    assert first[1]["message"]["id"] == second[1]["message"]["id"]
    assert sum("有什么可以帮您" in t for _, t in harness.sms()) == 1


def test_the_same_provider_message_id_in_two_chains_is_two_messages(harness):
    from chalicelib.dal.models import InboundReceiptItem

    assert InboundReceiptItem.key("chain-a", "web", "1") != InboundReceiptItem.key("chain-b", "web", "1")


def test_the_same_client_id_in_another_conversation_sends_to_that_member_not_the_first_ones_message(harness):
    """A staff reply id is scoped to its conversation: desk clients number replies per conversation."""
    harness.post(booking_event())
    harness.post(
        booking_event(
            booking_id="bk-2", member_id="m-2", phone="+8613900139000", start="2026-11-26T15:00:00+08:00"
        )
    )
    harness.post_message(message_event("在吗"))
    harness.post_message(message_event("请问周日营业吗", member_id="m-2"))
    harness.staff("POST", f"{BASE}/m-1/messages", {"text": "在的，您好", "client_message_id": "desk-1"})

    status, body = harness.staff(
        "POST", f"{BASE}/m-2/messages", {"text": "周日营业到晚上九点", "client_message_id": "desk-1"}
    )

    assert status == 200, body
    assert (
        body["message"]["text"] == "【花漾·静安店】周日营业到晚上九点"
        and body["delivery"]["status"] == "sent"
    ), body
    assert any(p == "+8613900139000" and "周日营业到晚上九点" in t for p, t in harness.sms())
    assert not any(p == "+8613800138000" and "周日营业" in t for p, t in harness.sms())
    staff_replies = [m for m in harness.messages(SH_STORE, "m-2") if m["kind"] == "staff_reply"]
    assert [m["text"] for m in staff_replies] == ["【花漾·静安店】周日营业到晚上九点"]
    # A retry in either conversation is still that conversation's one message.
    again = harness.staff(
        "POST", f"{BASE}/m-1/messages", {"text": "在的，您好", "client_message_id": "desk-1"}
    )
    assert again[0] == 200 and again[1]["message"]["text"] == "【花漾·静安店】在的，您好"
    assert sum("在的，您好" in t for _, t in harness.sms()) == 1


# --- issue 12: no booking action without an upcoming booking; every text names its store -------------
STORE_PHONE = "+862162880000"
HER_PHONE = "+8613800138000"


def test_a_confirm_for_a_booking_that_started_over_an_hour_ago_goes_to_a_person_not_to_the_booking(harness):
    # Given her booking at this store started at 08:30 and it is now 10:00 (no upcoming booking here)
    harness.post(booking_event(start="2026-11-22T08:30:00+08:00", occurred_at="2026-11-22T08:00:00+08:00"))
    harness.pump()
    before = len(harness.sms())

    _, body = harness.post_message(message_event("1"))

    assert body["intent"] == "confirm"
    assert "confirm_booking" not in {a["action"] for a in body["actions"]}
    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-1")).status == "booked"  # never "confirmed"
    _, inbox = harness.staff("GET", f"{BASE}?status=needs_human")
    assert [(c["id"], c["needs_human_reason"]) for c in inbox["items"]] == [("m-1", "question")]
    sent = harness.sms()[before:]
    assert any(phone == STORE_PHONE for phone, _ in sent)  # the store was told
    [reply] = [text for phone, text in sent if phone == HER_PHONE]
    assert reply == "【花漾·静安店】收到您的消息，我们的前台会尽快联系您安排。"
    assert "收到您的确认" not in reply


def test_a_cancel_with_only_a_past_visit_takes_no_booking_action_and_answers_honestly(harness):
    visit(harness, start="2026-11-20T15:00:00+08:00")  # created and completed: nothing upcoming
    before = len(harness.sms())

    _, body = harness.post_message(message_event("明天有事来不了了 取消吧"))

    assert body["intent"] == "cancel"
    assert harness.fakes["booking"].received == []  # nothing asked of the booking system
    assert ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1")).status == "needs_human"
    [reply] = [text for phone, text in harness.sms()[before:] if phone == HER_PHONE]
    assert reply == "【花漾·静安店】收到您的消息，我们的前台会尽快联系您安排。"


def test_an_english_reschedule_without_an_upcoming_booking_gets_the_english_answer(harness):
    visit(
        harness,
        "m-ldn",
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-20T15:00:00+00:00",
        locale="en",
        phone="+447400123456",
        name="Emma",
    )
    before = len(harness.sms())

    _, body = harness.post_message(
        message_event("can I move to Saturday 3pm?", member_id="m-ldn", store_id=LDN_STORE)
    )

    assert body["intent"] == "reschedule"
    assert harness.fakes["booking"].received == []
    [reply] = [text for phone, text in harness.sms()[before:] if phone == "+447400123456"]
    assert (
        reply
        == "Huayang Soho: thanks for your message. Our front desk will be in touch shortly to arrange it."
    )


def test_a_confirm_for_an_upcoming_booking_still_confirms_it(harness):
    harness.post(booking_event(start="2026-11-22T11:00:00+08:00", occurred_at="2026-11-22T09:00:00+08:00"))

    _, body = harness.post_message(message_event("好的收到👌"))

    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-1")).status == "confirmed"
    assert ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1")).status == "open"
    assert any(
        t.startswith("【花漾·静安店】收到您的确认") and "11:00" in t
        for p, t in harness.sms()
        if p == HER_PHONE
    )


def test_a_staff_reply_starts_with_the_store_name_once(harness):
    harness.post(booking_event())
    harness.post_message(message_event("在吗"))
    before = len(harness.sms())

    status, body = harness.staff("POST", f"{BASE}/m-1/messages", {"text": "在的，请问有什么可以帮您？"})
    harness.staff("POST", f"{BASE}/m-1/messages", {"text": "【花漾·静安店】周五下午有空位哦"})

    assert status == 200 and body["message"]["text"] == "【花漾·静安店】在的，请问有什么可以帮您？"
    assert [t for p, t in harness.sms()[before:] if p == HER_PHONE] == [
        "【花漾·静安店】在的，请问有什么可以帮您？",
        "【花漾·静安店】周五下午有空位哦",
    ]
