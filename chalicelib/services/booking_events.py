"""The booking webhook's events (size, signature and shape checked at the edge, chalicelib/api/webhooks.py):
apply the event to the booking, plan and schedule its journey.

Idempotent end to end: the event record is written in the same transaction as the booking, so an
event id is applied at most once; its answer and its side effects (schedules to delete and create,
steps to send at once) are stored with it, so a duplicate gets the first answer and re-applies those
side effects -- which finishes the work if the first attempt died half-way, and is harmless if not
(schedules have deterministic names; the sending worker de-duplicates steps).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.contracts.step import StepMessage, schedule_name, step_message
from chalicelib.contracts.store_wake import StoreWake
from chalicelib.dal.bookings import (
    BookingCommit,
    BookingRepository,
    DuplicateEvent,
    MemberContacts,
    slot_buckets,
)
from chalicelib.dal.models import WOKEN, BookingItem, EventItem, PendingStep, StoreItem
from chalicelib.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.journeys.plan import BookingFacts, PlannedStep, load_journey, plan
from chalicelib.metrics import BOOKINGS, NO_METRICS, NO_SHOWS, Counter
from chalicelib.observability import logger
from chalicelib.scheduling import StepScheduler
from chalicelib.services import channel_router
from chalicelib.services.stores import StoreDirectory

if TYPE_CHECKING:  # a type only: the inbound worker's staff marks come here without loading pydantic
    from chalicelib.contracts.booking_event import BookingEvent

EVENT_RETENTION = timedelta(days=35)
FIRED_AFTER = timedelta(minutes=15)  # a one-time schedule this far past its time has fired
# A step goes with its store's wake only this far ahead: the wake finds it on the store-day list (a GSI, which
# shows a write within a second or so), never missing a booking written just before.
WAKE_LEAD = timedelta(minutes=10)
# Statuses in which a booking holds its stylist's time.
HOLDS_SLOT = ("booked", "confirmed", "checked_in")
STATUS_AFTER = {
    "booking.created": "booked",
    "booking.rescheduled": "booked",
    "booking.cancelled": "cancelled",
    "booking.checked_in": "checked_in",
    "booking.completed": "completed",
    "booking.no_show": "no_show",
}


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


class BookingEvents:
    def __init__(
        self,
        repo: BookingRepository,
        stores: StoreDirectory,
        scheduler: StepScheduler,
        clock: Clock,
        lookup_hash: Callable[[str], str],
        on_member: Callable[[str, str, dict[str, Any] | None, BookingItem | None], Any] | None = None,
        coupons: Callable[[str, str], Any] | None = None,
        table_name: str = "",
        on_freed: Callable[[BookingItem, BookingItem], Any] | None = None,
        metrics: Counter = NO_METRICS,
        reports: Any = None,  # services/report_events.py ReportEvents: the report counters
    ) -> None:
        self._metrics = metrics
        self._repo = repo
        self._reports = reports
        # Told (before, after) once a commit let a stylist's time go, so the waitlist can offer it
        # (services/waitlist.py `freed`); only on the commit itself, so a duplicate or replay never offers twice.
        self._on_freed = on_freed
        # Rebuilds the member's profile and tags from her bookings (care/member_care.py) after an applied
        # event and again on a duplicate: idempotent, so a duplicate never counts a visit twice.
        self._on_member = on_member
        self._coupons = coupons  # (chain_id, code) -> CouponItem | None
        self._table = table_name
        self._stores = stores
        self._scheduler = scheduler
        self._clock = clock
        self._lookup_hash = lookup_hash  # privacy.LookupHasher: contact lookups are keyed by a keyed hash

    def receive(self, chain_id: str, event: BookingEvent) -> Answer:
        """A booking event whose signature the edge verified (chalicelib/api/webhooks.py), from `chain_id`."""
        store = self._stores.of_chain(event.booking.store_id, chain_id)
        if store is None:
            raise ValidationFailed("unknown store", {"booking.store_id": "no such store in this chain"})
        return self.apply(chain_id, store, event)

    def apply(self, chain_id: str, store: StoreItem, event: BookingEvent) -> Answer:
        for _ in range(5):
            seen = self._repo.event(chain_id, event.event_id)
            if seen is not None:
                return self._replay(chain_id, store, seen, event)
            try:
                return self._apply_once(chain_id, store, event)
            except DuplicateEvent:
                continue  # a concurrent delivery of the same event won; answer as it did
            except ConcurrentUpdate:
                continue  # another event changed the booking meanwhile; re-read and re-plan
        raise ConcurrentUpdate()

    # ---------------------------------------------------------------------------------------------
    def _apply_once(self, chain_id: str, store: StoreItem, event: BookingEvent) -> Answer:
        now = self._clock.now()
        payload = event.booking
        current = self._repo.booking(chain_id, payload.id)
        occurred = event.occurred_at.astimezone(UTC)

        applied_at = current.applied_version(event.event_id) if current is not None else None
        if current is not None and applied_at is not None:
            # applied, but its record was not written (a crash, or a racing delivery)
            return self._recover(chain_id, store, current, event, applied_at, now)
        if current is not None and occurred < current.last_event_at:
            return self._acknowledge(chain_id, event, current, now, "out_of_order")

        status = STATUS_AFTER[event.type]
        start = payload.start.astimezone(UTC)
        if current is not None and _same_state(current, status, start, payload):
            return self._acknowledge(chain_id, event, current, now, "no_change")

        version = (current.version if current else 0) + 1
        booking = self._repo.booking_from_event(
            chain_id,
            payload,
            status=status,
            version=version,
            start=start,
            occurred=occurred,
            current=current,
            now=now,
        )
        booking.remember_event(event.event_id, current)
        booking.contact_ref = _contact_ref(payload, self._lookup_hash)
        booking.place_on_store_day(store.timezone)
        effects = replan(self._stores, chain_id, store, booking, current, event.type.split(".", 1)[1], now)
        if current is not None:
            booking.coupon_code, booking.coupon_status = current.coupon_code, current.coupon_status
        coupon = self._coupon(chain_id, payload, event.type, current, now)
        if coupon is not None:
            booking.coupon_code = (payload.coupon_code or booking.coupon_code or "").upper()
            booking.coupon_status = coupon.status
        response = answer(booking, store.timezone)
        held_before = current.slots if current else {}
        hold_after = holds(
            status,
            payload.stylist.id,
            start,
            payload.duration_minutes + payload.buffer_minutes,
            held_before,
            now,
        )
        if status == "completed":
            # The visit has happened: the buckets it let go stay on the calendar, naming it, and a later claim of
            # that time takes them over (dal/bookings.py, _take_over_stale) -- no write to free them now.
            held_before = {}
        booking.slots = hold_after
        change = BookingCommit(
            booking=booking,
            expected_version=current.version if current else None,
            held_before=held_before,
            hold_after=hold_after,
            coupon=coupon.handover if coupon is not None else None,
            contacts=(
                None
                if _same_contacts(current, payload)
                else _contacts(chain_id, payload, now, self._lookup_hash)
            ),
        )
        if self._reports is not None:
            change.also = self._reports.booking_updates(chain_id, current, booking)
        self._repo.commit(change, chain_id)
        logger.info(
            "booking event applied",
            extra={
                "chain_id": chain_id,
                "booking_id": payload.id,
                "type": event.type,
                "version": version,
                "steps": [p.kind for p in booking.pending],
            },
        )
        self._finish(
            chain_id,
            event.event_id,
            booking,
            response,
            effects,
            now,
            lookups=change.contacts is not None and not change.lookups_written,
            payload=payload,
            profile=_profile_may_change(current, booking),
        )
        if current is None:
            self._metrics.count(BOOKINGS)
        if status == "no_show" and (current is None or current.status != "no_show"):
            self._metrics.count(NO_SHOWS)
        if current is not None and self._on_freed is not None:
            try:
                self._on_freed(current, booking)
            except Exception:  # noqa: BLE001 - the booking is done; a lost offer is no reason to fail it
                logger.exception("freed time not queued for the waitlist", extra={"booking_id": payload.id})
        return Answer(202, response)

    def _finish(
        self,
        chain_id: str,
        event_id: str,
        booking: BookingItem,
        response: dict[str, Any],
        effects: dict[str, Any],
        now: datetime,
        lookups: bool,
        payload: Any,
        profile: bool = True,
    ) -> None:
        """What follows a commit, each step idempotent, so a duplicate delivery can run it all again: the event's
        record (its first answer, for duplicates), the contact lookups, the schedules and sends, her profile
        (unless `profile` is False: nothing it is built from changed)."""
        self._repo.record_event(
            chain_id,
            event_id,
            booking_id=booking.booking_id,
            version=int(booking.version),
            status_code=202,
            response=response,
            keep_until=now + EVENT_RETENTION,
            keep_existing=True,
        )
        if lookups:
            self._repo.put_lookups(_contacts(chain_id, payload, now, self._lookup_hash))
        apply_effects(self._scheduler, effects, now)
        if profile:
            self._member_changed(chain_id, payload.member.id, _member_contact(payload), booking)

    def _recover(
        self,
        chain_id: str,
        store: StoreItem,
        current: BookingItem,
        event: BookingEvent,
        applied_at: int,
        now: datetime,
    ) -> Answer:
        """A duplicate of an event the booking shows applied whose record is missing: finish its work when the
        booking is still at that version and answer as it did; once superseded its answer can no longer be
        rebuilt, and the booking's present state is reported (nothing is changed either way)."""
        response = answer(current, store.timezone)
        if int(current.version) == applied_at:
            self._repo.release_leftovers(chain_id, current)
            self._finish(
                chain_id,
                event.event_id,
                current,
                response,
                self._effects_of(current, store.timezone),
                now,
                lookups=True,
                payload=event.booking,
            )
        else:
            response["ignored"] = "superseded"
        return Answer(202, response)

    def _effects_of(self, booking: BookingItem, timezone: str) -> dict[str, Any]:
        """The side effects of the commit that made `booking`, rebuilt from it: its planned steps, and deleting
        every schedule the version before may have had (names are deterministic; a missing one is a no-op)."""
        chain_id, version = booking.chain_id, int(booking.version)
        steps = [
            step_message(chain_id, booking, PlannedStep(p.kind, p.when, p.due_at)) for p in booking.pending
        ]
        store = self._stores.get(booking.store_id) if version > 1 else None
        journey = load_journey(*self._stores.overrides(store)) if store is not None else None
        return {
            "timezone": timezone,
            "delete": sorted(
                {
                    schedule_name(chain_id, booking.booking_id, spec.kind, version - 1)
                    for spec in (journey.steps if journey else ())
                }
            ),
            "schedule": [
                m.to_json()
                for m, p in zip(steps, booking.pending, strict=True)
                if p.schedule not in (None, WOKEN)
            ],
            "wake": list(
                dict.fromkeys(
                    _wake(chain_id, booking, p.due_at, timezone).to_json()
                    for p in booking.pending
                    if p.schedule == WOKEN
                )
            ),
            "send": [m.to_json() for m, p in zip(steps, booking.pending, strict=True) if not p.schedule],
        }

    def _coupon(
        self, chain_id: str, payload: Any, event_type: str, current: BookingItem | None, now: datetime
    ) -> Any:
        """What the booking's coupon code becomes (care/coupons.py); None when it carries none."""
        code = payload.coupon_code or (
            current.coupon_code if current and event_type == "booking.cancelled" else None
        )
        if not code or self._coupons is None:
            return None
        from chalicelib.care.coupons import coupon_change

        return coupon_change(
            self._coupons(chain_id, code.upper()), payload.member.id, payload.id, event_type, now
        )

    def _member_changed(
        self,
        chain_id: str,
        member_id: str,
        contact: dict[str, Any] | None = None,
        booking: BookingItem | None = None,
    ) -> None:
        """After the booking's commit (outside its transaction: the member is one write, and none at all when
        nothing on her profile changed). A duplicate delivery runs it again, so a crash in between heals."""
        if self._on_member is not None:
            self._on_member(chain_id, member_id, contact, booking)

    def _acknowledge(
        self, chain_id: str, event: BookingEvent, current: BookingItem, now: datetime, reason: str
    ) -> Answer:
        """Record an event that changes nothing, so its duplicates get this same answer."""
        store_tz = self._stores.get(current.store_id)
        tz = store_tz.timezone if store_tz else "UTC"
        response = {
            "booking_id": current.booking_id,
            "status": current.status,
            "version": current.version,
            "journey": journey_view(current.pending, tz),
            "ignored": reason,
        }
        if current.coupon_status:
            response["coupon"] = {"code": current.coupon_code, "status": current.coupon_status}
        try:
            self._repo.record_event(
                chain_id,
                event.event_id,
                booking_id=current.booking_id,
                version=current.version,
                status_code=202,
                response=response,
                keep_until=now + EVENT_RETENTION,
            )
        except DuplicateEvent:
            seen = self._repo.event(chain_id, event.event_id)
            if seen is not None:
                return Answer(int(seen.status_code), seen.response)
        logger.info(
            "booking event acknowledged without change",
            extra={"chain_id": chain_id, "booking_id": current.booking_id, "reason": reason},
        )
        return Answer(202, response)

    def _replay(self, chain_id: str, store: StoreItem, seen: EventItem, event: BookingEvent) -> Answer:
        """A duplicate: the first answer; when the booking is still at the version the event made, its work is
        done again (each part idempotent), which finishes it if the first delivery died half-way."""
        booking = self._repo.booking(chain_id, seen.booking_id)
        if booking is not None and booking.version == seen.version and not seen.response.get("ignored"):
            effects = seen.effects or self._effects_of(
                booking, store.timezone
            )  # EventItem.effects: see there
            apply_effects(self._scheduler, effects, self._clock.now())
            self._repo.release_leftovers(chain_id, booking)
            same_member = booking.member.id == event.booking.member.id
            if same_member:
                self._repo.put_lookups(
                    _contacts(chain_id, event.booking, self._clock.now(), self._lookup_hash)
                )
            self._member_changed(
                chain_id, booking.member.id, _member_contact(event.booking) if same_member else None, booking
            )
        return Answer(int(seen.status_code), seen.response)


