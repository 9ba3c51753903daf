"""A store's bookings as the front desk sees them: the day by stylist, one booking's timeline, and marking a
member checked in or a no-show (the same change, and journey, as the booking system's webhook would make)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.dal.bookings import BookingRepository
from chalicelib.dal.messages import MessageRepository
from chalicelib.dal.models import BookingItem, StoreItem
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.booking_marks import BookingMarks
from chalicelib.services.message_history import message_view

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MARKABLE = ("no_show", "checked_in")


class StaffBookings:
    def __init__(
        self,
        stores: Any,
        repo: BookingRepository,
        messages: MessageRepository,
        marks: BookingMarks,
        booking_system: Any,
        clock: Clock,
    ) -> None:
        self._stores = stores
        self._repo = repo
        self._messages = messages
        self._marks = marks
        self._booking_system = booking_system  # conversations.outbound.BookingSystemNotifier
        self._clock = clock

    def day(self, staff: auth.Staff, store_id: str, day: str | None) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "bookings.read")
        tz = ZoneInfo(store.timezone)
        wanted = _parse_day(day) if day else self._clock.now().astimezone(tz).date()
        bookings = self._repo.store_day(store_id, wanted.isoformat())
        stylists: dict[str, dict[str, Any]] = {}
        for s in (store.catalog or {}).get("stylists", []):  # every stylist shows, with or without bookings
            stylists[s["id"]] = {"id": s["id"], "name": s.get("name", ""), "bookings": []}
        for b in bookings:
            row = stylists.setdefault(
                b.stylist_id, {"id": b.stylist_id, "name": b.stylist_name, "bookings": []}
            )
            row["bookings"].append(booking_view(b, tz))
        return {
            "store_id": store_id,
            "date": wanted.isoformat(),
            "timezone": store.timezone,
            "stylists": list(stylists.values()),
            "count": len(bookings),
        }

    def timeline(self, staff: auth.Staff, store_id: str, booking_id: str) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "bookings.read")
        booking = self._booking(store, booking_id)
        tz = ZoneInfo(store.timezone)
        sent = self._messages.for_booking(store_id, booking.member.id, booking_id)
        return {
            "booking": booking_view(booking, tz),
            "sent": [message_view(m, tz, None) for m in sent],
            "planned": [
                {"kind": p.kind, "due_at": p.due_at.astimezone(tz).isoformat(), "channel": p.channel}
                for p in booking.pending
            ],
        }

    def mark(self, staff: auth.Staff, store_id: str, booking_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "bookings.status")
        status = body.get("status")
        if status not in MARKABLE:
            raise ValidationFailed("bad status", {"status": "no_show or checked_in"})
        before = self._booking(store, booking_id)
        after = self._marks.mark_attendance(store.chain_id, booking_id, status)
        if after is None:
            raise Conflict(
                f"a {before.status} booking cannot be marked {status}",
                {"status": f"not allowed while the booking is {before.status}"},
            )
        changed = int(after.version) != int(before.version)
        notified = (
            self._booking_system.booking_marked(
                chain_id=store.chain_id, booking=after, marked_by=staff.subject, now=self._clock.now()
            )
            if changed
            else {"result": "unchanged"}
        )
        return {
            "booking": booking_view(after, ZoneInfo(store.timezone)),
            "changed": changed,
            "booking_system": notified,
        }

    # ---------------------------------------------------------------------------------------------
    def _booking(self, store: StoreItem, booking_id: str) -> BookingItem:
        booking = self._repo.booking(store.chain_id, booking_id) if is_id(booking_id) else None
        if booking is None or booking.store_id != store.store_id:
            raise NotFound("no such booking")
        return booking


def booking_view(b: BookingItem, tz: Any) -> dict[str, Any]:
    return {
        "id": b.booking_id,
        "status": b.status,
        "version": int(b.version),
        "start": b.start.astimezone(tz).isoformat(),
        "duration_minutes": int(b.duration_minutes),
        "buffer_minutes": int(b.buffer_minutes or 0),
        "service": {"code": b.service_code, "name": b.service_name, "category": b.category},
        "stylist": {"id": b.stylist_id, "name": b.stylist_name},
        "member": {"id": b.member.id, "name": b.member.name},
        "notes": b.notes,
        # Issue 17: her answer to the feedback request (services/feedback.py), null until she answers.
        "feedback": {
            "score": int(b.feedback_score) if b.feedback_score is not None else None,
            "sentiment": b.feedback_sentiment,
        },
    }


def _parse_day(raw: str) -> date:
    try:
        if not _DAY.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("bad date", {"date": "a store-local date, YYYY-MM-DD"}) from None
