"""What a booking's change sets going, shared by the booking webhook (services/booking_events.py) and the marks
of staff and of a member's confirm reply (services/booking_marks.py): the re-planned journey, the side effects
(schedules to delete and create, steps to send at once), the calendar buckets held, and the answer recorded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.contracts.step import StepMessage
from chalicelib.dal.bookings import slot_buckets
from chalicelib.dal.models import BookingItem, PendingStep, StoreItem
from chalicelib.journeys.plan import BookingFacts, PlannedStep, load_journey, plan
from chalicelib.scheduling import StepScheduler
from chalicelib.services.channel_order import channel_order
from chalicelib.services.stores import StoreDirectory

EVENT_RETENTION = timedelta(days=35)
FIRED_AFTER = timedelta(minutes=15)  # a one-time schedule this far past its time has fired
# Statuses in which a booking holds its stylist's time.
HOLDS_SLOT = ("booked", "confirmed", "checked_in")


def replan(stores: StoreDirectory, chain_id: str, store: StoreItem, booking: BookingItem,
           current: BookingItem | None, event: str | None, now: datetime) -> dict[str, Any]:
    """Plan the booking's remaining journey into `booking.pending`; return the side effects."""
    journey = load_journey(*stores.overrides(store))
    facts = BookingFacts(booking.status, booking.start, int(booking.duration_minutes), booking.category,
                         booking.booked_at, store.timezone)
    channels = channel_order(booking.member.phone, booking.member.email)
    steps = plan(journey, facts, event, now) if channels else []
    to_send: list[str] = []
    to_schedule: list[str] = []
    pending: list[PendingStep] = []
    for step in steps:
        message = step_message(chain_id, booking, step)
        immediate = step.due_at <= now
        (to_send if immediate else to_schedule).append(message.to_json())
        pending.append(PendingStep(kind=step.kind, when=step.when, due_at=step.due_at,
                                   schedule=None if immediate else message.schedule_name,
                                   channel=channels[0]))
    booking.pending = pending
    return {
        "timezone": store.timezone,
        # A schedule long past its time has fired and deleted itself (ActionAfterCompletion DELETE); one that has
        # not is stale for the worker anyway (older version), so only those still ahead cost a call.
        "delete": current.schedule_names(due_after=now - FIRED_AFTER) if current else [],
        "schedule": to_schedule,
        "send": to_send,
    }


def apply_effects(scheduler: StepScheduler, effects: dict[str, Any], now: datetime) -> None:
    """Delete the schedules the change made stale, schedule the steps ahead, send the steps due now."""
    for name in effects.get("delete", []):
        scheduler.unschedule(name)
    send_now = [StepMessage.from_json(body) for body in effects.get("send", [])]
    for body in effects.get("schedule", []):
        step = StepMessage.from_json(body)
        if datetime.fromisoformat(step.due_at) <= now:
            send_now.append(step)  # a replay after the due time: the worker de-duplicates
        else:
            scheduler.schedule(step, effects["timezone"])
    if send_now:
        scheduler.send_now(send_now)


def holds(status: str, stylist_id: str, start: datetime, minutes: int, held: dict[str, list[str]],
          now: datetime) -> dict[str, list[str]]:
    """The calendar buckets a booking holds in `status`."""
    return slot_buckets(stylist_id, start, minutes) if status in HOLDS_SLOT else {}


def step_message(chain_id: str, booking: BookingItem, step: PlannedStep) -> StepMessage:
    return StepMessage(
        chain_id=chain_id,
        store_id=booking.store_id,
        booking_id=booking.booking_id,
        member_id=booking.member.id,
        kind=step.kind,
        when=step.when,
        version=booking.version,
        due_at=step.due_at.astimezone(UTC).isoformat(),
    )


def answer(booking: BookingItem, timezone: str) -> dict[str, Any]:
    answer = {
        "booking_id": booking.booking_id,
        "status": booking.status,
        "version": int(booking.version),
        "journey": journey_view(booking.pending, timezone),
    }
    if booking.coupon_status:
        answer["coupon"] = {"code": booking.coupon_code, "status": booking.coupon_status}
    return answer


def journey_view(pending: Iterable[PendingStep], timezone: str) -> list[dict[str, Any]]:
    tz = ZoneInfo(timezone)
    return [
        {"kind": p.kind, "due_at": p.due_at.astimezone(tz).isoformat(), "channel": p.channel}
        for p in pending
    ]
