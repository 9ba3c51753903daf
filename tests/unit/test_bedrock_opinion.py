"""The second opinion's pure parts (issue 16 §5): the chain setting, the strict answer parser, the Converse
request, and the one rule that combines two opinions."""

from __future__ import annotations

import pytest

from chalicelib.understanding import Understanding
from chalicelib.understanding.bedrock import (
    answer_text,
    combine,
    converse_request,
    parse_opinion,
    parse_settings,
)


def test_a_chain_setting_is_validated_and_off_when_absent():
    assert parse_settings(None) is None
    assert parse_settings({"provider": "off"}) is None
    got = parse_settings({"provider": "bedrock", "model_id": "m", "min_confidence": 0.6, "budget_ms": 1500})
    assert got is not None and (got.min_confidence, got.budget_ms, got.region) == (0.6, 1500, None)
    with pytest.raises(ValueError) as bad:
        parse_settings({"provider": "openai", "model_id": "", "min_confidence": 2, "budget_ms": 10, "x": 1})
    for field in ("provider", "model_id", "min_confidence", "budget_ms", "x"):
        assert f"{field}:" in str(bad.value)
    with pytest.raises(ValueError):
        parse_settings({"provider": "bedrock", "model_id": "m", "budget_ms": True})


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"intent": "complaint", "sentiment": "negative"}', ("complaint", "negative")),
        ('  {"sentiment": "neutral", "intent": "cancel"}\n', ("cancel", "neutral")),
        ('```json\n{"intent": "complaint", "sentiment": "negative"}\n```', None),
        ('{"intent": "complaint", "sentiment": "negative", "why": "rude"}', None),
        ('{"intent": "angry", "sentiment": "negative"}', None),
        ('{"intent": "complaint", "sentiment": "very negative"}', None),
        ("complaint", None),
        ('["complaint", "negative"]', None),
        (None, None),
    ],
)
def test_only_exactly_the_asked_json_is_an_opinion(text, expected):
    assert parse_opinion(text) == expected


def test_the_request_is_converses_shape_and_a_cut_off_answer_is_none():
    request = converse_request("model-1", "我要退卡", "perm", "zh-CN")
    assert request["modelId"] == "model-1"
    assert request["system"][0]["text"] and request["inferenceConfig"]["temperature"] == 0
    [message] = request["messages"]
    assert message["role"] == "user" and "<reply>\n我要退卡\n</reply>" in message["content"][0]["text"]
    done = {
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": "end_turn",
    }
    assert answer_text(done) == "x"
    assert answer_text({**done, "stopReason": "max_tokens"}) is None
    assert answer_text({"stopReason": "end_turn", "output": {}}) is None


def local(intent: str, sentiment: str = "neutral", confidence: float = 0.4) -> Understanding:
    return Understanding(intent, sentiment, confidence=confidence)


def test_the_hosted_intent_replaces_an_unsure_local_one():
    got = combine(local("question"), Understanding("complaint", "negative", confidence=0.0))
    assert (got.intent, got.sentiment, got.confidence) == ("complaint", "negative", 0.4)


@pytest.mark.parametrize("protected", ["complaint", "opt_out"])
def test_a_complaint_or_an_opt_out_is_never_made_milder(protected):
    got = combine(local(protected, "negative"), Understanding("praise", "positive"))
    assert (got.intent, got.sentiment) == (protected, "negative")


def test_negative_wins_the_sentiment_and_no_opinion_changes_nothing():
    assert combine(local("cancel"), Understanding("cancel", "negative")).sentiment == "negative"
    assert combine(local("other", "negative"), Understanding("praise", "positive")).sentiment == "negative"
    assert combine(local("other"), None) == local("other")
