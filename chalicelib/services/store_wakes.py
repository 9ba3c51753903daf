"""A store's wake (contracts/store_wake.py): the steps of the store's bookings of one day due at its moment.

The wake reads the store-day list (gsi4, keys only) and the bookings on it as they are now, and puts on the
steps queue each step a booking still plans for that moment with the WOKEN flag, at the booking's version: a
booking cancelled or moved since has no such step, and one changed a moment ago (the list and the reads are
eventually consistent) is checked again by the step worker, which drops a step of an older version. A wake delivered twice puts the same
steps twice, and the step worker's claim sends each once.
"""

from __future__ import annotations

from chalicelib.contracts.step import step_message
from chalicelib.contracts.store_wake import StoreWake
from chalicelib.dal.bookings import BookingRepository
from chalicelib.scheduling import StepScheduler


class StoreWakes:
    def __init__(self, bookings: BookingRepository, scheduler: StepScheduler) -> None:
        self._bookings = bookings
        self._scheduler = scheduler

    def fire(self, wake: StoreWake) -> int:
        """Queue the steps due at the wake's moment; how many."""
        due = wake.due
        steps = [
            step_message(wake.chain_id, booking, pending)
            for booking in self._bookings.store_day(wake.store_id, wake.day, limit=None)
            if booking.chain_id == wake.chain_id
            for pending in booking.woken_at(due)
        ]
        if steps:
            self._scheduler.send_now(steps)
        return len(steps)
