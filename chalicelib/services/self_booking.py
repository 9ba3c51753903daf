"""Booking by the member herself, and by staff for a member: book, move and cancel on the store's own calendar.

Every change is a booking event (`booking.created` / `booking.rescheduled` / `booking.cancelled`) applied through
`BookingEvents.apply`, exactly as the booking webhook's: the same atomic claim of the stylist's calendar buckets
(two overlapping bookings can never both commit), the same journey and the same member profile. Then, when the
chain has a booking system (`ChainItem.booking_webhook_url`), the same event goes there signed, with
`source: "chairside"` (conversations/outbound.py BookingSystemNotifier): after the commit, so a failure there
never loses the booking, and under the event's id, so a repeat is the booking system's to drop.

Idempotent under retries:
- book: the booking id and the event id are derived from (chain, member, `idempotency_key`); the same key finds
  the booking the first attempt made and answers with it (re-applying the event finishes any work a crash left
  undone). A refused request (400, 409) writes nothing and binds nothing: a retry is judged afresh.
- move and cancel: the event id is derived from the booking and the version read, and a retry of a move that
  happened finds the booking already where it was asked to be (answered as it is, nothing written).

Rules (issue 14): a start is on the 15-minute grid, not in the past, not inside the store's `lead_minutes` (staff
may book a walk-in inside it), inside the stylist's working hours with the service and its buffer; the calendar
claim holds the service plus its buffer (the booking's `duration_minutes` is the service's, `buffer_minutes` its
buffer, so her texts name the service's length). A member may cancel or move only up
to `cancel_until_minutes` before the start (409 `too_late` with the store's phone); staff may at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from chalicelib.catalog import availability as rules
from chalicelib.catalog.availability import ANY, Slot
from chalicelib.catalog.store_catalog import Service, StoreCatalog, Stylist
from chalicelib.clock import Clock
from chalicelib.contracts.booking_event import BookingEvent, parse_booking_event
from chalicelib.contracts.self_booking import BookRequest, CancelRequest, RescheduleRequest
from chalicelib.contracts.validation import parse
from chalicelib.dal.bookings import BookingRepository
from chalicelib.dal.models import BookingItem, MemberItem, StoreItem
from chalicelib.errors import (
    Conflict,
    Forbidden,
    ManagedElsewhere,
    NotFound,
    SlotTaken,
    StylistUnavailable,
    TooLate,
    ValidationFailed,
)
from chalicelib.ids import derived_id, is_id
from chalicelib.observability import logger
from chalicelib.services import auth
from chalicelib.services.availability import Availability, slot_view
from chalicelib.services.booking_events import BookingEvents
from chalicelib.services.member_tokens import Member

STAFF_ACTION = "bookings.book"  # permissions.toml: front desk and up
CHANGEABLE = ("booked", "confirmed")  # what a member may still move or cancel
ALTERNATIVES = 3


@dataclass(frozen=True)
class _Actor:
    """Who asks: the member herself (the rules of lead time and cancel window apply) or staff for her."""

    member_id: str
    staff: str | None = None  # the staff subject


class SelfBooking:
    def __init__(
        self,
        stores: Any,
        repo: BookingRepository,
        events: BookingEvents,
        availability: Availability,
        booking_system: Any,
        clock: Clock,
    ) -> None:
        self._stores = stores  # services/stores.py StoreDirectory
        self._repo = repo
        self._events = events
        self._availability = availability
        self._booking_system = booking_system  # conversations/outbound.py BookingSystemNotifier
        self._clock = clock

    # --- the member --------------------------------------------------------------------------------
    def book(self, member: Member, store_id: str, body: BookRequest | dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/stores/{store}/bookings` with her token: the 201 answer (also for a retried key)."""
        store = self._member_store(member, store_id)
        if member.booking_id is not None:
            raise Forbidden("a manage link's token manages its one booking; sign in to book", STAFF_ACTION)
        request = _request(BookRequest, body, "booking")
        return self._book(store, _Actor(member.member_id), request)

    def my_bookings(self, member: Member, store_id: str) -> dict[str, Any]:
        """Her bookings at the store, upcoming (soonest first) then past (latest first): the newest 100 by start."""
        store = self._member_store(member, store_id)
        catalog = StoreCatalog.of(store)
        now = self._clock.now()
        mine = [
            b
            for b in self._repo.member_bookings(member.chain_id, member.member_id)
            if b.store_id == store.store_id and member.may_manage(b.booking_id)
        ]
        upcoming = sorted((b for b in mine if b.start >= now), key=lambda b: b.start)
        past = sorted((b for b in mine if b.start < now), key=lambda b: b.start, reverse=True)
        return {"items": [self._view(catalog, b) for b in upcoming + past]}

    def reschedule(
        self, member: Member, store_id: str, booking_id: str, body: RescheduleRequest | dict[str, Any]
    ) -> dict[str, Any]:
        store = self._member_store(member, store_id)
        booking = self._booking(store, booking_id, member)
        request = _request(RescheduleRequest, body, "move")
        return self._move(store, booking, request, _Actor(member.member_id))

    def cancel(
        self, member: Member, store_id: str, booking_id: str, body: CancelRequest | dict[str, Any]
    ) -> dict[str, Any]:
        store = self._member_store(member, store_id)
        booking = self._booking(store, booking_id, member)
        request = _request(CancelRequest, body, "cancel")
        return self._cancel(store, booking, request, _Actor(member.member_id))

    # --- staff, for a member -----------------------------------------------------------------------
    def book_for(
        self, staff: auth.Staff, store_id: str, body: BookRequest | dict[str, Any]
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, STAFF_ACTION)
        request = _request(BookRequest, body, "booking")
        if request.member_id is None:
            raise ValidationFailed("whom to book for", {"member_id": "required with a staff token"})
        return self._book(store, _Actor(request.member_id, staff.subject), request)

    def reschedule_for(
        self, staff: auth.Staff, store_id: str, booking_id: str, body: RescheduleRequest | dict[str, Any]
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, STAFF_ACTION)
        booking = self._booking(store, booking_id)
        request = _request(RescheduleRequest, body, "move")
        return self._move(store, booking, request, _Actor(booking.member.id, staff.subject))

    def cancel_for(
        self, staff: auth.Staff, store_id: str, booking_id: str, body: CancelRequest | dict[str, Any]
    ) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, STAFF_ACTION)
        booking = self._booking(store, booking_id)
        request = _request(CancelRequest, body, "cancel")
        return self._cancel(store, booking, request, _Actor(booking.member.id, staff.subject))

    # --- book ------------------------------------------------------------------------------------
    def _book(self, store: StoreItem, actor: _Actor, request: BookRequest) -> dict[str, Any]:
        catalog = _self_booking_catalog(store)
        chain_id = store.chain_id
        booking_id = derived_id("sb", chain_id, actor.member_id, request.idempotency_key)
        event_id = derived_id("sbe", chain_id, actor.member_id, request.idempotency_key)
        first = self._repo.booking(chain_id, booking_id)
        if first is not None:  # the same key again: the first answer (and any work a crash left, finished)
            event = _event(
                event_id, "booking.created", first, first.start, _stylist_of(first), first.last_event_at
            )
            applied = self._events.apply(chain_id, store, event)
            if int(first.version) == 1:  # the post may not have happened; once changed since, it is old news
                self._tell_booking_system(chain_id, event)
            return self._view(catalog, first, applied.body["journey"])

        member = _snapshot(actor.member_id, self._member(chain_id, actor), catalog.locale)
        service = catalog.service(request.service)
        if service is None:
            raise ValidationFailed("unknown service", {"service": "no such service at this store"})
        start = request.start
        self._check_start(catalog, start, actor)
        candidates = self._stylists(catalog, service, request.stylist_id, start)
        now = self._clock.now()
        for stylist in candidates:
            event = _new_event(
                event_id, booking_id, store, service, stylist, start, member, request.notes, now
            )
            try:
                applied = self._events.apply(chain_id, store, event)
            except StylistUnavailable:
                continue  # taken meanwhile: the next stylist of an "any" request, else 409
            logger.info(
                "self-booking made",
                extra={"chain_id": chain_id, "booking_id": booking_id, "by_staff": actor.staff is not None},
            )
            self._tell_booking_system(chain_id, event)
            return self._applied_view(catalog, chain_id, event, applied.body)
        raise self._taken(catalog, service, request.stylist_id, start)

    def _stylists(
        self, catalog: StoreCatalog, service: Service, wanted: str, start: datetime
    ) -> list[Stylist]:
        """Whom to try, in order: the one named, or every stylist who does the service and is free then."""
        if wanted != ANY:
            stylist = catalog.stylist(wanted)
            if stylist is None:
                raise ValidationFailed("unknown stylist", {"stylist_id": "no such stylist at this store"})
            if not stylist.does(service.code):
                raise ValidationFailed(
                    "the stylist does not do this service", {"stylist_id": "does not do this service"}
                )
            self._check_hours(catalog, service, (stylist,), start)
            return [stylist]
        able = catalog.stylists_for(service.code)
        if not able:
            raise ValidationFailed("nobody does this service", {"service": "no stylist here does it"})
        working = self._check_hours(catalog, service, able, start)
        day = rules.local_day(catalog, start)
        free = {
            s.stylist_id
            for s in self._availability.starts_of(catalog, service, working, day, 1)
            if s.start == start
        }
        return [s for s in working if s.id in free]

    def _check_start(self, catalog: StoreCatalog, start: datetime, actor: _Actor) -> None:
        if not rules.on_grid(start):
            raise ValidationFailed(
                "off the grid", {"start": "must be on the quarter hour (:00, :15, :30, :45)"}
            )
        now = self._clock.now()
        if start < now:
            raise ValidationFailed("in the past", {"start": "is in the past"})
        if actor.staff is None and start < now + timedelta(minutes=catalog.lead_minutes):
            raise ValidationFailed(
                "too soon", {"start": f"must be at least {catalog.lead_minutes} minutes from now"}
            )

    def _check_hours(
        self, catalog: StoreCatalog, service: Service, stylists: tuple[Stylist, ...], start: datetime
    ) -> tuple[Stylist, ...]:
        """The stylists whose hours hold the service from `start`; none: 400 saying whose hours it is outside."""
        working = tuple(s for s in stylists if rules.fits_hours(catalog, service, s, start))
        if working:
            return working
        store_open = rules.fits_store_hours(catalog, service, start)
        reason = (
            "is outside the stylist's working hours" if store_open else "is outside the store's opening hours"
        )
        raise ValidationFailed("outside hours", {"start": reason})

    def _taken(self, catalog: StoreCatalog, service: Service, wanted: str, start: datetime) -> SlotTaken:
        """409 with the nearest open times of the same request (that day and the days either side)."""
        stylists = rules.stylists_for(catalog, service, wanted)
        now = self._clock.now()
        today = rules.local_day(catalog, now)
        first_day = max(today, rules.local_day(catalog, start) - timedelta(days=1))
        slots: list[Slot] = self._availability.starts_of(catalog, service, stylists, first_day, 3)
        close = rules.nearest(slots, start, ALTERNATIVES, one_per_start=wanted == ANY)
        return SlotTaken("that time is no longer open", [slot_view(s) for s in close])

    # --- move and cancel -------------------------------------------------------------------------
    def _move(
        self, store: StoreItem, booking: BookingItem, request: RescheduleRequest, actor: _Actor
    ) -> dict[str, Any]:
        catalog = _self_booking_catalog(store)
        wanted = request.stylist_id or booking.stylist_id
        start = request.start
        if booking.status in CHANGEABLE and booking.start == start and wanted in (booking.stylist_id, ANY):
            return self._view(catalog, booking)  # already there (a retry of a move that happened)
        self._changeable(catalog, booking, actor, "moved")
        service = _service_of(catalog, booking)
        self._check_start(catalog, start, actor)
        candidates = self._stylists(catalog, service, wanted, start)
        now = self._clock.now()
        event_id = derived_id("sbr", store.chain_id, booking.booking_id, str(int(booking.version)))
        for stylist in candidates:
            event = _event(event_id, "booking.rescheduled", booking, start, stylist, now)
            try:
                applied = self._events.apply(store.chain_id, store, event)
            except StylistUnavailable:
                continue
            self._tell_booking_system(store.chain_id, event)
            return self._applied_view(catalog, store.chain_id, event, applied.body)
        raise self._taken(catalog, service, wanted, start)

    def _cancel(
        self, store: StoreItem, booking: BookingItem, request: CancelRequest, actor: _Actor
    ) -> dict[str, Any]:
        catalog = _self_booking_catalog(store)
        if booking.status == "cancelled":
            return self._view(catalog, booking)  # a retry of a cancel that happened
        self._changeable(catalog, booking, actor, "cancelled")
        event_id = derived_id("sbc", store.chain_id, booking.booking_id, str(int(booking.version)))
        event = _event(
            event_id, "booking.cancelled", booking, booking.start, _stylist_of(booking), self._clock.now()
        )
        applied = self._events.apply(store.chain_id, store, event)
        self._tell_booking_system(store.chain_id, event, reason=request.reason)
        return self._applied_view(catalog, store.chain_id, event, applied.body)

    def _changeable(self, catalog: StoreCatalog, booking: BookingItem, actor: _Actor, what: str) -> None:
        if booking.status not in CHANGEABLE:
            raise Conflict(
                f"a {booking.status} booking cannot be {what}",
                {"booking_id": f"the booking is {booking.status}"},
            )
        if actor.staff is None and not self._may_change(catalog, booking, self._clock.now()):
            raise TooLate(
                f"bookings can be {what} online up to {catalog.cancel_until_minutes} minutes before the start;"
                " please call the store",
                catalog.phone,
            )

    @staticmethod
    def _may_change(catalog: StoreCatalog, booking: BookingItem, now: datetime) -> bool:
        return booking.status in CHANGEABLE and booking.start - now >= timedelta(
            minutes=catalog.cancel_until_minutes
        )

    # --- reads and views -------------------------------------------------------------------------
    def _member_store(self, member: Member, store_id: str) -> StoreItem:
        """The store, when it is of her chain; any other is as unknown as a store that is not there (404)."""
        store = self._stores.of_chain(store_id, member.chain_id) if is_id(store_id) else None
        if store is None:
            raise NotFound("no such store")
        return store

    def _booking(self, store: StoreItem, booking_id: str, member: Member | None = None) -> BookingItem:
        """The store's booking; for a member only her own (and, with a manage link, only its booking): 404."""
        booking = self._repo.booking(store.chain_id, booking_id) if is_id(booking_id) else None
        if (
            booking is None
            or booking.store_id != store.store_id
            or (
                member is not None
                and (booking.member.id != member.member_id or not member.may_manage(booking_id))
            )
        ):
            raise NotFound("no such booking")
        return booking

    def _member(self, chain_id: str, actor: _Actor) -> MemberItem | None:
        # consistent: she may have signed in (and her profile been written) a moment ago
        member = self._repo.member(chain_id, actor.member_id, consistent=True)
        if member is None and actor.staff is not None:
            raise ValidationFailed("unknown member", {"member_id": "no such member in this chain"})
        return member

    def _view(
        self, catalog: StoreCatalog, booking: BookingItem, journey: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        return self._shape(
            catalog,
            booking.booking_id,
            booking.status,
            booking.start,
            int(booking.duration_minutes),
            {"code": booking.service_code, "name": booking.service_name},
            {"id": booking.stylist_id, "name": booking.stylist_name},
            journey,
        )

    def _applied_view(
        self, catalog: StoreCatalog, chain_id: str, event: BookingEvent, answer: dict[str, Any]
    ) -> dict[str, Any]:
        """The booking as the event just made it (no read), or as it is when the event changed nothing."""
        if answer.get("ignored"):
            booking = self._repo.booking(chain_id, event.booking.id)
            if booking is not None:
                return self._view(catalog, booking, answer["journey"])
        b = event.booking
        return self._shape(
            catalog,
            b.id,
            answer["status"],
            b.start,
            b.duration_minutes,
            {"code": b.service.code, "name": b.service.name},
            {"id": b.stylist.id, "name": b.stylist.name},
            answer["journey"],
        )

    def _shape(
        self,
        catalog: StoreCatalog,
        booking_id: str,
        status: str,
        start: datetime,
        duration_minutes: int,
        service: dict[str, str],
        stylist: dict[str, str],
        journey: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        may = status in CHANGEABLE and start - self._clock.now() >= timedelta(
            minutes=catalog.cancel_until_minutes
        )
        view = {
            "booking_id": booking_id,
            "status": status,
            "start": start.astimezone(ZoneInfo(catalog.timezone)).isoformat(),
            "duration_minutes": duration_minutes,
            "service": service,
            "stylist": stylist,
            "can_cancel": may,
            "can_reschedule": may,
        }
        if journey is not None:
            view["journey"] = journey
        return view

    def _tell_booking_system(self, chain_id: str, event: BookingEvent, reason: str | None = None) -> None:
        """The chain's booking system hears of the change (signed, `source: "chairside"`); its outcome is logged,
        never an error: the booking stands whatever the booking system answers."""
        body: dict[str, Any] = {
            "event_id": event.event_id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "source": "chairside",
            "booking": event.booking.as_json(),
        }
        if reason:
            body["reason"] = reason
        try:
            outcome = self._booking_system.post(chain_id, body)
        except Exception:  # noqa: BLE001 - the booking is committed; telling the booking system is best effort
            logger.exception(
                "booking system not told", extra={"chain_id": chain_id, "event_id": event.event_id}
            )
            return
        if outcome.get("result") not in ("sent", "not_configured"):
            logger.warning(
                "booking system not told", extra={"chain_id": chain_id, "event_id": event.event_id, **outcome}
            )


# --- helpers ---------------------------------------------------------------------------------------
def _self_booking_catalog(store: StoreItem) -> StoreCatalog:
    catalog = StoreCatalog.of(store)
    if not catalog.self_booking:
        raise ManagedElsewhere("this store's bookings are made in the chain's own booking system")
    return catalog


def _service_of(catalog: StoreCatalog, booking: BookingItem) -> Service:
    """The booking's service as the catalogue has it now; one since withdrawn keeps the booking's own length."""
    service = catalog.service(booking.service_code)
    if service is not None:
        return service
    return Service(
        code=booking.service_code,
        name=booking.service_name,
        names={},
        category=booking.category,
        minutes=int(booking.duration_minutes),
        buffer_minutes=int(booking.buffer_minutes or 0),
        price=None,
        active=True,
    )


def _stylist_of(booking: BookingItem) -> Stylist:
    return Stylist(booking.stylist_id, booking.stylist_name, None, None, frozenset(), True)


def _snapshot(member_id: str, member: MemberItem | None, locale: str) -> dict[str, Any]:
    if member is None:
        return {"id": member_id, "locale": locale}
    return {
        "id": member_id,
        "name": member.name or "",
        "phone": member.phone,
        "email": member.email,
        "locale": member.locale or locale,
        "wechat_openid": member.wechat_openid,
    }


def _new_event(
    event_id: str,
    booking_id: str,
    store: StoreItem,
    service: Service,
    stylist: Stylist,
    start: datetime,
    member: dict[str, Any],
    notes: str | None,
    now: datetime,
) -> BookingEvent:
    """A new booking's `booking.created`, as a booking system would send it: the calendar holds the service and
    its buffer (`duration_minutes` + `buffer_minutes`)."""
    return _validated(
        {
            "event_id": event_id,
            "type": "booking.created",
            "occurred_at": now.isoformat(),
            "booking": {
                "id": booking_id,
                "store_id": store.store_id,
                "start": start.isoformat(),
                "duration_minutes": service.minutes,
                "buffer_minutes": service.buffer_minutes,
                "service": {
                    "code": service.code,
                    "name": service.name_in(member.get("locale")),
                    "category": service.category,
                },
                "stylist": {"id": stylist.id, "name": stylist.name},
                "member": member,
                "price": service.price,
                "notes": notes or "",
            },
        }
    )


def _validated(raw: dict[str, Any]) -> BookingEvent:
    """The event as the webhook's contract reads it; stored data it refuses (say a member's phone saved before
    numbers were checked) is named in the 400."""
    return parse_booking_event(raw, "the booking cannot be made from the stored data")


def _event(
    event_id: str, type_: str, booking: BookingItem, start: datetime, stylist: Stylist, occurred: datetime
) -> BookingEvent:
    """An event about an existing booking (moved, cancelled, or its creation again), carrying what it holds."""
    m = booking.member
    price = (
        {"amount": booking.price_amount, "currency": booking.price_currency}
        if booking.price_amount and booking.price_currency
        else None
    )
    return _validated(
        {
            "event_id": event_id,
            "type": type_,
            "occurred_at": occurred.isoformat(),
            "booking": {
                "id": booking.booking_id,
                "store_id": booking.store_id,
                "start": start.isoformat(),
                "duration_minutes": int(booking.duration_minutes),
                "buffer_minutes": int(booking.buffer_minutes or 0),
                "service": {
                    "code": booking.service_code,
                    "name": booking.service_name,
                    "category": booking.category,
                },
                "stylist": {"id": stylist.id, "name": stylist.name},
                "member": {
                    "id": m.id,
                    "name": m.name or "",
                    "phone": m.phone,
                    "email": m.email,
                    "locale": m.locale,
                    "wechat_openid": m.wechat_openid,
                },
                "price": price,
                "notes": booking.notes or "",
            },
        }
    )


def _request[M: BaseModel](model: type[M], body: M | dict[str, Any], what: str) -> M:
    """A typed request as given, or a decoded body validated as `model` (400 naming the fields at fault)."""
    return body if isinstance(body, model) else parse(model, body, f"the {what} is not valid")
