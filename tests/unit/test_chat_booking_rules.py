"""Booking by chat, without AWS: the `book` intent and what it asks for, picks by number, and which slots are
offered (chalicelib/understanding/classifier.py, understanding/picks.py, conversations/chat_booking.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.clock import FixedClock
from chalicelib.conversations.chat_booking import Window, choose, idempotency_key, offer_id_for, window_for
from chalicelib.conversations.inbound import actions_for, pick_actions
from chalicelib.dal.conversations import OfferedSlot, PendingOffer
from chalicelib.understanding.classifier import RulesClassifier
from chalicelib.understanding.picks import pick

SH = ZoneInfo("Asia/Shanghai")
# Wednesday 9 December 2026, 10:00 in Shanghai.
NOW = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 9)


@pytest.fixture(scope="module")
def clf() -> RulesClassifier:
    return RulesClassifier(clock=FixedClock(NOW), timezone="Asia/Shanghai")


# ------------------------------------------------------------------------------------------ the intent


@pytest.mark.parametrize(
    "text",
    [
        "帮我约周六下午",
        "想预约做个指甲",
        "can I book a cut for Friday?",
        "周末有空位吗我想剪头发",
        "我想约个剪发，明天上午可以吗",
        "I'd like to book a haircut please",
        "Can I make an appointment for nails on Saturday afternoon?",
        "book me in for a trim next week pls",
        "預約週六剪髮",
        "约剪发 周六下午",  # as the which-service reply suggests
        "book haircut saturday afternoon",
    ],
)
def test_a_request_for_a_new_booking_is_book(clf, text):
    assert clf.classify(text).intent == "book"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("改到周六", "reschedule"),
        ("帮我把预约改到周六下午", "reschedule"),
        ("can I move my booking to Friday?", "reschedule"),
        ("周六下午三点有位置吗", "reschedule"),  # a time with a request: the house's reschedule convention
        ("请问怎么预约", "question"),
        ("how do I book online?", "question"),
        ("预约要交定金吗", "question"),
        ("剪发多少钱呀", "question"),
        ("取消预约", "cancel"),
        ("不想约了，取消吧", "cancel"),
        ("确认预约", "confirm"),
        ("1", "confirm"),
        ("Thanks for the reminder but I booked for my daughter", "other"),
        ("烫坏了，我要投诉，帮我约个时间重做", "complaint"),
    ],
)
def test_a_move_a_question_a_cancel_or_a_complaint_is_no_book(clf, text, expected):
    assert clf.classify(text).intent == expected


def test_book_names_the_day_the_part_of_day_and_the_service(clf):
    u = clf.classify("帮我约周六下午剪头发")
    assert u.intent == "book" and u.service == "hair_cut"
    assert u.requested is not None
    assert u.requested["weekday"] == 5 and u.requested["part_of_day"] == "afternoon"
    assert u.requested["weekend"] is False and u.requested["next_week"] is False


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("想预约做个指甲", "nail"),
        ("could I get a gel manicure tomorrow evening?", "nail"),
        ("我要预约染发", "hair_colour"),
        ("can you fit me in for a perm this weekend?", "perm"),
        ("想做个护理，帮我约下后天", "hair_care"),
        ("can I book a cut for Friday?", "hair_cut"),
        ("帮我约周六下午", None),
    ],
)
def test_book_names_the_kind_of_service(clf, text, service):
    u = clf.classify(text)
    assert u.intent == "book" and u.service == service


def test_the_weekend_and_next_week_are_understood(clf):
    weekend = clf.classify("周末有空位吗我想剪头发").requested
    assert weekend is not None and weekend["weekend"] is True
    next_week = clf.classify("下周三晚上想来做指甲，帮我约一下").requested
    assert next_week is not None and next_week["next_week"] is True and next_week["weekday"] == 2
    assert next_week["part_of_day"] == "evening"


# ------------------------------------------------------------------------------------------- picks


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1", 1),
        ("2", 2),
        ("3", 3),
        ("１", 1),
        ("2️⃣", 2),
        ("第一个", 1),
        ("第二个", 2),
        ("第三个吧", 3),
        ("1号", 1),
        ("选2", 2),
        ("选第三个", 3),
        ("1，谢谢", 1),
        ("option 2", 2),
        ("the first one", 1),
        ("2 please", 2),
        ("#3", 3),
        ("I'll take the second one", 2),
        ("Second", 2),
    ],
)
def test_a_pick_by_number(text, number):
    assert pick(text, 3) == number


@pytest.mark.parametrize("text", ["4", "第四个", "12", "1点可以吗", "我11号来", "好的", "ok", "", "1 2"])
def test_what_is_no_pick_of_three(text):
    assert pick(text, 3) is None


def test_a_pick_beyond_the_slots_offered_is_no_pick():
    assert pick("3", 2) is None and pick("2", 2) == 2


# --------------------------------------------------------------------------------------- the window


@pytest.mark.parametrize(
    ("requested", "window"),
    [
        (None, Window(TODAY, 3)),
        ({"weekday": 5, "part_of_day": "afternoon"}, Window(date(2026, 12, 12), 1, "afternoon")),
        ({"weekday": 2}, Window(TODAY, 1)),  # said on a Wednesday: today
        ({"weekday": 2, "next_week": True}, Window(date(2026, 12, 16), 1)),
        ({"relative_day": "tomorrow", "part_of_day": "morning"}, Window(date(2026, 12, 10), 1, "morning")),
        ({"date": "2026-12-20", "time": "15:00"}, Window(date(2026, 12, 20), 1, None, time(15, 0))),
        ({"weekend": True}, Window(date(2026, 12, 12), 2)),
    ],
)
def test_the_days_she_asked_for(requested, window):
    assert window_for(requested, TODAY) == window


@dataclass(frozen=True)
class _Slot:
    start: datetime
    stylist_id: str
    stylist_name: str


def _slots(day: date, hours: list[tuple[int, int]], stylists: tuple[str, ...] = ("s1", "s2")) -> list[_Slot]:
    return [
        _Slot(datetime(day.year, day.month, day.day, h, m, tzinfo=SH), s, s.upper())
        for h, m in hours
        for s in stylists
    ]


def test_three_slots_in_the_part_of_day_an_hour_apart_one_per_start():
    saturday = date(2026, 12, 12)
    grid = [(h, m) for h in range(10, 21) for m in (0, 15, 30, 45)]
    chosen = choose(_slots(saturday, grid), Window(saturday, 1, "afternoon"), SH)
    starts = [s.start.astimezone(SH).strftime("%H:%M") for s in chosen]
    assert starts == ["12:00", "13:00", "14:00"]
    assert all(s.stylist_id == "s1" for s in chosen)


def test_an_afternoon_with_few_starts_is_filled_with_the_nearest():
    saturday = date(2026, 12, 12)
    chosen = choose(
        _slots(saturday, [(11, 45), (17, 30), (17, 45), (18, 0)]), Window(saturday, 1, "afternoon"), SH
    )
    assert [s.start.astimezone(SH).strftime("%H:%M") for s in chosen] == ["17:30", "17:45"]


def test_a_named_time_offers_the_nearest_starts():
    saturday = date(2026, 12, 12)
    grid = [(h, 0) for h in range(10, 21)]
    chosen = choose(_slots(saturday, grid), Window(saturday, 1, None, time(15, 0)), SH)
    assert [s.start.astimezone(SH).strftime("%H:%M") for s in chosen] == ["14:00", "15:00", "16:00"]


def test_no_open_start_offers_nothing():
    assert choose([], Window(TODAY, 3), SH) == []


# ------------------------------------------------------------------------------ offers and their picks


def test_an_offer_is_open_to_a_pick_for_thirty_minutes_and_to_one_message():
    offer = PendingOffer(
        "of-1",
        "svc-cut",
        (OfferedSlot(NOW + timedelta(days=1), "s1", "S1"),),
        expires_at=NOW + timedelta(minutes=30),
    )
    assert offer.open_to("in-a", NOW + timedelta(minutes=29))
    assert not offer.open_to("in-a", NOW + timedelta(minutes=30))
    taken = PendingOffer(**{**offer.__dict__, "picked_by": "in-a"})
    assert taken.open_to("in-a", NOW) and not taken.open_to("in-b", NOW)


def test_a_retried_pick_books_with_the_same_key():
    assert offer_id_for("in-sms-abc") == offer_id_for("in-sms-abc") != offer_id_for("in-sms-abd")
    assert idempotency_key("of-1", 2) == idempotency_key("of-1", 2) != idempotency_key("of-1", 1)


def test_the_actions_of_a_book_request_and_of_a_pick():
    assert actions_for("book", "neutral") == ["offer_slots"]
    assert actions_for("book", "neutral", books_here=False) == [
        "needs_human:question",
        "notify_staff:question",
        "reply:reply_front_desk_will_arrange",
    ]
    assert pick_actions() == ["book_offered_slot"]
    assert actions_for("confirm", "neutral") == ["confirm_booking", "reply:reply_confirm_thanks"]
