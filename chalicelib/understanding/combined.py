"""The rules and the learned model, combined into one answer with a calibrated confidence (policy.toml).

For one reply (the policy, also in docs/EVAL.md, "Rules and model together"):
1. The rules classify it (classifier.py) and the model predicts it (learned.py: calibrated probabilities).
2. Hard guarantees -- the rules' answer stands: an opt-out or a booking request of the rules (`rules_stand`), a
   whole-message confirmation ("1", "确认", "ok": lexicon.toml [confirm].exact) and a reschedule that names a
   day or a time. Confidence: the larger of the rules' cue strength and the model's probability of it. A
   complaint of the rules is not one of them since the sixth session: it is negative, and a negative reply goes
   to a person whatever its intent (conversations/hand_off.py), so a confident model may name it better.
3. Fail safe: the model's probability of an opt-out at least `model_opt_out_at` (the rules saw none) makes it
   an opt-out with its confidence capped at `opt_out_guess_cap` -- below the opt-out threshold of
   conversations/actions.toml, so consent is not withdrawn on a guess: marketing is paused, staff see it and she
   is asked to confirm ([unsure.by_guess]). Then the model's probability of a complaint at least
   `model_complaint_at` makes it a complaint. An opt-out said as a complaint is an opt-out (the labelling
   convention), so a complaint of the rules becomes that capped opt-out guess too, whose actions hand it to a
   person all the same.
4. Both agree: that intent, confidence the larger of the two.
5. They disagree: the model's intent when its probability is at least `model_overrides_at` -- or at least
   `model_overrides_no_cue_at` where the rules found no cue (`rules_no_cue`) -- else the rules'.
   Either way the confidence is the model's probability of the intent taken, capped at `disagreement_cap`:
   below every booking threshold (conversations/actions.toml [confidence]), so a disagreement never moves a
   booking by itself -- it goes to staff with the best guess.
6. Sentiment: the rules', made negative when the model's probability of negative is at least `negative_at`;
   a complaint is negative.
7. `best_guess` is the model's top intent; `signals` the complaint-leaning signals of policy.toml found in the
   text (found whatever the intent).
If the model cannot be read, the rules' answer is returned as it is (with the signals): understanding never
fails because of the model.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from chalicelib.understanding import Classifier, Understanding
from chalicelib.understanding.learned import Prediction, ReplyModel, model
from chalicelib.understanding.lexicon import bare, lexicon
from chalicelib.understanding.reply_text import normalise

_log = logging.getLogger(__name__)
POLICY_PATH = Path(__file__).resolve().parent / "policy.toml"
_TIME_KEYS = ("weekday", "date", "relative_day", "time", "part_of_day")


@dataclass(frozen=True)
class _Signal:
    name: str
    zh: tuple[str, ...]
    en: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    in_context: re.Pattern[str] | None


@dataclass(frozen=True)
class Policy:
    rules_stand: frozenset[str]
    model_complaint_at: float
    model_overrides_at: float
    disagreement_cap: float
    negative_at: float
    rules_no_cue: dict[str, float]
    model_overrides_no_cue_at: float
    model_opt_out_at: float
    opt_out_guess_cap: float
    signals: tuple[_Signal, ...]
    context_zh: tuple[str, ...]
    context_en: re.Pattern[str] | None


def _words(phrases: list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    alternation = "|".join(re.escape(p.lower()) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")


@functools.cache
def policy() -> Policy:
    with POLICY_PATH.open("rb") as fh:
        d = tomllib.load(fh)
    c = d["combine"]
    context = d["signals"].get("context", {})
    signals = tuple(
        _Signal(
            name,
            tuple(s.get("zh", [])),
            _words(s.get("en", [])),
            tuple(re.compile(p) for p in s.get("patterns", [])),
            _words(s.get("in_context", [])),
        )
        for name, s in d["signals"].items()
        if name != "context"
    )
    return Policy(
        rules_stand=frozenset(c["rules_stand"]),
        model_complaint_at=float(c["model_complaint_at"]),
        model_overrides_at=float(c["model_overrides_at"]),
        disagreement_cap=float(c["disagreement_cap"]),
        negative_at=float(c["negative_at"]),
        rules_no_cue={k: float(v) for k, v in c.get("rules_no_cue", {}).items()},
        model_overrides_no_cue_at=float(c.get("model_overrides_no_cue_at", c["model_overrides_at"])),
        model_opt_out_at=float(c.get("model_opt_out_at", 1.01)),
        opt_out_guess_cap=float(c.get("opt_out_guess_cap", c["disagreement_cap"])),
        signals=signals,
        context_zh=tuple(context.get("zh", [])),
        context_en=_words([w for w in context.get("en", []) if w.strip(".")]),
    )


def find_signals(text: str, negative: bool = False) -> tuple[str, ...]:
    """The complaint-leaning signals of policy.toml in `text` (names, in the file's order)."""
    pol = policy()
    norm, _ = normalise(text)
    context = (
        negative
        or any(w in norm for w in pol.context_zh)
        or bool(pol.context_en and pol.context_en.search(norm))
    )
    found = []
    for s in pol.signals:
        if (
            any(w in norm for w in s.zh)
            or (s.en is not None and s.en.search(norm))
            or any(p.search(norm) for p in s.patterns)
            or (context and s.in_context is not None and s.in_context.search(norm))
        ):
            found.append(s.name)
    return tuple(found)


def combine(
    rules: Understanding, predicted: Prediction, text: str, pol: Policy | None = None
) -> Understanding:
    """One answer from the rules' and the model's (steps 2-6 of the module's policy)."""
    pol = pol or policy()
    p = predicted.intents
    intent, confidence = rules.intent, rules.confidence
    hard = (
        rules.intent in pol.rules_stand
        or (rules.intent == "confirm" and bare(normalise(text)[0]) in lexicon().confirm_exact)
        or (rules.intent == "reschedule" and any((rules.requested or {}).get(k) for k in _TIME_KEYS))
    )
    p_opt_out = p.get("opt_out", 0.0)
    # The model's opt-out guess (step 3), also over a complaint of the rules (an opt-out said as a complaint,
    # "服务那么差还发促销 删了我吧"): it still reaches a person.
    opt_out_guess = rules.intent != "opt_out" and not hard and p_opt_out >= pol.model_opt_out_at
    if opt_out_guess:
        intent, confidence = "opt_out", min(p_opt_out, pol.opt_out_guess_cap)
    elif hard:
        confidence = max(rules.confidence, p.get(rules.intent, 0.0))
    elif p.get("complaint", 0.0) >= pol.model_complaint_at:
        intent, confidence = "complaint", p["complaint"]
    elif predicted.intent == rules.intent:
        confidence = max(rules.confidence, predicted.intent_p)
    elif predicted.intent_p >= pol.model_overrides_at or (
        rules.confidence <= pol.rules_no_cue.get(rules.intent, -1.0)
        and predicted.intent_p >= pol.model_overrides_no_cue_at
    ):
        intent, confidence = predicted.intent, min(predicted.intent_p, pol.disagreement_cap)
    else:
        confidence = min(p.get(rules.intent, 0.0), pol.disagreement_cap)
    sentiment = rules.sentiment
    if intent == "complaint" or predicted.sentiments.get("negative", 0.0) >= pol.negative_at:
        sentiment = "negative"
    keep = intent == rules.intent  # requested / issue / service belong to the rules' reading of the intent
    return replace(
        rules,
        intent=intent,
        sentiment=sentiment,
        confidence=round(confidence, 3),
        requested=rules.requested if keep else None,
        issue=rules.issue if keep else None,
        service=rules.service if keep else None,
        best_guess=predicted.intent,
        signals=find_signals(text, negative=sentiment == "negative"),
    )


class CombinedClassifier:
    """A `Classifier`: the rules and the learned model by the policy above. `model_loader` defaults to the
    checked-in model, read on the first reply."""

    def __init__(self, rules: Classifier, model_loader: Callable[[], ReplyModel] = model) -> None:
        self._rules = rules
        self._model = model_loader

    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        rules = self._rules.classify(text, category=category, locale=locale)
        text = text if isinstance(text, str) else str(text or "")
        try:
            predicted = self._model().predict(text)
            return combine(rules, predicted, text)
        except Exception:  # noqa: BLE001 - the model must never break understanding: the rules' answer stands
            _log.exception("learned model failed; the rules' answer stands")
        try:
            return replace(rules, signals=find_signals(text, negative=rules.sentiment == "negative"))
        except Exception:  # noqa: BLE001
            _log.exception("complaint signals failed")
            return rules
