"""Issue 17 §1, feedback closes the loop: her answer to the day-2 feedback request, on moto with the real plumbing.

Given a visit completed on 25 November 16:30 (Shanghai), the feedback request goes on the 27th at 11:00 and the
review request on 2 December at 11:00.
"""

from __future__ import annotations

import time
import uuid

from chalicelib.dal.models import BookingItem, ChainItem, ConversationItem, CouponItem, MemberItem
from tests.support.builders import SH_STORE, booking_event

STORE_PHONE = "+862162880000"
MEMBER_PHONE = "+8613800138000"
DIANPING = "https://www.dianping.com/shop/demo-sh-jingan/review"


def reply(text: str, *, msg_id: str | None = None, type: str = "text", **extra) -> dict:
    return {
        "event_id": f"evt-{uuid.uuid4().hex[:8]}",
        "store_id": SH_STORE,
        "member_id": "m-1",
        "channel": "sms",
        "message": {"id": msg_id or f"msg-{uuid.uuid4().hex[:8]}", "type": type, "text": text, **extra},
        "sent_at": "2026-11-27T12:00:00+08:00",
    }


def visited_and_asked(harness, *, event: dict | None = None) -> None:
    """Given her colour on 25 November, completed at 16:30, and the feedback request sent on the 27th at 11:00."""
    harness.post(event or booking_event(event_id="evt-v1"))
    harness.advance_to("2026-11-25T16:30:00+08:00")
    completed = booking_event(
        event_id="evt-v2", type="booking.completed", occurred_at="2026-11-25T16:30:00+08:00"
    )
    if event is not None:
        completed["booking"]["member"] = event["booking"]["member"]
    harness.post(completed)
    harness.advance_to("2026-11-27T11:30:00+08:00")
    assert harness.sent_kinds(SH_STORE, "m-1")[-1] == "feedback_request"


def booking() -> BookingItem:
    return BookingItem.get(*BookingItem.key("demo-chain", "bk-1"), consistent_read=True)


def conversation() -> ConversationItem:
    return ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1"), consistent_read=True)


def review_texts(harness) -> list[str]:
    return [m["text"] for m in harness.messages(SH_STORE, "m-1") if m["kind"] == "review_request"]


def store_alerts(harness) -> list[str]:
    return [text for phone, text in harness.sms() if phone == STORE_PHONE]


def test_a_two_is_recorded_negative_goes_to_the_manager_and_gets_no_review_request(harness):
    visited_and_asked(harness)

    status, body = harness.post_message(reply("2"))

    assert status == 200, body
    [recorded] = [a for a in body["actions"] if a["action"] == "record_feedback"]
    assert recorded == {
        "action": "record_feedback",
        "result": "recorded",
        "booking_id": "bk-1",
        "score": 2,
        "sentiment": "negative",
        "read_as": "score",
    }
    assert booking().feedback_score == 2 and booking().feedback_sentiment == "negative"
    assert conversation().status == "needs_human"
    assert conversation().needs_human_reason == "feedback_negative"
    assert len(store_alerts(harness)) == 1 and "feedback_negative" in store_alerts(harness)[0]
    assert any("店长已收到您的反馈" in text for phone, text in harness.sms() if phone == MEMBER_PHONE)

    harness.advance_to("2026-12-03T12:00:00+08:00")
    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def test_free_text_disappointment_is_negative_through_the_classifier(harness):
    visited_and_asked(harness)

    _, body = harness.post_message(reply("太失望了"))

    assert booking().feedback_sentiment == "negative" and booking().feedback_score is None
    assert {a["action"] for a in body["actions"]} >= {
        "record_feedback",
        "needs_human:feedback_negative",
        "notify_staff:feedback_negative",
    }
    harness.advance_to("2026-12-03T12:00:00+08:00")
    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def test_a_five_gets_the_stores_review_link_on_day_seven(harness):
    visited_and_asked(harness)

    _, body = harness.post_message(reply("５"))  # full-width

    assert booking().feedback_score == 5 and booking().feedback_sentiment == "positive"
    assert conversation().status != "needs_human" and store_alerts(harness) == []
    harness.advance_to("2026-12-02T10:59:00+08:00")
    assert review_texts(harness) == []
    harness.advance_to("2026-12-02T11:01:00+08:00")
    [text] = review_texts(harness)
    assert DIANPING in text and "大众点评" in text  # her locale is zh-CN: the store's first link for it