# --- helpers ---------------------------------------------------------------------------------------
def _same_state(current: BookingItem, status: str, start: datetime, payload: Any) -> bool:
    return (
        current.status == status
        and current.start == start
        and int(current.duration_minutes) == payload.duration_minutes
        and int(current.buffer_minutes or 0) == payload.buffer_minutes
        and current.stylist_id == payload.stylist.id
        and current.store_id == payload.store_id
    )


def _contact_ref(payload: Any, lookup_hash: Callable[[str], str]) -> str:
    """A short digest of the member fields the booking carries: unchanged, her profile need not be rebuilt.
    Keyed (the lookup key's HMAC, privacy.LookupHasher), so a copy of the table cannot be tested against a
    guessed phone number or email; an erasure removes it anyway (dal/privacy.py). A booking written before it
    was keyed holds a plain digest: it differs from the keyed one, so her profile is rebuilt once, no harm."""
    text = json.dumps(_member_contact(payload), sort_keys=True, ensure_ascii=False)
    return lookup_hash("contact-ref\x00" + text)[:16]


def _profile_may_change(current: BookingItem | None, booking: BookingItem) -> bool:
    """Her profile is built from her completed visits, the store of her latest booking and the contact fields
    bookings carry: a status change between booked, confirmed, checked-in, no-show or cancelled with the same
    member, store and contacts leaves it as it is (her profile's rebuild reads four items and writes none)."""
    return (
        current is None
        or current.contact_ref != booking.contact_ref
        or current.store_id != booking.store_id
        or current.member.id != booking.member.id
        or current.status == "completed"
        or booking.status == "completed"
    )


