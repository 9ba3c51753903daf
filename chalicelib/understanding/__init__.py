"""Understanding customer replies: what a member means when they answer a salon message.

Members answer confirmations, reminders and follow-ups by WeChat or SMS, in Chinese, English or both, with
emoji and typos ("1", "好的收到👌", "能改到周五下午吗", "甲片翘边了", "烫坏了，我要投诉", "TD", "cancel pls").
A `Classifier` turns one reply into an `Understanding`: an intent, a sentiment, and for a reschedule the
requested day/time, for an aftercare issue the matching known issue of care_tips.toml with its advice.

`default_classifier()` is the rules classifier (classifier.py, reading a reply with reply_text.py:
normalisation and jieba word segmentation; cues of lexicon.toml found by matching.py; aftercare_issues.py and
day_and_time.py for what an issue or a reschedule names) combined with the learned model (learned.py, trained by
`make train`) by the policy of combined.py and policy.toml. Amazon Comprehend or Bedrock can be plugged in behind the same
interface.

Importing this package is cheap: rjieba (jieba-rs) is imported and its dictionary loaded on the first Chinese
reply (about a quarter of a second, once per process).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

INTENTS = (
    "confirm",
    "cancel",
    "reschedule",
    "book",
    "question",
    "aftercare_issue",
    "complaint",
    "praise",
    "opt_out",
    "other",
)
SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Understanding:
    """What a reply means.

    intent: one of INTENTS.
    sentiment: one of SENTIMENTS.
    requested: for a reschedule or a book, what the member asked for (all keys present, None when not said):
        {"weekday": 0-6 (Monday=0) | None, "date": "YYYY-MM-DD" | None,
         "relative_day": "today" | "tomorrow" | "day_after_tomorrow" | None, "time": "HH:MM" | None,
         "part_of_day": "morning" | "afternoon" | "evening" | None, "text": "<the phrase, as written>"}
        (a book's also has "weekend": bool, "周末"/"weekend" said, and "next_week": bool, the weekday
        said as "下周三" / "next Wednesday": the one in the next calendar week). None for the other intents.
    service: for a book, the kind of service she named, a key of lexicon.toml [book.services] ("hair_cut",
        "hair_colour", "perm", "hair_care", "nail": a catalogue service whose category is that key or starts
        with it followed by "_"), or None when she named none.
    issue: for an aftercare issue, the matching care_issues() entry: {"key", "advice_zh", "advice_en",
        "category"} ("category" is the service category whose issues matched, "default" for the shared ones).
        None for the other intents, or when no known issue matched.
    confidence: 0..1, how sure the classifier is (rules alone: how strong the cue was; combined with the learned
        model: its calibrated probability, see combined.py and docs/EVAL.md).
    best_guess: the learned model's own top intent (None: no model consulted), shown to staff when a reply is
        handed over unsure.
    signals: complaint-leaning signals found in the reply (policy.toml [signals]: "review_threat", "refund",
        "sarcasm", "rhetorical"); any of them hands the reply to a person (conversations/actions.toml).
    """

    intent: str
    sentiment: str
    requested: dict | None = None
    issue: dict | None = None
    confidence: float = 1.0
    service: str | None = None
    best_guess: str | None = None
    signals: tuple[str, ...] = ()


class Classifier(Protocol):
    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        """Understand one reply. category: the service category of the booking the reply is about
        ("hair_cut", "perm", ...: the sections of journeys/care_tips.toml) or None; locale: the member's locale ("zh-CN", "en"...) or None.
        Never raises on any text."""
        ...


_DEFAULT: Classifier | None = None
_LOCK = threading.Lock()


def default_classifier() -> Classifier:
    """The rules and the learned model combined (combined.py), built once per process; the model file is read
    on the first reply."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                from chalicelib.understanding.classifier import RulesClassifier
                from chalicelib.understanding.combined import CombinedClassifier

                _DEFAULT = CombinedClassifier(RulesClassifier())
    return _DEFAULT


__all__ = ["INTENTS", "SENTIMENTS", "Classifier", "Understanding", "default_classifier"]
