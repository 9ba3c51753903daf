"""A member's answer to the feedback request, read as a score (1-5) and a sentiment (feedback.toml).

`parse(text)` reads what needs no classifier: a digit 1-5 (also full-width, and Chinese numerals where they are
unambiguous), a score with its words around it ("给5分", "五星好评", "4 stars"), star emoji (each ⭐/★ a point) and
thumbs (👍 positive, 👎 negative, no score). `from_understanding(intent, sentiment)` reads a free-text answer the
reply classifier understood: a complaint or a negative reading is negative, praise read positive is positive,
anything else is no answer to the feedback request (it is handled as a usual message). Pure: data in, answer out.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FeedbackAnswer:
    score: int | None  # 1-5, None for a thumbs emoji or free text
    sentiment: str  # positive | neutral | negative
    read_as: str  # score | stars | emoji | text


@cache
def _table() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).parent / "feedback.toml").read_text(encoding="utf-8"))


def sentiment_of(score: int) -> str:
    return str(_table()["score_sentiment"][str(score)])


def _scored(score: int, read_as: str) -> FeedbackAnswer:
    return FeedbackAnswer(score, sentiment_of(score), read_as)


@cache
def _score_pattern() -> re.Pattern[str]:
    table = _table()
    around = table["around"]

    def alternatives(words: list[str]) -> str:
        return "|".join(re.escape(w.replace(" ", "")) for w in sorted(words, key=len, reverse=True))

    numerals = "".join(k for k in table["numerals"] if k != "alone")
    return re.compile(
        f"^(?:{alternatives(around['before'])})?(?P<n>[1-5]|[{numerals}])(?P<after>(?:{alternatives(around['after'])})*)$"
    )


def parse(text: str) -> FeedbackAnswer | None:
    """The score or sentiment `text` gives without a classifier, or None (free text, or not an answer)."""
    if not text:
        return None
    folded = _SPACE.sub("", _SKIN_TONES.sub("", unicodedata.normalize("NFKC", text))).lower()
    if not folded:
        return None
    emoji = _table()["emoji"]
    stars = sum(folded.count(s) for s in emoji["stars"])
    rest = folded
    for symbol in emoji["stars"] + emoji["empty_stars"]:
        rest = rest.replace(symbol, "")
    if stars and not rest:
        return _scored(min(stars, 5), "stars")
    signs = {"positive": 0, "negative": 0}
    leftover = folded
    for sentiment in signs:
        for symbol in sorted(emoji[sentiment], key=len, reverse=True):
            signs[sentiment] += leftover.count(symbol)
            leftover = leftover.replace(symbol, "")
    if not leftover and (signs["positive"] > 0) != (signs["negative"] > 0):
        return FeedbackAnswer(None, "positive" if signs["positive"] else "negative", "emoji")
    match = _score_pattern().match(folded)
    if match is None:
        return None
    numeral = match["n"]
    if numeral.isdigit():
        return _scored(int(numeral), "score")
    numerals = _table()["numerals"]
    if not match["after"] and numeral not in numerals["alone"]:
        return None  # "一" / "二" alone: not clearly a score
    return _scored(int(numerals[numeral]), "score")


def from_understanding(intent: str, sentiment: str) -> FeedbackAnswer | None:
    """A free-text answer as the reply classifier read it, or None when it is not an answer to the request."""
    rules = _table()["text"]
    if intent == "complaint" or (
        intent in rules["negative_intents"] and sentiment in rules["negative_sentiments"]
    ):
        return FeedbackAnswer(None, "negative", "text")
    if sentiment in rules["negative_sentiments"]:
        return FeedbackAnswer(None, "negative", "text")
    if intent in rules["positive_intents"] and sentiment == "positive":
        return FeedbackAnswer(None, "positive", "text")
    return None