def _member_contact(payload: Any) -> dict[str, Any]:
    """The member fields a booking carries, for her profile; None values (left out) keep what is there."""
    member = payload.member
    return {
        "name": member.name,
        "phone": member.phone,
        "email": member.email,
        "locale": member.locale,
        "birthday": member.birthday,
        "wechat_openid": member.wechat_openid,
        "marketing_consent": member.marketing_consent,
        "last_store_id": payload.store_id,
    }


def _same_contacts(current: BookingItem | None, payload: Any) -> bool:
    """The booking's last commit wrote exactly these contact lookups (same member, addresses and store), so a
    status-only event need not rewrite them; erasing a member erases her bookings and lookups together."""
    return (
        current is not None
        and current.store_id == payload.store_id
        and current.member.id == payload.member.id
        and current.member.phone == payload.member.phone
        and current.member.wechat_openid == payload.member.wechat_openid
    )


def _contacts(
    chain_id: str, payload: Any, now: datetime, lookup_hash: Callable[[str], str]
) -> MemberContacts:
    """So an inbound SMS or WeChat message finds its member: her channel addresses as keyed hashes (never the
    address itself), for the contact lookups the repository writes."""
    member = payload.member
    return MemberContacts(
        chain_id=chain_id,
        member_id=member.id,
        store_id=payload.store_id,
        at=now,
        phone_hash=lookup_hash(member.phone) if member.phone else None,
        wechat_openid_hash=lookup_hash(member.wechat_openid) if member.wechat_openid else None,
    )


