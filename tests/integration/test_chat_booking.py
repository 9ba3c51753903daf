"""Booking by chat (issue 14, item 6) on mock_aws: a member asks by SMS or message, is offered three open slots in
24-hour times, answers "1" and is booked; "1" without a pending offer keeps its old meaning."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.dal.models import BookingItem, ConversationItem, MessageItem, StoreItem, whole
from chalicelib.services.member_tokens import Member
from tests.integration.test_chat import message_event, wechat_text
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.catalog import open_for_booking

SH = ZoneInfo("Asia/Shanghai")
HER_PHONE = "+8613800138000"
STORE_SMS = "+8610690001"  # sh-jingan's own number (devstack/seed.py)
LINK = "https://members.example/book/sh-jingan"
SLOT_LINE = re.compile(r"^([123])\. (\S+) (\S+) (\d\d):(\d\d) (\S+)$", re.M)
# The clock starts on Sunday 22 November 2026, 10:00 in Shanghai: "周六" is Saturday 28 November.
SATURDAY = "2026-11-28"
CLOSED = "2026-11-29"


@pytest.fixture
def chat(harness):
    """The harness with sh-jingan taking bookings itself, a booking page, and m-1 known by a past visit there."""
    open_for_booking(SH_STORE, closed_dates=[CLOSED])  # before any request: the store directory caches stores
    harness.container.settings = replace(
        harness.container.settings, public_base_url="https://members.example"
    )
    harness.post(booking_event(start="2026-11-01T15:00:00+08:00", occurred_at="2026-10-30T10:00:00+08:00"))
    return harness


def sms_in(harness, text: str, provider_id: str | None = None, phone: str = HER_PHONE) -> None:
    """A two-way SMS as SNS delivers it to the inbound queue, then the workers run."""
    sns = harness.session.client("sns")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("sms-inbound"))
    sns.publish(
        TopicArn=topic,
        Message=json.dumps(
            {
                "originationNumber": phone,
                "destinationNumber": STORE_SMS,
                "messageBody": text,
                "inboundMessageId": provider_id or f"sms-{uuid.uuid4().hex[:10]}",
            }
        ),
    )
    harness.pump()


def texts_to(harness, phone: str = HER_PHONE, since: int = 0) -> list[str]:
    return [t for p, t in harness.sms()[since:] if p == phone]


def offered(text: str) -> list[tuple[str, str, str]]:
    """(weekday, date, HH:MM) of each numbered slot of an offer."""
    return [(m.group(2), m.group(3), f"{m.group(4)}:{m.group(5)}") for m in SLOT_LINE.finditer(text)]


def conversation() -> ConversationItem:
    return ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1"), consistent_read=True)


def bookings_of(harness, member_id: str = "m-1") -> list[BookingItem]:
    return whole(BookingItem, BookingItem.by_member.query(BookingItem.member_key("demo-chain", member_id)))


def open_starts(harness, day: str, service: str = "cut") -> set[tuple[datetime, str]]:
    store = StoreItem.get(*StoreItem.key(SH_STORE), consistent_read=True)
    slots = harness.container.availability.open_starts(
        StoreCatalog.of(store), service, "any", datetime.fromisoformat(day).date(), 1
    )
    return {(s.start, s.stylist_id) for s in slots}


# ------------------------------------------------------------------------------------------ the offer


def test_she_asks_for_saturday_afternoon_and_gets_three_slots_in_24_hour_times_and_her_link(chat):
    before = len(chat.sms())

    sms_in(chat, "帮我约周六下午剪头发")

    [reply] = texts_to(chat, since=before)
    slots = offered(reply)
    assert len(slots) == 3, reply
    assert all(weekday == "星期六" and day == "11月28日" for weekday, day, _ in slots), reply
    assert all("12:00" <= hhmm <= "17:59" for _, _, hhmm in slots), reply
    assert reply.startswith("【花漾·静安店】") and "剪发" in reply and LINK in reply
    offer = conversation()
    assert offer.offer_id and offer.offer_picked_by is None
    assert [s["start"][:10] for s in offer.offer["slots"]] == [SATURDAY] * 3
    expires = datetime.fromisoformat(offer.offer["expires_at"])
    assert expires == chat.clock.now() + timedelta(minutes=30)


def test_an_english_request_is_answered_in_english_within_the_day_asked(chat):
    _, body = chat.post_message(message_event("can I book a cut for Friday afternoon?"))

    assert body["intent"] == "book"
    [action] = body["actions"]
    assert action["action"] == "offer_slots" and action["result"] == "offered"
    starts = [datetime.fromisoformat(s).astimezone(SH) for s in action["slots"]]
    assert len(starts) == 3
    assert {s.date().isoformat() for s in starts} == {"2026-11-27"} and all(12 <= s.hour < 18 for s in starts)
    [reply] = [
        m
        for m in chat.messages(SH_STORE, "m-1")
        if m["direction"] == "out" and m["kind"] == "reply_book_offer"
    ]
    assert "open times for Haircut" in reply["text"] and "Friday" in reply["text"]


def test_no_day_named_offers_the_next_days(chat):
    _, body = chat.post_message(message_event("想预约剪发"))

    [action] = body["actions"]
    starts = [datetime.fromisoformat(s).astimezone(SH) for s in action["slots"]]
    assert len(starts) == 3
    first = chat.clock.now().astimezone(SH)
    assert all(first + timedelta(minutes=60) <= s < first + timedelta(days=3) for s in starts)


def test_a_day_with_no_open_slot_says_so_and_gives_the_link(chat):
    _, body = chat.post_message(message_event("帮我约11月29日下午剪头发"))

    [action] = body["actions"]
    assert action["result"] == "no_slots" and action["reply_kind"] == "reply_book_offer_none"
    assert conversation().offer_id is None
    [reply] = [m["text"] for m in chat.messages(SH_STORE, "m-1") if m["kind"] == "reply_book_offer_none"]
    assert "没有剪发的空位" in reply and LINK in reply


def test_an_external_store_hands_a_booking_request_to_the_front_desk(harness):
    harness.post(booking_event(store_id=LDN_STORE, member_id="m-ldn", locale="en"))

    _, body = harness.post_message(
        message_event("can I book a cut for Friday?", member_id="m-ldn", store_id=LDN_STORE)
    )

    assert body["intent"] == "book"
    assert [a["action"] for a in body["actions"]] == [
        "needs_human:question",
        "notify_staff:question",
        "reply:reply_front_desk_will_arrange",
    ]
    assert ConversationItem.get(*ConversationItem.key(LDN_STORE, "m-ldn")).status == "needs_human"


# ------------------------------------------------------------------------------------------ the pick


def test_she_answers_1_and_is_booked_for_that_start_which_is_then_gone(chat):
    sms_in(chat, "帮我约周六下午剪头发")
    first = conversation().offer["slots"][0]
    start, stylist = datetime.fromisoformat(first["start"]), first["stylist_id"]
    assert (start, stylist) in open_starts(chat, SATURDAY)
    before = len(chat.sms())

    sms_in(chat, "1")

    [booked] = [b for b in bookings_of(chat) if b.start == start]
    assert booked.status == "booked" and booked.stylist_id == stylist and booked.store_id == SH_STORE
    assert (start, stylist) not in open_starts(chat, SATURDAY)
    texts = texts_to(chat, since=before)
    hhmm = start.astimezone(SH).strftime("%H:%M")
    assert any(t.startswith("【花漾·静安店】好的，已为您约好星期六 11月28日 " + hhmm) for t in texts), texts
    assert conversation().offer_picked_by is not None  # the offer is no longer pending
    _, again = chat.post_message(message_event("1"))
    assert again["intent"] == "confirm"  # no second booking from the same offer
    assert len([b for b in bookings_of(chat) if b.start == start]) == 1


def test_the_same_pick_delivered_twice_books_once(chat):
    sms_in(chat, "帮我约周六下午剪头发")
    start = datetime.fromisoformat(conversation().offer["slots"][1]["start"])

    sms_in(chat, "第二个", provider_id="sms-pick-1")
    sms_in(chat, "第二个", provider_id="sms-pick-1")

    assert len([b for b in bookings_of(chat) if b.start == start]) == 1


def test_1_after_thirty_minutes_keeps_its_old_meaning(chat):
    chat.post(booking_event(booking_id="bk-next", start="2026-12-02T15:00:00+08:00"))
    chat.post_message(message_event("帮我约周六下午剪头发"))
    chat.clock.set(chat.clock.now() + timedelta(minutes=30))

    _, body = chat.post_message(message_event("1"))

    assert body["intent"] == "confirm"
    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-next")).status == "confirmed"
    assert not [b for b in bookings_of(chat) if b.start.astimezone(SH).date().isoformat() == SATURDAY]


def test_1_with_no_offer_keeps_its_old_meaning(chat):
    chat.post(booking_event(booking_id="bk-next", start="2026-12-02T15:00:00+08:00"))

    _, body = chat.post_message(message_event("1"))

    assert body["intent"] == "confirm" and body["actions"][0]["action"] == "confirm_booking"
    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-next")).status == "confirmed"


def test_a_slot_taken_between_offer_and_pick_is_said_honestly_with_fresh_slots(chat):
    chat.post_message(message_event("帮我约周六下午剪头发"))
    first = conversation().offer["slots"][0]
    chat.container.self_booking.book(
        Member("demo-chain", "m-2"),
        SH_STORE,
        {
            "service": "cut",
            "stylist_id": first["stylist_id"],
            "start": first["start"],
            "idempotency_key": "other-1",
        },
    )

    _, body = chat.post_message(message_event("1"))

    [action] = body["actions"]
    assert action["action"] == "book_offered_slot" and action["error"] == "slot_taken"
    assert action["reply_kind"] == "reply_book_taken" and action["result"] == "offered"
    taken = datetime.fromisoformat(first["start"])
    assert not [b for b in bookings_of(chat) if b.start == taken]
    fresh = conversation()
    assert fresh.offer_picked_by is None and all(
        (datetime.fromisoformat(s["start"]), s["stylist_id"]) in open_starts(chat, SATURDAY)
        for s in fresh.offer["slots"]
    )
    [reply] = [m["text"] for m in chat.messages(SH_STORE, "m-1") if m["kind"] == "reply_book_taken"]
    assert "已经被约走了" in reply and len(offered(reply)) == len(fresh.offer["slots"]) >= 1


# ------------------------------------------------------------------------------------- other answers


def test_a_number_the_chain_does_not_know_gets_only_the_link(chat):
    stranger = "+8613911112222"

    sms_in(chat, "帮我约周六下午剪头发", phone=stranger)

    [reply] = texts_to(chat, phone=stranger)
    assert reply == f"【花漾·静安店】请在这里预约（用手机号验证即可）：{LINK}"
    assert not offered(reply)


def test_no_service_named_and_none_before_asks_which_listing_the_stores(chat):
    _, body = chat.post_message(message_event("想预约", member_id="m-new"))

    [action] = body["actions"]
    assert action["result"] == "asked_service"
    [reply] = [m["text"] for m in chat.messages(SH_STORE, "m-new") if m["kind"] == "reply_book_which_service"]
    assert "我们有：剪发、染发" in reply and LINK in reply
    assert ConversationItem.get(*ConversationItem.key(SH_STORE, "m-new")).offer_id is None


def test_her_last_service_is_offered_when_she_names_none(chat):
    visit = {
        "booking_id": "bk-colour",
        "member_id": "m-3",
        "start": "2026-11-20T15:00:00+08:00",
        "service": {"code": "colour", "name": "染发", "category": "hair_colour"},
    }
    chat.post(booking_event(**visit, occurred_at="2026-11-18T10:00:00+08:00"))
    chat.post(booking_event(**visit, type="booking.completed", occurred_at="2026-11-20T17:00:00+08:00"))

    _, body = chat.post_message(message_event("帮我约周六下午", member_id="m-3"))

    [action] = body["actions"]
    assert action["result"] == "offered"
    offer = ConversationItem.get(*ConversationItem.key(SH_STORE, "m-3")).offer
    assert offer["service_code"] == "colour"


def test_a_pick_processed_again_after_a_crash_books_once_and_answers_once(chat):
    chat.post_message(message_event("帮我约周六下午剪头发"))
    first = conversation().offer["slots"][0]
    start = datetime.fromisoformat(first["start"])
    _, body = chat.post_message(message_event("1", msg_id="pick-crash"))
    assert body["actions"][0]["result"] == "booked"
    [pick] = [m for m in chat.messages(SH_STORE, "m-1") if m["direction"] == "in" and m["text"] == "1"]
    stored = next(
        m
        for m in MessageItem.query(ConversationItem.key(SH_STORE, "m-1")[0])
        if m.direction == "in" and m.text == "1"
    )
    stored.update(actions=[MessageItem.processed.set(False)])  # as if the worker died before recording it
    before = len(chat.messages(SH_STORE, "m-1"))

    again = chat.container.inbound.process(MessageItem.get(stored.pk, stored.sk, consistent_read=True))

    assert again.intent == "book" and again.actions[0]["result"] == "booked"
    assert again.actions[0]["booking_id"] == body["actions"][0]["booking_id"]
    assert len([b for b in bookings_of(chat) if b.start == start]) == 1
    assert len(chat.messages(SH_STORE, "m-1")) == before  # no second answer
    assert pick["intent"] == "book"


def test_a_service_the_store_does_not_offer_is_said_so(chat):
    _, body = chat.post_message(message_event("想预约做个指甲"))

    [action] = body["actions"]
    assert action["result"] == "asked_service"
    [reply] = [m["text"] for m in chat.messages(SH_STORE, "m-1") if m["kind"] == "reply_book_which_service"]
    assert reply.startswith(
        "【花漾·静安店】抱歉，本店暂时没有您说的项目。想预约哪个项目呢？我们有：剪发、染发。"
    )


def test_on_wechat_she_asks_and_picks_the_second_and_both_answers_come_by_customer_service(chat):
    event = booking_event(
        booking_id="bk-wx", start="2026-11-02T15:00:00+08:00", occurred_at="2026-10-30T10:00:00+08:00"
    )
    event["booking"]["member"]["wechat_openid"] = "o-linked"
    chat.post(event)

    chat.wechat(SH_STORE, wechat_text("o-linked", "帮我约周六下午剪头发", msg_id="8001"))
    chat.pump()
    second = conversation().offer["slots"][1]
    chat.wechat(SH_STORE, wechat_text("o-linked", "第二个", msg_id="8002"))
    chat.pump()

    offer, done, *journey = [m["text"]["content"] for m in chat.fakes["wechat"].sent]
    assert len(offered(offer)) == 3 and LINK in offer
    # The booking's own confirmation follows by customer service too: the channel router's WeChat window (issue 15).
    [confirmation] = journey
    assert confirmation.startswith("【花漾·静安店】")
    start = datetime.fromisoformat(second["start"])
    assert done.startswith(
        "【花漾·静安店】好的，已为您约好星期六 11月28日 " + start.astimezone(SH).strftime("%H:%M")
    )
    assert [b.stylist_id for b in bookings_of(chat) if b.start == start] == [second["stylist_id"]]


def test_a_slot_too_close_by_the_time_she_picks_is_said_honestly_with_later_slots(chat):
    _, body = chat.post_message(message_event("帮我约今天剪头发"))
    first = datetime.fromisoformat(body["actions"][0]["slots"][0])
    assert first == chat.clock.now() + timedelta(minutes=60)  # the earliest the store's lead time allows
    chat.clock.set(chat.clock.now() + timedelta(minutes=29))

    _, picked = chat.post_message(message_event("1"))

    [action] = picked["actions"]
    assert action["error"] != "slot_taken" and action["reply_kind"] == "reply_book_taken"
    assert not [b for b in bookings_of(chat) if b.start == first]
    assert all(datetime.fromisoformat(s) >= chat.clock.now() + timedelta(minutes=60) for s in action["slots"])
    [reply] = [m["text"] for m in chat.messages(SH_STORE, "m-1") if m["kind"] == "reply_book_taken"]
    assert "那个时间现在已经约不了了" in reply and "被约走" not in reply
