"""Issue 16 on mock_aws, through the message webhook and the inbound service: replies that lean to a complaint
go to a person, an unsure booking reply goes to staff and touches no booking, opt-out keywords act exactly,
"1" picks an offered slot or confirms, and a polite cancel either cancels or reaches staff."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem
from chalicelib.understanding import Understanding
from tests.integration.test_chat import message_event
from tests.integration.test_chat_booking import bookings_of, chat, conversation, sms_in  # noqa: F401
from tests.support.builders import SH_STORE, booking_event

STORE_PHONE = "+862162880000"
HOLDING = "收到，我们的同事马上为您处理～"


def member() -> MemberItem:
    return MemberItem.get(*MemberItem.key("demo-chain", "m-1"), consistent_read=True)


def booking(booking_id: str = "bk-1") -> BookingItem:
    return BookingItem.get(*BookingItem.key("demo-chain", booking_id), consistent_read=True)


def status() -> tuple[str, str | None]:
    c = ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1"), consistent_read=True)
    return c.status, c.needs_human_reason


def actions(body: dict) -> set[str]:
    return {a["action"] for a in body["actions"]}


class Fixed:
    """A classifier that answers one fixed Understanding (the confidence a test needs, whatever the model)."""

    def __init__(self, understood: Understanding) -> None:
        self.understood = understood

    def classify(self, text, *, category=None, locale=None) -> Understanding:
        return self.understood


def classify_as(harness, understood: Understanding) -> None:
    harness.container.__dict__["_reply_classifier"] = Fixed(understood)


# ------------------------------------------------------------------------------- complaint-leaning


@pytest.mark.parametrize(
    "text",
    [
        "小红书见吧 照片我都留着呢",  # a review threat
        "我要退卡",  # a refund demand
        "我真的会谢",  # sarcasm
        "等了一个多小时了 你们是把我忘了吗？？？",  # a rhetorical question about service
    ],
)
def test_a_complaint_leaning_reply_goes_to_a_person_whatever_its_intent(harness, text):
    harness.post(booking_event())
    before = len(harness.sms())

    status_code, body = harness.post_message(message_event(text))

    assert status_code == 200, body
    assert {"needs_human", "notify_staff", "pause_marketing"} <= {a.partition(":")[0] for a in actions(body)}
    assert status()[0] == "needs_human"
    assert member().marketing_paused is True
    assert any(phone == STORE_PHONE for phone, _ in harness.sms()[before:])  # the store was told
    assert not {"confirm_booking", "notify_booking_system"} & actions(body)


def test_sarcastic_praise_gets_no_thank_you_but_a_person(harness):
    harness.post(booking_event())
    classify_as(harness, Understanding("praise", "positive", confidence=0.8, signals=("sarcasm",)))
    before = len(harness.sms())

    _, body = harness.post_message(message_event("Thanks a lot."))

    assert "reply:reply_praise_thanks" not in actions(body) and "reply:reply_holding" in actions(body)
    assert status() == ("needs_human", "sarcasm")
    assert any(HOLDING in t for _, t in harness.sms()[before:])


# ------------------------------------------------------------------------------------ low confidence


@pytest.mark.parametrize("intent", ["confirm", "cancel", "reschedule"])
def test_an_unsure_booking_reply_goes_to_staff_with_the_guess_and_touches_no_booking(harness, intent):
    harness.post(booking_event())
    classify_as(harness, Understanding(intent, "neutral", confidence=0.5, best_guess=intent))
    before = len(harness.sms())

    _, body = harness.post_message(message_event("嗯那个…"))

    assert body["intent"] == intent
    assert not {"confirm_booking", "notify_booking_system"} & actions(body)
    assert booking().status == "booked" and harness.fakes["booking"].received == []
    assert status() == ("needs_human", f"unsure_{intent}")
    sent = harness.sms()[before:]
    assert any(phone == STORE_PHONE and f"unsure_{intent}" in t for phone, t in sent)  # the guess, to staff
    assert any(phone == "+8613800138000" and HOLDING in t for phone, t in sent)  # honest holding reply


def test_the_same_cancel_at_its_threshold_goes_to_the_booking_system(harness):
    harness.post(booking_event())
    classify_as(harness, Understanding("cancel", "neutral", confidence=0.7, best_guess="cancel"))

    _, body = harness.post_message(message_event("取消吧"))

    assert "notify_booking_system" in actions(body)
    [request] = harness.fakes["booking"].received
    assert request["body"]["type"] == "member.cancel_requested" and request["body"]["booking_id"] == "bk-1"
    assert status()[0] != "needs_human"


def test_an_opt_out_only_the_model_saw_pauses_marketing_and_asks_her_to_confirm(harness):
    harness.post(booking_event())
    classify_as(harness, Understanding("opt_out", "neutral", confidence=0.45, best_guess="opt_out"))
    before = len(harness.sms())

    _, body = harness.post_message(message_event("这些活动我就不看了哈"))

    assert "opt_out" not in actions(body) and "pause_marketing" in actions(body)
    assert member().marketing_consent is not False  # consent is not withdrawn on a guess
    assert member().marketing_paused is True
    assert status() == ("needs_human", "unsure_opt_out")
    sent = harness.sms()[before:]
    assert any(phone == STORE_PHONE and "unsure_opt_out" in t for phone, t in sent)
    assert any(phone == "+8613800138000" and "请回复“退订”" in t for phone, t in sent)


# ------------------------------------------------------------------------------- with the real model


@pytest.mark.parametrize("text", ["END", "quit", "Arret"])
def test_every_carrier_opt_out_keyword_but_cancel_opts_her_out_exactly(harness, text):
    harness.post(booking_event())

    _, body = harness.post_message(message_event(text))

    assert body["intent"] == "opt_out" and member().marketing_consent is False


@pytest.mark.parametrize("text", ["TD", "td", "退订", "STOP", "unsubscribe", "退订！"])
def test_an_opt_out_keyword_opts_her_out_exactly(harness, text):
    harness.post(booking_event())

    _, body = harness.post_message(message_event(text))

    assert body["intent"] == "opt_out" and "opt_out" in actions(body)
    assert member().marketing_consent is False


@pytest.mark.parametrize("text", ["I'll stop by tomorrow", "退款的事情怎么说", "订了周五的"])
def test_a_near_miss_of_an_opt_out_keyword_never_opts_her_out(harness, text):
    harness.post(booking_event())

    _, body = harness.post_message(message_event(text))

    assert "opt_out" not in actions(body)
    assert member().marketing_consent is not False


def test_a_polite_cancel_either_cancels_or_reaches_staff(harness):
    harness.post(booking_event(start="2026-11-23T15:00:00+08:00"))  # tomorrow
    before = len(harness.sms())

    _, body = harness.post_message(message_event("明天那个位置不用给我留了"))

    cancelled = "notify_booking_system" in actions(body) and harness.fakes["booking"].received
    to_staff = status()[0] == "needs_human" and any(p == STORE_PHONE for p, _ in harness.sms()[before:])
    assert cancelled or to_staff, body


def test_1_picks_the_offered_slot_while_an_offer_is_pending_and_confirms_otherwise(chat):  # noqa: F811
    chat.post(booking_event(booking_id="bk-next", start="2026-12-02T15:00:00+08:00"))
    sms_in(chat, "帮我约周六下午剪头发")
    offered = datetime.fromisoformat(conversation().offer["slots"][0]["start"])

    sms_in(chat, "1")  # picks the first slot offered

    [picked] = [b for b in bookings_of(chat) if b.start == offered]
    assert picked.status == "booked" and booking("bk-next").status == "booked"  # the pick confirmed nothing

    _, body = chat.post_message(message_event("1"))  # no offer pending now: a confirmation of her next visit

    assert body["intent"] == "confirm"
    [confirmed] = [a for a in body["actions"] if a["action"] == "confirm_booking"]
    assert confirmed["result"] == "confirmed" and confirmed["booking_id"] == picked.booking_id
    assert len([b for b in bookings_of(chat) if b.start == offered]) == 1  # and booked nothing more
