"""Issue 17: reading a member's answer to the feedback request (understanding/feedback_score.py) and the pure
send-time rules of services/feedback.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.dal.models import StoreItem
from chalicelib.services.feedback import review_link, settings_of, skip_reason
from chalicelib.understanding.feedback_score import FeedbackAnswer, from_understanding, parse


@pytest.mark.parametrize(
    ("text", "score", "sentiment"),
    [
        ("1", 1, "negative"),
        ("2", 2, "negative"),
        ("3", 3, "neutral"),
        ("4", 4, "positive"),
        ("5", 5, "positive"),
        (" 5 ", 5, "positive"),
        ("５", 5, "positive"),  # full-width
        ("２", 2, "negative"),
        ("五", 5, "positive"),
        ("三", 3, "neutral"),
        ("一分", 1, "negative"),
        ("两分", 2, "negative"),
        ("给5分", 5, "positive"),
        ("打个2分吧", 2, "negative"),
        ("五星好评", 5, "positive"),
        ("4 stars", 4, "positive"),
        ("5/5", 5, "positive"),
        ("3！", 3, "neutral"),
    ],
)
def test_a_score_in_digits_or_numerals(text, score, sentiment):
    assert parse(text) == FeedbackAnswer(score, sentiment, "score")


@pytest.mark.parametrize(
    ("text", "score"),
    [("⭐⭐⭐⭐⭐", 5), ("⭐", 1), ("★★★☆☆", 3), ("⭐ ⭐", 2), ("🌟🌟🌟🌟", 4), ("⭐⭐⭐⭐⭐⭐⭐", 5)],
)
def test_each_star_is_a_point_at_most_five(text, score):
    answer = parse(text)
    assert answer is not None and answer.score == score and answer.read_as == "stars"


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("👍", "positive"),
        ("👍🏻👍🏻", "positive"),
        ("👎", "negative"),
        ("👎🏽", "negative"),
        ("😡", "negative"),
    ],
)
def test_thumbs_give_a_sentiment_and_no_score(text, sentiment):
    assert parse(text) == FeedbackAnswer(None, sentiment, "emoji")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "6",
        "15",
        "一",  # 一下, 一个: not clearly a score alone
        "二",
        "👍👎",  # both ways: not an answer
        "太失望了",  # free text: the classifier reads it
        "5点可以吗",
        "周5下午",
        "我想约5号",
    ],
)
def test_what_is_not_a_bare_score(text):
    assert parse(text) is None


@pytest.mark.parametrize(
    ("intent", "sentiment", "expected"),
    [
        ("complaint", "negative", "negative"),
        ("complaint", "neutral", "negative"),
        ("aftercare_issue", "negative", "negative"),
        ("other", "negative", "negative"),
        ("praise", "positive", "positive"),
        ("praise", "neutral", None),
        ("book", "neutral", None),
        ("question", "neutral", None),
        ("aftercare_issue", "neutral", None),  # a care question, not a verdict
        ("reschedule", "positive", None),
    ],
)
def test_free_text_through_the_classifiers_reading(intent, sentiment, expected):
    answer = from_understanding(intent, sentiment)
    assert (answer.sentiment if answer else None) == expected


def _booking(feedback: str | None = None):
    return SimpleNamespace(feedback_sentiment=feedback)


def test_skip_guards_hold_only_when_their_fact_does():
    guards = ("needs_human", "marketing_paused", "no_feedback_answer")
    open_conv = SimpleNamespace(status="open")
    with_person = SimpleNamespace(status="needs_human")
    member = SimpleNamespace(marketing_paused=None)
    paused = SimpleNamespace(marketing_paused=True)
    send, skip = settings_of(None), settings_of({"no_answer": "skip"})

    assert skip_reason(guards, _booking("positive"), member, open_conv, send) is None
    assert skip_reason(guards, _booking("positive"), member, with_person, send) == "needs_human"
    assert skip_reason(guards, _booking("positive"), paused, open_conv, send) == "marketing_paused"
    assert skip_reason(guards, _booking(None), member, open_conv, send) is None  # default: send_review
    assert skip_reason(guards, _booking(None), member, open_conv, skip) == "no_feedback_answer"
    assert skip_reason(guards, _booking("neutral"), member, open_conv, skip) is None
    assert skip_reason((), _booking(None), paused, with_person, skip) is None  # a step without guards
    assert skip_reason(guards, _booking("positive"), None, None, send) is None  # no profile, no conversation


def test_a_bad_no_answer_setting_falls_back_to_the_default():
    assert settings_of({"no_answer": "maybe"})["no_answer"] == "send_review"


def test_the_review_link_is_the_first_her_locale_matches():
    store = StoreItem(
        "STORE#s",
        "STORE",
        locale="zh-CN",
        review_links=[
            {"label": "大众点评", "url": "https://dp.example/r", "locales": ["zh-CN"]},
            {"label": "Google", "url": "https://g.example/r"},
        ],
    )
    assert review_link(store, "zh")["url"] == "https://dp.example/r"
    assert review_link(store, "en-GB") == {"label": "Google", "url": "https://g.example/r"}
    assert review_link(store, None)["label"] == "大众点评"  # the store's locale
    assert review_link(StoreItem("STORE#t", "STORE"), "en") == {}
