"""Keeps a member's built profile (visits, spend, primary store...) and tags current.

`refresh` rebuilds everything from her bookings, so it is idempotent: the booking webhook calls it after every
applied event and again on a duplicate delivery, and a duplicate can never count a visit twice. The always-on
sweeps may call it too (e.g. so `lapsed_90d` is set for a member who stays away)."""

from __future__ import annotations

from typing import Any

from chalicelib.care import profile
from chalicelib.care.attribution import attribute_bookings
from chalicelib.clock import Clock
from chalicelib.dal.care import CareRepository, Conflict
from chalicelib.dal.models import MemberItem
from chalicelib.errors import ConcurrentUpdate
from chalicelib.observability import logger


class MemberCare:
    def __init__(self, repo: CareRepository, clock: Clock, reports: Any = None) -> None:
        self._repo = repo
        self._clock = clock
        self._reports = reports  # services/report_events.py ReportEvents: rebookings, campaign bookings

    def refresh(
        self, chain_id: str, member_id: str, contact: dict[str, Any] | None = None, booking: Any = None
    ) -> MemberItem | None:
        """Rebuild her profile; `contact` (from a booking webhook) also upserts her contact fields, creating the
        member when she is new, and `booking` is the booking just committed (an index read may not show it yet)."""
        bookings = self._repo.bookings(chain_id, member_id, known=[booking] if booking is not None else [])
        if booking is not None:
            bookings = [b for b in bookings if b.booking_id != booking.booking_id] + [booking]
        latest_store = max(bookings, key=lambda b: b.booked_at).store_id if bookings else None
        visits = [v for v in (profile.visit_of(b) for b in bookings) if v is not None]
        for _ in range(5):
            member = self._repo.member(chain_id, member_id, consistent=True)
            new = member is None
            if member is None:
                if not contact:
                    return None
                member = self._repo.new_member(chain_id, member_id)
            stats = profile.stats(
                visits,
                latest_store or (contact or {}).get("last_store_id") or member.last_store_id,
                self._clock.now(),
            )
            manual = sorted(member.manual_tags or [])
            tags = sorted(set(manual) | set(stats.auto_tags))
            before = list(member.tags or [])
            try:
                fields, consent_yes = contact_to_write(member, contact)
                wrote = self._repo.save_profile(
                    member, stats, manual, tags, contact=fields, new=new, consent_if_unanswered=consent_yes
                )
            except Conflict:
                continue
            if wrote:  # nothing written: her tags and their TAG# items are as they were
                self._repo.sync_tags(member, before)  # `member` holds what was written (ALL_NEW)
            # A booking counts for a campaign when it is made; a member new to us has had no campaign message.
            if not new and (booking is None or int(booking.version) == 1):
                attribute_bookings(
                    self._repo,
                    chain_id,
                    member_id,
                    bookings if booking is None else [booking],
                    counted=self._campaign_booking,
                )
            if self._reports is not None and booking is not None and int(booking.version) == 1:
                self._reports.rebooked(chain_id, booking, bookings)
            logger.info(
                "member profile rebuilt",
                extra={"chain_id": chain_id, "visits": stats.visits, "tags": tags, "wrote": wrote},
            )
            return member
        raise ConcurrentUpdate()

    def _campaign_booking(self, chain_id: str, booking: Any) -> None:
        if self._reports is not None:
            self._reports.campaign_booking(chain_id, booking)

    def edit_tags(
        self, chain_id: str, member_id: str, add: list[str], remove: list[str]
    ) -> MemberItem | None:
        """Manual tags: add/remove are applied to what is there (idempotent); automatic tags stay the rules'."""
        for _ in range(5):
            member = self._repo.member(chain_id, member_id, consistent=True)
            if member is None:
                return None
            manual = sorted((set(member.manual_tags or []) | set(add)) - set(remove))
            tags = sorted(set(manual) | set(member.auto_tags or []))
            before = list(member.tags or [])
            try:
                self._repo.save_profile(member, None, manual, tags)
            except Conflict:
                continue
            fresh = self._repo.member(chain_id, member_id, consistent=True)
            if fresh is None:  # erased in between: no tags to follow
                return None
            self._repo.sync_tags(fresh, before)
            return fresh
        raise ConcurrentUpdate()

    def add_note(
        self, chain_id: str, member_id: str, note: dict[str, Any], max_notes: int = 200
    ) -> MemberItem | None:
        for _ in range(5):
            member = self._repo.member(chain_id, member_id, consistent=True)
            if member is None:
                return None
            notes = list(member.notes or [])
            if any(n.get("id") == note["id"] for n in notes):
                return member  # a retry with the same client note id
            notes = (notes + [note])[-max_notes:]
            try:
                self._repo.save_profile(
                    member, None, sorted(member.manual_tags or []), list(member.tags or []), notes=notes
                )
            except Conflict:
                continue
            return self._repo.member(chain_id, member_id, consistent=True)
        raise ConcurrentUpdate()


def contact_to_write(
    member: MemberItem, contact: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, bool]:
    """The marketing-consent rule, applied to the contact fields a booking webhook brings: (the fields to write
    as they are, whether to write a "yes" only where she has no answer).

    A booking system's "yes" to marketing only counts for a member we hold no answer for: it must never undo a
    withdrawal ("TD", 退订) she made to us -- not even one recorded after her item was read, so the "yes" is not a
    plain value but asked of the repository as write-if-unanswered (atomic in the same write). A "no" always
    applies. A "yes" for a member who has answered is dropped."""
    if not contact or contact.get("marketing_consent") is not True:
        return contact, False
    fields = {name: value for name, value in contact.items() if name != "marketing_consent"}
    return fields, member.marketing_consent is None
