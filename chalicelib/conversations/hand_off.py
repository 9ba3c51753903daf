"""Failing safe (issue 16): when a reply the classifier understood goes to a person instead of being acted on.

`guard(names, understood, intent, upcoming=...)` takes the actions actions.toml names for the reply's intent
and sentiment (inbound.actions_for) and applies the rows of actions.toml that fail safe:
- [confidence] / [unsure]: a confirm, cancel or reschedule on an upcoming booking below its threshold does
  not touch the booking (nor does an opt-out only the learned model saw): staff get the best guess ("unsure_cancel") and she gets an honest holding reply. So
  does a reply read as doing nothing for her booking (`other`, `question`...) while the learned model's best
  guess would (a cancel, a move, an opt-out...): a cancel either cancels or reaches staff, never neither.
  [unsure.by_guess] gives a guess its own row: an opt-out guess pauses marketing and asks her to confirm.
- [complaint_leaning]: a review threat, a refund demand, sarcasm or a rhetorical question about service
  (understanding/policy.toml [signals]) hands the reply to a person whatever its intent, and an upbeat answer
  ("谢谢夸奖") is replaced by the holding reply.
A negative sentiment already hands a reply over (actions.toml [sentiment]). Pure: data in, names out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _table() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).parent / "actions.toml").read_text(encoding="utf-8"))


def _base(name: str) -> str:
    return name.partition(":")[0]


def unsure_guess(
    understood: Any, intent: str, *, upcoming: bool, has_upcoming: Callable[[], bool] | None = None
) -> str | None:
    """The intent to show staff when the reply must not be acted on as understood, or None to act on it."""
    table = _table()
    threshold = table["confidence"].get(intent)
    confidence = float(getattr(understood, "confidence", 1.0))
    if threshold is not None and upcoming and confidence < float(threshold):
        return intent
    guess = getattr(understood, "best_guess", None)
    unsure = table["unsure"]
    if guess and guess != intent and intent in unsure["when_intent"] and guess in unsure["guesses"]:
        if guess in unsure.get("need_upcoming", ()) and has_upcoming is not None and not has_upcoming():
            return None
        return str(guess)
    return None


def guard(
    names: list[str],
    understood: Any,
    intent: str,
    *,
    upcoming: bool,
    has_upcoming: Callable[[], bool] | None = None,
) -> list[str]:
    """The actions to run for a reply the classifier understood as `understood` (None: nothing to guard)."""
    if understood is None:
        return names
    table = _table()
    guess = unsure_guess(understood, intent, upcoming=upcoming, has_upcoming=has_upcoming)
    if guess is not None:
        kept = [n for n in names if _base(n) == "pause_marketing"]
        row = table["unsure"].get("by_guess", {}).get(guess, table["unsure"]["actions"])
        names = [a.format(guess=guess) for a in row]
        names += [n for n in kept if n not in names]
    signals = tuple(getattr(understood, "signals", ()) or ())
    if signals:
        leaning = table["complaint_leaning"]
        present = {_base(n) for n in names}
        added = [
            a.format(signal=signals[0])
            for a in leaning["actions"]
            if _base(a.format(signal="")) not in present
        ]
        dropped = [n for n in names if n in leaning["drop"]]
        names = [n for n in names if n not in leaning["drop"]]
        if dropped and not any(_base(n) == "reply" for n in names):
            names.append(leaning["reply"])
        names = (
            [a for a in added if _base(a) == "needs_human"]
            + names
            + [a for a in added if _base(a) != "needs_human"]
        )
    return names
