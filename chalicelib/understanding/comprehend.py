"""Amazon Comprehend's sentiment behind the `Classifier` interface.

`ComprehendSentimentClassifier(inner, comprehend_client)` takes the intent (and requested time, aftercare
issue) from `inner` - normally the local rules classifier - and the sentiment from Comprehend's
DetectSentiment (LanguageCode "zh" for replies with Chinese characters or a Chinese locale, else "en"):

    POSITIVE -> positive, NEUTRAL -> neutral, NEGATIVE -> negative,
    MIXED    -> the rules' sentiment when it has one, else whichever of Positive/Negative scores higher.

Safety rules:
- A complaint is never downgraded: it stays negative, and Comprehend is not even asked.
- A reply the rules could not place (question / other) that Comprehend finds clearly negative
  (Negative score >= `escalate_at`) becomes a complaint: complaints must never be missed.
- Comprehend failing (throttling, network, validation) never fails the reply: the rules' answer is used.

Cost/latency: one DetectSentiment call per reply (text truncated to Comprehend's 5,000-byte limit);
Bedrock could sit behind the same interface the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from chalicelib.understanding import Classifier, Understanding

_log = logging.getLogger(__name__)

MAX_BYTES = 4_900  # DetectSentiment accepts up to 5,000 bytes of UTF-8
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MAP = {"POSITIVE": "positive", "NEUTRAL": "neutral", "NEGATIVE": "negative"}


def _truncate_utf8(text: str, limit: int = MAX_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def language_code(text: str, locale: str | None) -> str:
    """ "zh" when the reply has Chinese characters (or is empty of letters and the member's locale is
    Chinese), else "en"."""
    if _HAN.search(text):
        return "zh"
    if not re.search("[A-Za-z]", text) and (locale or "").lower().startswith("zh"):
        return "zh"
    return "en"


class ComprehendSentimentClassifier:
    """Intent from `inner`, sentiment from Amazon Comprehend (`comprehend_client` is a boto3 client)."""

    def __init__(self, inner: Classifier, comprehend_client: Any, *, escalate_at: float = 0.8) -> None:
        self._inner = inner
        self._client = comprehend_client
        self._escalate_at = escalate_at

    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        understood = self._inner.classify(text, category=category, locale=locale)
        if understood.intent == "complaint" or not isinstance(text, str) or not text.strip():
            return understood
        try:
            response = self._client.detect_sentiment(
                Text=_truncate_utf8(text), LanguageCode=language_code(text, locale)
            )
        except Exception as exc:  # noqa: BLE001 - Comprehend is an enhancement, never a point of failure
            _log.warning("comprehend detect_sentiment failed, keeping the rules' sentiment: %s", exc)
            return understood
        scores = response.get("SentimentScore") or {}
        label = str(response.get("Sentiment", "")).upper()
        if label in _MAP:
            sentiment = _MAP[label]
        elif label == "MIXED":
            if understood.sentiment != "neutral":
                sentiment = understood.sentiment
            else:
                positive, negative = float(scores.get("Positive", 0.0)), float(scores.get("Negative", 0.0))
                sentiment = "negative" if negative >= positive else "positive"
        else:
            return understood
        if (
            understood.intent in ("question", "other")
            and sentiment == "negative"
            and float(scores.get("Negative", 0.0)) >= self._escalate_at
        ):
            return dataclasses.replace(understood, intent="complaint", sentiment="negative", confidence=0.6)
        return dataclasses.replace(understood, sentiment=sentiment)
