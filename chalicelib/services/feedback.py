"""Feedback closes the loop (issue 17 §1): a member's answer to the day-2 feedback request, recorded on the booking.

- `answer(message, understood, now)`: whether an inbound message answers an open feedback request (her latest
  journey message in this conversation within feedback.toml's `answer_days` is the feedback request), read as a
  score and sentiment (understanding/feedback_score.py), and if so `record` it.
- `record(...)`: THE one place an answer is written (once per booking: a retried record finds its own answer, a
  later message never changes it) and a positive one gets the chain's optional thank-you coupon. It returns what
  changed (`Recorded.status`), so a report counter can be added here.
- `photo_after_visit(message, now)`: a photo with no text in the days after a visit goes to staff.
- At send time (services/delivery.py): `skip_reason` evaluates a step's `skip_if` guards (journeys.toml), and
  `review_extras` gives the review request the store's review link and the thank-you coupon.
"""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.dal.feedback import FeedbackRepository
from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem, MessageItem, StoreItem
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.understanding.feedback_score import FeedbackAnswer, from_understanding, parse

THANKS_OCCASION = "feedback_thanks"
NO_ANSWER_CHOICES = ("send_review", "skip")


@cache
def _table() -> dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "understanding" / "feedback.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@cache
def _actions() -> dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "conversations" / "actions.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def feedback_actions(sentiment: str) -> list[str]:
    """What an answer of this sentiment does (actions.toml [feedback])."""
    return list(_actions()["feedback"][sentiment])


def photo_actions() -> list[str]:
    return list(_actions()["photo_after_visit"]["actions"])


@dataclass(frozen=True)
class Recorded:
    """What `record` did. status: `recorded` (written now), `retry` (this very message's answer, written by an
    earlier delivery: nothing changed), `already_answered` (the booking holds an earlier answer: nothing changed)."""

    status: str
    booking_id: str
    score: int | None
    sentiment: str
    read_as: str
    coupon_code: str | None = None

    @property
    def answers(self) -> bool:
        """Whether the message is the booking's answer (recorded now or by an earlier delivery of it)."""
        return self.status in ("recorded", "retry")

    def result(self) -> dict[str, Any]:
        return {
            "action": "record_feedback",
            "result": self.status,
            "booking_id": self.booking_id,
            "score": self.score,
            "sentiment": self.sentiment,
            "read_as": self.read_as,
        }