# --- what a booking's change sets going: shared with the marks (services/booking_marks.py) -----------


def replan(
    stores: StoreDirectory,
    chain_id: str,
    store: StoreItem,
    booking: BookingItem,
    current: BookingItem | None,
    event: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Plan the booking's remaining journey into `booking.pending`; return the side effects."""
    journey = load_journey(*stores.overrides(store))
    facts = BookingFacts(
        booking.status,
        booking.start,
        int(booking.duration_minutes),
        booking.category,
        booking.booked_at,
        store.timezone,
    )
    # The channel each step would take as far as the booking's own addresses tell (services/channel_router.py);
    # the step worker routes again when it sends, knowing her profile and conversation.
    routing = channel_router.settings_for(*stores.routing(store), on_bad=lambda exc: None)
    addresses = channel_router.MemberFacts(
        phone=booking.member.phone, email=booking.member.email, wechat_openid=booking.member.wechat_openid
    )

    def first_channel(kind: str) -> str | None:
        found = channel_router.routes(kind, addresses, routing, now, lambda *_: False)
        return found[0].channel if found else None

    reachable = bool(booking.member.phone or booking.member.email or booking.member.wechat_openid)
    steps = plan(journey, facts, event, now) if reachable else []
    to_send: list[str] = []
    to_schedule: list[str] = []
    to_wake: dict[str, None] = {}
    pending: list[PendingStep] = []
    for step in steps:
        message = step_message(chain_id, booking, step)
        immediate = step.due_at <= now
        # A step at a store-local time of day, far enough ahead for the store-day list to show the booking, goes
        # with the store's wake for that moment instead of a schedule of its own.
        woken = not immediate and step.store_time and step.due_at - now >= WAKE_LEAD
        if woken:
            to_wake[_wake(chain_id, booking, step.due_at, store.timezone).to_json()] = None
        else:
            (to_send if immediate else to_schedule).append(message.to_json())
        pending.append(
            PendingStep(
                kind=step.kind,
                when=step.when,
                due_at=step.due_at,
                schedule=None if immediate else WOKEN if woken else message.schedule_name,
                channel=first_channel(step.kind),
            )
        )
    booking.pending = pending
    return {
        "timezone": store.timezone,
        # A schedule long past its time has fired and deleted itself (ActionAfterCompletion DELETE); one that has
        # not is stale for the worker anyway (older version), so only those still ahead cost a call. A store's
        # wake is shared: it stays, and finds only the steps still planned at its moment.
        "delete": current.schedule_names(due_after=now - FIRED_AFTER) if current else [],
        "schedule": to_schedule,
        "wake": list(to_wake),
        "send": to_send,
    }


def _wake(chain_id: str, booking: BookingItem, due: datetime, timezone: str) -> StoreWake:
    return StoreWake(chain_id, booking.store_id, booking.store_day(timezone), due.astimezone(UTC).isoformat())


def apply_effects(scheduler: StepScheduler, effects: dict[str, Any], now: datetime) -> None:
    """Delete the schedules the change made stale, schedule the steps ahead, send the steps due now."""
    for name in effects.get("delete", []):
        scheduler.unschedule(name)
    send_now: list[StepMessage | StoreWake] = [
        StepMessage.from_json(body) for body in effects.get("send", [])
    ]
    for body in effects.get("schedule", []):
        step = StepMessage.from_json(body)
        if datetime.fromisoformat(step.due_at) <= now:
            send_now.append(step)  # a replay after the due time: the worker de-duplicates
        else:
            scheduler.schedule(step, effects["timezone"])
    for body in effects.get("wake", []):
        wake = StoreWake.from_json(body)
        if wake.due <= now:
            send_now.append(wake)  # a replay after its moment: the steps it fires de-duplicate
        else:
            scheduler.schedule_body(
                wake.schedule_name,
                wake.due,
                effects["timezone"],
                body,
                f"store wake {wake.store_id} {wake.day}",
            )
    if send_now:
        scheduler.send_now(send_now)


def holds(
    status: str, stylist_id: str, start: datetime, minutes: int, held: dict[str, list[str]], now: datetime
) -> dict[str, list[str]]:
    """The calendar buckets a booking holds in `status`."""
    return slot_buckets(stylist_id, start, minutes) if status in HOLDS_SLOT else {}


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
        {"kind": p.kind, "due_at": p.due_at.astimezone(tz).isoformat(), "channel": p.channel} for p in pending
    ]