def test_stars_and_thumbs_are_answers_too(harness):
    visited_and_asked(harness)

    harness.post_message(reply("⭐⭐⭐⭐"))

    assert booking().feedback_score == 4 and booking().feedback_sentiment == "positive"


def test_a_retried_answer_records_once_and_a_later_one_changes_nothing(harness):
    visited_and_asked(harness)
    event = reply("5", msg_id="sms-fb-1")

    _, first = harness.post_message(event)
    _, again = harness.post_message(event)  # the provider retries the same message
    _, later = harness.post_message(reply("1"))  # she changes her mind: not over her first answer

    assert [a for a in first["actions"] if a["action"] == "record_feedback"][0]["result"] == "recorded"
    assert again["actions"] == first["actions"]
    assert [a["result"] for a in later["actions"] if a["action"] == "record_feedback"] == ["already_answered"]
    assert booking().feedback_score == 5 and booking().feedback_sentiment == "positive"
    thanks = [t for p, t in harness.sms() if p == MEMBER_PHONE and "谢谢" in t and "反馈" in t]
    assert len(thanks) == 1


def test_the_answer_outlives_a_later_booking_event(harness):
    visited_and_asked(harness)
    harness.post_message(reply("2"))

    harness.post(
        booking_event(event_id="evt-v3", type="booking.completed", occurred_at="2026-11-27T12:00:00+08:00")
    )

    assert booking().feedback_score == 2 and booking().feedback_sentiment == "negative"


def test_a_five_before_any_feedback_request_is_not_feedback(harness):
    harness.post(booking_event(event_id="evt-v1"))
    harness.advance_to("2026-11-25T16:30:00+08:00")
    harness.post(
        booking_event(event_id="evt-v2", type="booking.completed", occurred_at="2026-11-25T16:30:00+08:00")
    )

    _, body = harness.post_message(reply("5"))

    assert [a for a in body["actions"] if a["action"] == "record_feedback"] == []
    assert booking().feedback_sentiment is None


def test_a_booking_question_after_the_request_is_handled_as_usual(harness):
    visited_and_asked(harness)

    _, body = harness.post_message(reply("请问周六下午还有位置吗"))

    assert [a for a in body["actions"] if a["action"] == "record_feedback"] == []
    assert booking().feedback_sentiment is None


def test_no_review_request_while_her_conversation_is_with_a_person(harness):
    visited_and_asked(harness)
    harness.post_message(reply("5"))
    harness.advance_to("2026-11-30T15:00:00+08:00")
    harness.post_message(reply("颜色这两天掉得厉害，我要投诉"))  # after a happy answer, a complaint
    assert conversation().status == "needs_human"
    MemberItem(*MemberItem.key("demo-chain", "m-1")).update(actions=[MemberItem.marketing_paused.set(False)])

    harness.advance_to("2026-12-03T12:00:00+08:00")

    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def test_no_review_request_while_her_marketing_is_paused(harness):
    visited_and_asked(harness)
    harness.post_message(reply("5"))
    MemberItem(*MemberItem.key("demo-chain", "m-1")).update(actions=[MemberItem.marketing_paused.set(True)])

    harness.advance_to("2026-12-03T12:00:00+08:00")

    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def test_no_answer_follows_the_chains_setting(harness):
    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.update(actions=[ChainItem.feedback_settings.set({"no_answer": "skip"})])
    visited_and_asked(harness)

    harness.advance_to("2026-12-03T12:00:00+08:00")

    assert "review_request" not in harness.sent_kinds(SH_STORE, "m-1")


def test_no_answer_gets_the_review_request_by_default(harness):
    visited_and_asked(harness)

    harness.advance_to("2026-12-03T12:00:00+08:00")

    [text] = review_texts(harness)
    assert DIANPING in text


def test_a_positive_answer_gets_the_chains_thank_you_coupon_once(harness):
    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.update(
        actions=[
            ChainItem.feedback_settings.set({"thank_you_coupon": {"offer": "护理八折", "valid_days": 30}})
        ]
    )
    visited_and_asked(harness)
    event = reply("👍", msg_id="sms-fb-thumb")

    harness.post_message(event)
    harness.post_message(event)
    code = booking().feedback_coupon_code
    harness.advance_to("2026-12-03T12:00:00+08:00")

    assert code and booking().feedback_sentiment == "positive" and booking().feedback_score is None
    coupon = CouponItem.get(*CouponItem.key("demo-chain", code))
    assert coupon.member_id == "m-1" and coupon.occasion == "feedback_thanks" and coupon.offer == "护理八折"
    [text] = review_texts(harness)
    assert code in text and "护理八折" in text and DIANPING in text


