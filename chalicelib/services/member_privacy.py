"""A member's rights over her data (PIPL, GDPR): an export of everything held about her in the chain, and erasure.

Both are asked for at a store the caller can see (`members.export` / `members.erase`: store managers and chain
admins), by a store manager only for a member who belongs to that store (services/member_access.py; otherwise 404
as for a member nobody knows), and cover the member in the whole chain -- in this region; each region holds its own
members' data (docs/PRIVACY.md).

Erasure, in an order that is safe to interrupt and to repeat (a second request finds less and answers with
smaller counts; nothing fails):

1. each booking of the member (gsi3): the thank-you coupon of her feedback (services/feedback.py) is deleted,
   its pending EventBridge schedules are deleted, then the booking is anonymized -- it keeps status, start,
   duration, service, stylist and the stylist time it holds (the salon's
   calendar, which the booking system still owns), loses the member snapshot, notes, price and feedback, is
   unlinked from the member, and moves to a new version, so any step planned before is dropped as stale;
2. every conversation of the member with a store of the chain: its pending hand-off alarm schedule (it names her),
   its messages and its META are deleted;
3. the contact lookups of every phone number and openid she used (from the profile, the bookings and the
   conversations), and the chain's sign-in claims on them (services/member_directory.py);
4. staff corrections of what her messages meant (issue 16: labelled data, text masked, but hers), her tags,
   care coupons and care records;
5. the profile (consent and opt-out included).

Kept: booking event records (`EVENT#...`: the answers given to the booking system, no contact details; they
expire after 35 days) and inbound receipts (provider message ids; expire after 30 days). A booking event that
arrives later with her details again (the booking system did not erase her) is stored as new data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.clock import Clock
from chalicelib.contracts.hand_off import alarm_schedule_name
from chalicelib.dal.corrections import CorrectionRepository
from chalicelib.dal.member_data import Conversation, MemberDataRepository
from chalicelib.dal.models import BookingItem, MemberItem, MessageItem
from chalicelib.errors import ConcurrentUpdate, NotFound
from chalicelib.ids import is_id
from chalicelib.observability import logger
from chalicelib.services import auth
from chalicelib.services.member_access import MemberAccess

# The channel an inbound message came on -> the kind of contact lookup its sender address has.
LOOKUP_KIND = {"sms": "PHONE", "wechat": "WXOPENID"}


class MemberPrivacy:
    def __init__(
        self,
        stores: Any,
        repo: MemberDataRepository,
        scheduler: Any,
        lookup_hash: Any,
        clock: Clock,
        access: MemberAccess,
        corrections: CorrectionRepository,
    ) -> None:
        self._stores = stores
        self._repo = repo
        self._corrections = corrections
        self._scheduler = scheduler
        self._lookup_hash = lookup_hash
        self._clock = clock
        self._access = access

    # --- export -----------------------------------------------------------------------------------
    def export(self, staff: auth.Staff, store_id: str, member_id: str) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "members.export")
        chain_id = store.chain_id
        if not is_id(member_id):
            raise NotFound("no such member")
        profile = self._repo.member(chain_id, member_id)
        bookings = self._repo.bookings(chain_id, member_id)
        self._access.require(staff, store, member_id, member=profile, bookings=bookings)
        conversations = [
            c for c in self._conversations(chain_id, member_id, profile, bookings) if not c.empty
        ]
        if profile is None and not bookings and not conversations:
            raise NotFound("no such member")
        sent = [m for c in conversations for m in c.messages if m.direction == "out" and m.booking_id]
        return {
            "chain_id": chain_id,
            "member_id": member_id,
            "exported_at": _iso(self._clock.now()),
            "profile": _profile(profile),
            "consent": _consent(profile),
            "bookings": [_booking(b, [m for m in sent if m.booking_id == b.booking_id]) for b in bookings],
            "conversations": [_conversation(c) for c in conversations],
            "care": [
                _care_record(r) for r in self._repo.care_records(chain_id, member_id) if "occasion" in r
            ],
        }

    # --- erasure ----------------------------------------------------------------------------------
    def erase(self, staff: auth.Staff, store_id: str, member_id: str) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "members.erase")
        chain_id = store.chain_id
        if not is_id(member_id):
            raise NotFound("no such member")
        counts = dict.fromkeys(
            (
                "profile",
                "bookings",
                "schedules",
                "conversations",
                "messages",
                "contact_lookups",
                "care_records",
                "tags",
                "coupons",
                "corrections",
            ),
            0,
        )
        profile = self._repo.member(chain_id, member_id)
        bookings = self._repo.bookings(chain_id, member_id)
        # Before anything is deleted: store staff erase only a member of their store (chain admins: any).
        self._access.require(staff, store, member_id, member=profile, bookings=bookings)
        addresses: set[tuple[str, str]] = set()
        for snapshot in [profile, *(b.member for b in bookings)]:
            if snapshot is not None:
                addresses |= {("PHONE", snapshot.phone), ("WXOPENID", snapshot.wechat_openid)}

        for booking in bookings:
            # her feedback's thank-you coupon first: the anonymized booking no longer names it
            if booking.feedback_coupon_code:
                counts["coupons"] += self._repo.delete_coupon(chain_id, booking.feedback_coupon_code)
            schedules, erased = self._erase_booking(chain_id, booking)
            counts["schedules"] += schedules
            counts["bookings"] += erased
        for conversation in self._conversations(chain_id, member_id, profile, bookings):
            addresses |= _addresses(conversation)
            # a pending hand-off alarm names her
            if conversation.meta is not None and conversation.meta.handoff_id:
                name = alarm_schedule_name(conversation.store_id, member_id, conversation.meta.handoff_id)
                counts["schedules"] += int(self._scheduler.unschedule(name))
            messages, metas = self._repo.delete_conversation(conversation)
            counts["messages"] += messages
            counts["conversations"] += metas
        for kind, address in sorted(a for a in addresses if a[1]):
            hashed = self._lookup_hash(address)
            counts["contact_lookups"] += self._repo.delete_lookup(kind, hashed, chain_id, member_id)
            # Her sign-in claim on the address (services/member_directory.py), counted with the lookups.
            counts["contact_lookups"] += self._repo.delete_claim(chain_id, kind, hashed, member_id)
        # Tags, coupons and care records before the profile: a retried erasure still finds her tags on it.
        tags = (
            set((profile.tags or []) + (profile.manual_tags or []) + (profile.auto_tags or []))
            if profile
            else set()
        )
        counts["tags"] = sum(
            self._repo.delete_tag_membership(chain_id, tag, member_id) for tag in sorted(tags)
        )
        care = self._repo.care_records(chain_id, member_id)
        codes = sorted({r["coupon_code"]["S"] for r in care if "S" in r.get("coupon_code", {})})
        counts["coupons"] += sum(self._repo.delete_coupon(chain_id, code) for code in codes)
        for correction in list(self._corrections.of_member(chain_id, member_id)):
            self._corrections.delete(correction)
            counts["corrections"] += 1
        counts["care_records"] = self._repo.delete_care_records(care)
        counts["profile"] = int(self._repo.delete_member(chain_id, member_id))
        logger.info(
            "member erased",
            extra={"chain_id": chain_id, "store_id": store_id, "member_id": member_id, "erased": counts},
        )
        return {"member_id": member_id, "erased": counts}

    # ---------------------------------------------------------------------------------------------
    def _erase_booking(self, chain_id: str, booking: BookingItem) -> tuple[int, int]:
        """(schedules deleted, 1 if the booking was anonymized). Schedules first: if the process dies after,
        a repeated erasure still finds the booking through gsi3 and finishes."""
        deleted = 0
        for _ in range(5):
            deleted += sum(self._scheduler.unschedule(name) for name in booking.schedule_names())
            try:
                self._repo.anonymize_booking(booking)
                return deleted, 1
            except ConcurrentUpdate:
                # A booking event changed it meanwhile (and may have planned new steps): read it again.
                fresh = self._repo.booking(chain_id, booking.booking_id)
                if fresh is None or fresh.member.id != booking.member.id:
                    return deleted, 0
                booking = fresh
        raise ConcurrentUpdate()

    def _conversations(
        self, chain_id: str, member_id: str, profile: MemberItem | None, bookings: list[BookingItem]
    ) -> list[Conversation]:
        """The member's conversation with each store of the chain here (the chain's store list, plus any store
        her own data names -- a store written before stores were listed by chain)."""
        store_ids = set(self._repo.chain_store_ids(chain_id))
        store_ids |= {b.store_id for b in bookings}
        if profile is not None:
            store_ids |= {s for s in (profile.last_store_id, profile.primary_store_id) if s}
        return [self._repo.conversation(store_id, member_id) for store_id in sorted(store_ids)]


# --- views ------------------------------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _profile(member: MemberItem | None) -> dict[str, Any] | None:
    if member is None:
        return None
    return {
        "name": member.name,
        "phone": member.phone,
        "email": member.email,
        "locale": member.locale,
        "birthday": member.birthday,
        "wechat_openid": member.wechat_openid,
        "primary_store_id": member.primary_store_id,
        "last_store_id": member.last_store_id,
        "tags": list(member.tags or []),
        "notes": member.notes,
        "preferences": member.preferences,  # issue 17 §5: what staff remembered, allergies too (her own data)
    }


def _care_record(item: dict[str, Any]) -> dict[str, Any]:
    """One occasion she was (or was not) sent a care message for, from its DynamoDB item."""
    return {
        name: item[name]["S"]
        for name in (
            "occasion",
            "kind",
            "status",
            "reason",
            "channel",
            "campaign_id",
            "coupon_code",
            "created_at",
        )
        if "S" in item.get(name, {})
    }


def _consent(member: MemberItem | None) -> dict[str, Any]:
    if member is None:
        return {"marketing": None, "opted_out_at": None, "marketing_paused": None}
    return {
        "marketing": member.marketing_consent,
        "opted_out_at": _iso(member.opted_out_at),
        "marketing_paused": member.marketing_paused,
    }


def _booking(b: BookingItem, sent: list[MessageItem]) -> dict[str, Any]:
    return {
        "booking_id": b.booking_id,
        "store_id": b.store_id,
        "status": b.status,
        "version": int(b.version),
        "start": _iso(b.start),
        "duration_minutes": int(b.duration_minutes),
        "service": {"code": b.service_code, "name": b.service_name, "category": b.category},
        "stylist": {"id": b.stylist_id, "name": b.stylist_name},
        "member": {
            "id": b.member.id,
            "name": b.member.name,
            "phone": b.member.phone,
            "email": b.member.email,
            "locale": b.member.locale,
            "wechat_openid": b.member.wechat_openid,
        },
        "price": ({"amount": b.price_amount, "currency": b.price_currency} if b.price_amount else None),
        "notes": b.notes,
        "booked_at": _iso(b.booked_at),
        "completed_at": _iso(b.completed_at),
        "feedback_sentiment": b.feedback_sentiment,
        "feedback_score": int(b.feedback_score) if b.feedback_score is not None else None,
        "journey": {
            "pending": [
                {
                    "kind": p.kind,
                    "when": p.when,
                    "due_at": _iso(p.due_at),
                    "channel": p.channel,
                    "scheduled": bool(p.schedule),
                }
                for p in b.pending
            ],
            "sent": [
                {
                    "kind": m.kind,
                    "status": m.status,
                    "channel": m.channel,
                    "at": _iso(m.updated_at),
                    "message_id": m.message_id,
                }
                for m in sent
            ],
        },
    }


def _conversation(c: Conversation) -> dict[str, Any]:
    meta = c.meta
    return {
        "store_id": c.store_id,
        "status": meta.status if meta else None,
        "member_name": meta.member_name if meta else None,
        "created_at": _iso(meta.created_at) if meta else None,
        "last_message_at": _iso(meta.last_message_at) if meta else None,
        "last_inbound_channel": meta.last_inbound_channel if meta else None,
        "last_inbound_address": meta.last_inbound_address if meta else None,
        "messages": [_message(m) for m in c.messages],
    }


def _message(m: MessageItem) -> dict[str, Any]:
    view = {
        "id": m.message_id,
        "direction": m.direction,
        "channel": m.channel,
        "kind": m.kind,
        "type": m.msg_type or "text",
        "text": m.text,
        "media_url": m.media_url,
        "status": m.status,
        "created_at": _iso(m.created_at),
        "booking_id": m.booking_id,
        "error": m.error,
    }
    if m.direction == "in":
        view |= {"from": m.sender, "intent": m.intent, "sentiment": m.sentiment, "actions": m.actions}
    return view


def _addresses(conversation: Conversation) -> set[tuple[str, str]]:
    """The phone numbers and openids she wrote from (each may have a contact lookup)."""
    found: set[tuple[str, str]] = set()
    meta = conversation.meta
    if meta is not None and meta.last_inbound_address and meta.last_inbound_channel in LOOKUP_KIND:
        found.add((LOOKUP_KIND[meta.last_inbound_channel], meta.last_inbound_address))
    for m in conversation.messages:
        if m.direction == "in" and m.sender and m.channel in LOOKUP_KIND:
            found.add((LOOKUP_KIND[m.channel], m.sender))
    return found
