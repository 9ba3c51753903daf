"""A booking marked, not by the booking system's webhook but here: staff saw the member arrive or not
(`mark_attendance`), or the member confirmed by replying (`mark_confirmed`, conversations/inbound.py). The same
state change and re-planned journey as the webhook's event (services/booking_events.py), applied once per mark.
"""

from __future__ import annotations

from typing import Any

from chalicelib.clock import Clock
from chalicelib.dal.bookings import BookingCommit, BookingRepository
from chalicelib.dal.models import BookingItem
from chalicelib.errors import ConcurrentUpdate
from chalicelib.metrics import NO_METRICS, NO_SHOWS, Counter
from chalicelib.observability import logger
from chalicelib.scheduling import StepScheduler
from chalicelib.services.booking_events import EVENT_RETENTION, answer, apply_effects, holds, replan
from chalicelib.services.stores import StoreDirectory


class BookingMarks:
    def __init__(
        self,
        repo: BookingRepository,
        stores: StoreDirectory,
        scheduler: StepScheduler,
        clock: Clock,
        metrics: Counter = NO_METRICS,
        reports: Any = None,  # services/report_events.py ReportEvents: the report counters
    ) -> None:
        self._metrics = metrics
        self._repo = repo
        self._reports = reports
        self._stores = stores
        self._scheduler = scheduler
        self._clock = clock

    def mark_confirmed(self, chain_id: str, booking_id: str, source_id: str) -> bool:
        """The member confirmed by replying: record it (once per source message) and re-plan, so the
        "please confirm" reminder is not sent. False when the booking is not awaiting confirmation, or its start
        is not in the future (a booking that has started is never "confirmed")."""
        return (
            self._mark(chain_id, booking_id, source_id, ("booked",), "confirmed", None, starts_ahead=True)
            is not None
        )

    def mark_attendance(self, chain_id: str, booking_id: str, status: str) -> BookingItem | None:
        """Staff saw the member arrive ("checked_in") or not ("no_show"): the same state change, and the same
        re-planned journey, as the booking system's booking.checked_in / booking.no_show webhook. The
        event id names the booking version it was marked at, so a double click or a retry applies once,
        and marking a status the booking already has changes nothing. None when the booking cannot move
        to that status (cancelled, completed, or not found)."""
        current = self._repo.booking(chain_id, booking_id)
        if current is not None and current.status == status:
            return current
        allowed = {"no_show": ("booked", "confirmed"), "checked_in": ("booked", "confirmed", "no_show")}[
            status
        ]
        source_id = f"staff-{booking_id}-{status}-v{current.version if current else 0}"
        return self._mark(chain_id, booking_id, source_id, allowed, status, status)

    def _mark(
        self,
        chain_id: str,
        booking_id: str,
        source_id: str,
        allowed: tuple[str, ...],
        status: str,
        event: str | None,
        starts_ahead: bool = False,
    ) -> BookingItem | None:
        """Move a booking to `status` once per `source_id`, re-plan its journey with `event`, apply the effects.
        The booking as it is afterwards, or None when it is not in one of the `allowed` statuses (or, with
        `starts_ahead`, when its start is not in the future)."""
        for _ in range(5):
            if self._repo.event(chain_id, source_id) is not None:
                return self._repo.booking(chain_id, booking_id)
            current = self._repo.booking(chain_id, booking_id)
            if current is not None and current.applied_version(source_id) is not None:
                return current
            store = self._stores.get(current.store_id) if current else None
            now = self._clock.now()
            if (
                current is None
                or store is None
                or current.status not in allowed
                or (starts_ahead and current.start <= now)
            ):
                return None
            booking = self._repo.copy(current)
            booking.status, booking.version = status, current.version + 1
            booking.remember_event(source_id, current)
            booking.place_on_store_day(store.timezone)
            effects = replan(self._stores, chain_id, store, booking, current, event, now)
            hold_after = holds(
                status, current.stylist_id, current.start, current.held_minutes, current.slots, now
            )
            booking.slots = hold_after
            try:
                self._repo.commit(
                    BookingCommit(
                        booking=booking,
                        expected_version=current.version,
                        held_before=current.slots,
                        hold_after=hold_after,
                        also=self._reports.booking_updates(chain_id, current, booking)
                        if self._reports is not None
                        else [],
                    ),
                    chain_id,
                )
            except ConcurrentUpdate:
                continue
            logger.info(
                "booking marked",
                extra={
                    "chain_id": chain_id,
                    "booking_id": booking_id,
                    "status": status,
                    "version": booking.version,
                },
            )
            self._repo.record_event(
                chain_id,
                source_id,
                booking_id=booking_id,
                version=booking.version,
                status_code=202,
                response=answer(booking, store.timezone),
                keep_until=now + EVENT_RETENTION,
                keep_existing=True,
            )
            apply_effects(self._scheduler, effects, now)
            if status == "no_show":
                self._metrics.count(NO_SHOWS)
            return booking
        raise ConcurrentUpdate()
