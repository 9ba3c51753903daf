"""A member's profile as staff see it beside the chat (built from bookings and chat), her tags and staff notes."""

from __future__ import annotations

import secrets
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.care import profile as care_profile
from chalicelib.care.member_care import MemberCare
from chalicelib.clock import Clock
from chalicelib.contracts.member_preferences import PreferencesBody
from chalicelib.contracts.validation import parse
from chalicelib.dal.care import CareRepository, Conflict
from chalicelib.dal.models import MemberItem, StoreItem
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.member_access import MemberAccess
from chalicelib.services.staff_bookings import booking_view
from chalicelib.text_safety import clean_text

MAX_NOTE = 2000


class MemberProfiles:
    def __init__(
        self,
        stores: Any,
        clock: Clock,
        repo: CareRepository,
        care: MemberCare,
        conversations: Any,
        access: MemberAccess,
    ) -> None:
        self._stores = stores
        self._clock = clock
        self._repo = repo
        self._care = care
        self._conversations = conversations
        self._access = access

    def profile(self, staff: auth.Staff, store_id: str, member_id: str) -> dict[str, Any]:
        _, store, member = self._authorize(staff, store_id, member_id, "members.read")
        return self._view(store, member)

    def tags(self, staff: auth.Staff, store_id: str, member_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Add and remove manual tags: applied to what is there, so a retry changes nothing more."""
        _, store, member = self._authorize(staff, store_id, member_id, "members.tags")
        add, remove = (
            care_profile.tag_list(body.get("add"), "add"),
            care_profile.tag_list(body.get("remove"), "remove"),
        )
        both = sorted(set(add) & set(remove))
        if both:
            raise ValidationFailed(
                "a tag cannot be added and removed at once", {"remove": f"{both[0]} is also in add"}
            )
        updated = self._care.edit_tags(store.chain_id, member.member_id, add, remove) or member
        return self._view(store, updated)

    def add_note(
        self, staff: auth.Staff, store_id: str, member_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        _, store, member = self._authorize(staff, store_id, member_id, "members.notes")
        text = body.get("text")
        text = clean_text(text) if isinstance(text, str) else text
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
            raise ValidationFailed("bad text", {"text": f"1 to {MAX_NOTE} characters"})
        note_id = body.get("note_id") or secrets.token_hex(8)
        if not isinstance(note_id, str) or not is_id(note_id):
            raise ValidationFailed("bad note_id", {"note_id": "1-128 letters, digits or -_.:@"})
        note = {
            "id": note_id,
            "at": self._clock.now().isoformat(),
            "by": staff.subject,
            "store_id": store_id,
            "text": text.strip(),
        }
        updated = self._care.add_note(store.chain_id, member.member_id, note) or member
        return self._view(store, updated)

    def set_preferences(self, staff: auth.Staff, store_id: str, member_id: str, body: Any) -> dict[str, Any]:
        """Replace what staff remember of her (issue 17 §5): a PUT, so a retry stores the same again (no write)."""
        # authorised first: a store she cannot see is 404 whatever the body (the isolation matrix)
        _, store, member = self._authorize(staff, store_id, member_id, "members.preferences")
        wanted = parse(PreferencesBody, body, "the preferences are not valid").as_record()
        record = {**wanted, "updated_at": self._clock.now().isoformat(), "updated_by": staff.subject}
        try:
            self._repo.save_preferences(member, record)
        except Conflict:  # erased meanwhile
            raise NotFound("no such member") from None
        fresh = self._repo.member(store.chain_id, member.member_id, consistent=True)
        if fresh is None:
            raise NotFound("no such member")
        return self._view(store, fresh)

    # ---------------------------------------------------------------------------------------------
    def _authorize(
        self, staff: auth.Staff, store_id: str, member_id: str, action: str
    ) -> tuple[auth.Staff, StoreItem, MemberItem]:
        store = auth.authorize_store(staff, self._stores, store_id, action)
        member = self._repo.member(store.chain_id, member_id, consistent=True) if is_id(member_id) else None
        if member is None:
            raise NotFound("no such member")
        self._access.require(staff, store, member_id, member=member)
        return staff, store, member

    def _view(self, store: StoreItem, member: MemberItem) -> dict[str, Any]:
        tz = ZoneInfo(store.timezone)
        now = self._clock.now()
        upcoming = [
            b
            for b in self._repo.bookings(store.chain_id, member.member_id)
            if b.status in ("booked", "confirmed") and b.start >= now
        ]
        conversation = self._conversations.get(store.store_id, member.member_id)
        if member.opted_out_at is not None:
            status = "opted_out"
        elif conversation is not None and conversation.status == "needs_human":
            status = "needs_human"
        elif member.marketing_paused:
            status = "marketing_paused"
        else:
            status = "active"
        local = lambda at: at.astimezone(tz).isoformat() if at else None  # noqa: E731
        return {
            "id": member.member_id,
            "name": member.name,
            "locale": member.locale,
            "preferred_channel": _preferred_channel(member, conversation),
            "birthday": member.birthday,
            "visits": int(member.visits or 0),
            "first_visit_at": local(member.first_visit_at),
            "last_visit_at": local(member.last_visit_at),
            "next_booking_at": local(min(b.start for b in upcoming)) if upcoming else None,
            "avg_interval_days": member.avg_interval_days,
            "spend": {"total": member.total_spend, "currency": member.spend_currency},
            "services": list(member.services or []),
            "stylists": list(member.stylists or []),
            "primary_store_id": member.primary_store_id or member.last_store_id,
            "tags": list(member.tags or []),
            "manual_tags": list(member.manual_tags or []),
            "auto_tags": list(member.auto_tags or []),
            "notes": list(member.notes or []),
            "preferences": preferences_view(member),
            "consent": {
                "transactional": True,
                "marketing": bool(member.marketing_consent) and member.opted_out_at is None,
            },
            "status": status,
            # The member panel links each to its timeline (GET /v1/stores/{store_id}/bookings/{booking_id}).
            "upcoming": [
                booking_view(b, tz)
                for b in sorted(upcoming, key=lambda b: b.start)
                if b.store_id == store.store_id
            ],
        }


def _preferred_channel(member: MemberItem, conversation: Any) -> str | None:
    """Her own choice (issue 15: the channel router puts it first), else the channel she last wrote from, else the
    best address the booking system gave us."""
    if member.preferred_channel:
        return member.preferred_channel
    if conversation is not None and conversation.last_inbound_channel:
        return conversation.last_inbound_channel
    if member.wechat_openid:
        return "wechat"
    if member.phone:
        return "sms"
    return "email" if member.email else None


PREFERENCE_FIELDS = ("favourite_stylist", "style_notes", "colours", "designs", "allergies")


def preferences_view(member: MemberItem) -> dict[str, Any]:
    """Her remembered preferences for staff, every field present ("" / []); who changed them last and when."""
    stored = dict(member.preferences or {})
    view: dict[str, Any] = {
        name: stored.get(name) or ([] if name not in ("favourite_stylist", "style_notes") else "")
        for name in PREFERENCE_FIELDS
    }
    view["updated_at"] = stored.get("updated_at")
    view["updated_by"] = stored.get("updated_by")
    return view