def test_the_staff_booking_views_show_the_answer(harness):
    visited_and_asked(harness)
    harness.post_message(reply("2"))

    status, timeline = harness.staff("GET", f"/v1/stores/{SH_STORE}/bookings/bk-1")
    _, day = harness.staff("GET", f"/v1/stores/{SH_STORE}/bookings?date=2026-11-25")

    assert status == 200, timeline
    assert timeline["booking"]["feedback"] == {"score": 2, "sentiment": "negative"}
    [listed] = [b for s in day["stylists"] for b in s["bookings"] if b["id"] == "bk-1"]
    assert listed["feedback"] == {"score": 2, "sentiment": "negative"}


def wechat_image(openid: str, msg_id: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>"
        f"<MediaId><![CDATA[media-{msg_id}]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def test_a_photo_after_her_visit_goes_to_staff_not_filed_as_other(harness):
    event = booking_event(event_id="evt-v1")
    event["booking"]["member"]["wechat_openid"] = "o-photo"
    visited_and_asked(harness, event=event)

    status, _ = harness.wechat(SH_STORE, wechat_image("o-photo", "880001"))
    harness.pump()

    assert status == 200
    [photo] = [m for m in harness.messages(SH_STORE, "m-1") if m["direction"] == "in"]
    assert conversation().status == "needs_human"
    assert conversation().needs_human_reason == "photo_after_visit"
    assert len(store_alerts(harness)) == 1 and "photo_after_visit" in store_alerts(harness)[0]
    assert booking().feedback_sentiment is None  # a photo is not a score


def test_a_photo_long_after_her_visit_is_not_sent_to_staff(harness):
    visited_and_asked(harness)
    harness.advance_to("2026-12-10T12:00:00+08:00")

    _, body = harness.post_message(
        reply("", type="image", media_url="https://cdn.example.com/p.jpg", msg_id="img-late")
    )

    assert body["actions"] == []
    assert conversation().status != "needs_human"


def wechat_text(openid: str, text: str, msg_id: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def test_an_answer_by_wechat_is_recorded_by_the_inbound_worker_once_despite_wechats_retries(harness):
    event = booking_event(event_id="evt-v1")
    event["booking"]["member"]["wechat_openid"] = "o-answer"
    visited_and_asked(harness, event=event)
    xml = wechat_text("o-answer", "一分", "880100")

    for _ in range(3):  # WeChat retries a callback it got no answer to within 5 s
        harness.wechat(SH_STORE, xml)
    harness.pump()

    assert booking().feedback_score == 1 and booking().feedback_sentiment == "negative"
    assert conversation().needs_human_reason == "feedback_negative"
    assert len(store_alerts(harness)) == 1


def test_a_photo_in_the_salons_app_after_her_visit_goes_to_staff(harness):
    from chalicelib.channels.agora.chat import callback_signature

    event = booking_event(event_id="evt-v1", member_id="m-app")
    member_id = event["booking"]["member"]["id"]
    harness.post(event)
    harness.advance_to("2026-11-25T16:30:00+08:00")
    done = booking_event(
        event_id="evt-v2",
        type="booking.completed",
        member_id="m-app",
        occurred_at="2026-11-25T16:30:00+08:00",
    )
    harness.post(done)
    harness.advance_to("2026-11-28T15:00:00+08:00")
    ts = int(time.time() * 1000)
    body = {
        "callId": "c-photo",
        "eventType": "chat",
        "chat_type": "chat",
        "security": callback_signature("c-photo", harness.chain["agora"]["callback_secret"], ts),
        "timestamp": ts,
        "from": member_id,
        "to": f"store-{SH_STORE}",
        "msg_id": "990011",
        "payload": {"bodies": [{"type": "img", "url": "https://a1.easemob.com/chat/photo.jpg"}], "ext": {}},
    }

    status, _ = harness.agora(body, sign=False)
    harness.pump()

    assert status == 200
    meta = ConversationItem.get(*ConversationItem.key(SH_STORE, "m-app"), consistent_read=True)
    assert meta.status == "needs_human" and meta.needs_human_reason == "photo_after_visit"
