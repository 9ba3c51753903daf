"""A store's wake (contracts/store_wake.py): the steps of the store's bookings of one day due at its moment.

The wake reads the store-day list (gsi4, keys only) and the bookings on it as they are now, and takes each step a
booking still plans for that moment with the WOKEN flag, at the booking's version: a booking cancelled or moved
since has no such step, and one changed a moment ago (the list and the reads are eventually consistent) is checked
again by the delivery, which drops a step of an older version.

A wake of a few steps (a store-day of a small salon) delivers them in its own invocation while the invocation has
time to spare, which saves queueing them and a second invocation; a larger one, a step whose provider failed for
now or is being sent by another worker, and whatever the time left does not allow go on the steps queue, where
each is retried on its own. A wake delivered twice, or retried after a failure half-way, takes the same steps
again, and the delivery's claim sends each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.contracts.step import StepMessage, step_message
from chalicelib.contracts.store_wake import StoreWake
from chalicelib.dal.bookings import BookingRepository
from chalicelib.errors import TransientSendError
from chalicelib.scheduling import StepScheduler

INLINE_STEPS = 10  # a wake of at most this many steps delivers them itself
# Delivering one more step in the wake's invocation needs at least this much of it left (a step takes well under
# a second at the workers' memory; the rest of the invocation's batch may be wakes too).
INLINE_RESERVE_MS = 10_000


class StoreWakes:
    def __init__(self, bookings: BookingRepository, scheduler: StepScheduler) -> None:
        self._bookings = bookings
        self._scheduler = scheduler

    def steps(self, wake: StoreWake) -> list[StepMessage]:
        """The steps due at the wake's moment."""
        due = wake.due
        return [
            step_message(wake.chain_id, booking, pending)
            for booking in self._bookings.store_day(wake.store_id, wake.day, limit=None)
            if booking.chain_id == wake.chain_id
            for pending in booking.woken_at(due)
        ]

    def fire(
        self,
        wake: StoreWake,
        deliver: Callable[[StepMessage], Any] | None = None,
        time_left_ms: Callable[[], int] | None = None,
    ) -> tuple[int, int]:
        """Deliver the wake's steps here (`deliver`, while `time_left_ms` allows) or queue them: (delivered,
        queued)."""
        steps = self.steps(wake)
        inline = deliver is not None and time_left_ms is not None and len(steps) <= INLINE_STEPS
        queued: list[StepMessage] = []
        delivered = 0
        for step in steps:
            if not inline or deliver is None or time_left_ms is None or time_left_ms() < INLINE_RESERVE_MS:
                queued.append(step)
                continue
            try:
                deliver(step)
                delivered += 1
            except TransientSendError:  # a provider down for now, or another worker sending it: retried alone
                queued.append(step)
        if queued:
            self._scheduler.send_now(queued)
        return delivered, len(queued)