def settings_of(chain_settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """A chain's feedback settings over feedback.toml's defaults; an unknown `no_answer` falls back (logged)."""
    merged = {**_table()["defaults"], **dict(chain_settings or {})}
    if merged.get("no_answer") not in NO_ANSWER_CHOICES:
        logger.error(
            "bad feedback no_answer setting ignored", extra={"no_answer": str(merged.get("no_answer"))}
        )
        merged["no_answer"] = _table()["defaults"]["no_answer"]
    return merged


def skip_reason(
    conditions: tuple[str, ...],
    booking: BookingItem,
    member: MemberItem | None,
    conversation: ConversationItem | None,
    settings: Mapping[str, Any],
) -> str | None:
    """The first of a step's `skip_if` guards (journeys.toml) that holds, or None to send it."""
    for condition in conditions:
        if condition == "needs_human" and conversation is not None and conversation.status == "needs_human":
            return condition
        if condition == "marketing_paused" and member is not None and member.marketing_paused:
            return condition
        if (
            condition == "no_feedback_answer"
            and not booking.feedback_sentiment
            and settings["no_answer"] == "skip"
        ):
            return condition
    return None


def review_link(store: StoreItem, locale: str | None) -> dict[str, str]:
    """The store's review page for her: the first of its `review_links` her locale matches (or that names none)."""
    links = store.review_links or []
    if isinstance(links, dict):  # one link as a map
        links = [links]
    for link in links:
        if not isinstance(link, dict) or not link.get("url"):
            continue
        locales = link.get("locales") or []
        if not locales or texts.supported_locale(locale or store.locale) in locales:
            return {"label": str(link.get("label") or ""), "url": str(link["url"])}
    return {}


class FeedbackService:
    def __init__(
        self,
        repo: FeedbackRepository,
        chain_settings: Callable[[StoreItem], Mapping[str, Any] | None],  # StoreDirectory.feedback_settings
        stores: Any,  # StoreDirectory
        coupons: Any,  # dal/care.py CareRepository: issue_coupon, coupon
        code: Callable[[], str] | None = None,
        reports: Any = None,  # services/report_events.py ReportEvents: the report's feedback figures
    ) -> None:
        self._reports = reports
        self._repo = repo
        self._chain_settings = chain_settings
        self._stores = stores
        self._coupons = coupons
        self._code = code or _new_code

    # --- inbound --------------------------------------------------------------------------------------
    def answer(self, message: MessageItem, understood: Any, now: datetime) -> Recorded | None:
        """Her message as the answer to an open feedback request, recorded; None when it is not one."""
        parsed = parse(message.text or "")
        if parsed is None and understood is not None:
            parsed = from_understanding(understood.intent, understood.sentiment)
            signals = tuple(getattr(understood, "signals", None) or ())
            if parsed is not None and signals:  # sarcasm, a review threat: fail safe
                parsed = FeedbackAnswer(None, "negative", "text")
        if parsed is None:
            return None
        request = _table()["request"]
        booking_id = self._repo.requested_booking(
            message.store_id,
            message.member_id,
            now - timedelta(days=int(request["answer_days"])),
            str(request["kind"]),
            tuple(request["answered_kinds"]),
        )
        if booking_id is None:
            return None
        return self.record(message.chain_id, booking_id, parsed, message.message_id, now)

    def record(
        self, chain_id: str, booking_id: str, answer: FeedbackAnswer, message_id: str, now: datetime
    ) -> Recorded:
        """Record her answer on the booking, once; a positive one gets the chain's thank-you coupon (once)."""
        stored = self._repo.record(
            chain_id,
            booking_id,
            score=answer.score,
            sentiment=answer.sentiment,
            message_id=message_id,
            at=now,
        )
        booking = stored.booking
        if stored.written:
            status = "recorded"
        elif booking is not None and booking.feedback_message_id == message_id:
            status = "retry"
            score = int(booking.feedback_score) if booking.feedback_score is not None else None
            answer = FeedbackAnswer(score, str(booking.feedback_sentiment), answer.read_as)
        else:
            status = "already_answered"
        if status != "already_answered" and booking is not None and self._reports is not None:
            # counted once per booking (the counter's own marker), so a retried message counts nothing more
            self._reports.feedback(chain_id, booking, answer.score, answer.sentiment == "negative")
        coupon = None
        if status != "already_answered" and answer.sentiment == "positive":
            coupon = self._thank_you_coupon(chain_id, booking_id, now)
        recorded = Recorded(status, booking_id, answer.score, answer.sentiment, answer.read_as, coupon)
        logger.info(
            "feedback",
            extra={
                "status": status,
                "sentiment": answer.sentiment,
                "read_as": answer.read_as,
                "score": answer.score,
            },
        )
        return recorded

    def photo_after_visit(self, message: MessageItem, now: datetime) -> bool:
        """A photo with no text from a member who visited this store within feedback.toml's days."""
        if message.msg_type != "image" or (message.text or "").strip():
            return False
        days = int(_table()["photo_after_visit"]["days"])
        return self._repo.visited_since(
            message.chain_id, message.member_id, message.store_id, now - timedelta(days=days), now
        )

    # --- at send time ---------------------------------------------------------------------------------
    def settings(self, store: StoreItem) -> dict[str, Any]:
        return settings_of(self._chain_settings(store))

    def review_extras(self, booking: BookingItem, store: StoreItem) -> dict[str, Any]:
        """The review request's `review_link` and, when the booking has one, its thank-you `coupon`."""
        extras: dict[str, Any] = {}
        link = review_link(store, booking.member.locale)
        if link:
            extras["review_link"] = link
        if booking.feedback_coupon_code:
            coupon = self._coupons.coupon(booking.chain_id, booking.feedback_coupon_code)
            if coupon is not None:
                extras["coupon"] = {
                    "code": coupon.code,
                    "offer": coupon.offer,
                    "expires_at": coupon.expires_at_time,
                }
        return extras

    # --- the parts ------------------------------------------------------------------------------------
    def _thank_you_coupon(self, chain_id: str, booking_id: str, now: datetime) -> str | None:
        booking = self._repo.booking(chain_id, booking_id)
        if booking is None:
            return None
        if booking.feedback_coupon_code:
            return booking.feedback_coupon_code
        store = self._stores.get(booking.store_id)
        offer = self.settings(store).get("thank_you_coupon") if store is not None else None
        if not isinstance(offer, dict):
            return None
        valid_days = int(offer.get("valid_days") or 30)
        while True:
            code = self._code()
            if self._coupons.issue_coupon(
                chain_id,
                code,
                member_id=booking.member.id,
                occasion=THANKS_OCCASION,
                store_id=booking.store_id,
                offer=str(offer.get("offer") or ""),
                issued_at=now,
                expires_at=now + timedelta(days=valid_days),
            ):
                break
        if self._repo.keep_coupon(chain_id, booking_id, code):
            return code
        kept = self._repo.booking(chain_id, booking_id)  # a concurrent delivery kept its own first
        return kept.feedback_coupon_code if kept is not None else None


def _new_code() -> str:
    from chalicelib.care.outreach import policy

    rules = policy()["coupons"]
    return "".join(secrets.choice(rules["alphabet"]) for _ in range(int(rules["length"])))
