"""Staff correct what a member's message meant, in one click (issue 16 §4): the message shows the corrected
intent, and the correction is kept per chain, masked of phone numbers and emails, as labelled data for
`ops.labels export` and `make retrain`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.dal.corrections import Correction, CorrectionRepository
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.pii import mask_text
from chalicelib.services import auth
from chalicelib.services.member_access import MemberAccess
from chalicelib.services.message_history import message_view
from chalicelib.understanding import INTENTS, SENTIMENTS

FIELDS = ("intent", "sentiment")


def written_locale(text: str) -> str | None:
    """The language a reply is written in, as the eval format names it: Chinese characters -> zh-CN, Latin
    letters -> en, neither -> None."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh-CN"
    if any("a" <= ch.lower() <= "z" for ch in text):
        return "en"
    return None


def parse_body(body: Any) -> tuple[str, str | None]:
    """(intent, sentiment or None) of a correction's body; 400 naming each bad field."""
    if not isinstance(body, dict):
        raise ValidationFailed("bad correction", {"body": "a JSON object {intent, sentiment?}"})
    fields: dict[str, str] = {}
    for name in body:
        if name not in FIELDS:
            fields[str(name)] = "unknown field (intent, sentiment)"
    intent, sentiment = body.get("intent"), body.get("sentiment")
    if intent not in INTENTS:
        fields["intent"] = "one of " + ", ".join(INTENTS)
    if sentiment is not None and sentiment not in SENTIMENTS:
        fields["sentiment"] = "one of " + ", ".join(SENTIMENTS)
    if fields:
        raise ValidationFailed("bad correction", fields)
    return str(intent), sentiment


class Corrections:
    def __init__(
        self,
        stores: Any,
        repo: CorrectionRepository,
        access: MemberAccess,
        clock: Clock,
        latest_booking: Callable[[str, str, str], Any],
    ) -> None:
        self._stores = stores
        self._repo = repo
        self._access = access
        self._clock = clock
        self._latest_booking = (
            latest_booking  # (chain, member, store) -> her latest booking here, for its category
        )

    def correct(
        self, staff: auth.Staff, store_id: str, member_id: str, message_id: str, body: Any
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "messages.correct")
        if not is_id(member_id):
            raise ValidationFailed("bad member id", {"member_id": "not a member id"})
        self._access.require(staff, store, member_id)
        if not is_id(message_id):
            raise ValidationFailed("bad message id", {"message_id": "not a message id"})
        intent, sentiment = parse_body(body)
        message = self._repo.inbound_message(store_id, member_id, message_id)
        if message is None:
            raise NotFound("no such message")
        text = message.text or ""
        booking = self._latest_booking(store.chain_id, member_id, store_id)
        correction = Correction(
            chain_id=store.chain_id,
            store_id=store_id,
            member_id=member_id,
            message_id=message.message_id,
            message_pk=message.pk,
            message_sk=message.sk,
            text=mask_text(text),
            intent=intent,
            sentiment=sentiment or message.sentiment or "neutral",
            category=getattr(booking, "category", None) if booking is not None else None,
            locale=written_locale(text),
            original_intent=message.intent or "other",
            original_sentiment=message.sentiment or "neutral",
            original_confidence=getattr(message, "confidence", None),
            corrected_by=staff.subject,
            corrected_role=staff.role,
            corrected_at=self._clock.now(),
        )
        changed = self._repo.record(correction)
        stored = self._repo.correction(store.chain_id, member_id, store_id, message.message_id) or correction
        updated = self._repo.inbound_message(store_id, member_id, message_id) or message
        return {
            "changed": changed,
            "correction": {
                "message_id": stored.message_id,
                "intent": stored.intent,
                "sentiment": stored.sentiment,
                "original": {"intent": stored.original_intent, "sentiment": stored.original_sentiment},
                "corrected_by": stored.corrected_by,
                "corrected_at": stored.corrected_at.astimezone(ZoneInfo(store.timezone)).isoformat(),
            },
            "message": message_view(updated, ZoneInfo(store.timezone), None),
        }
