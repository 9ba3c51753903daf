"""Booking by chat (issue 14, item 6): a member asks for a new booking in a message, is offered up to three open
slots, and books one by answering with its number.

- `offer`: for a `book` message at a store in `chairside` booking mode. The service is the kind she named
  (understanding: lexicon.toml [book.services]), else her last service, else the store's only one; otherwise
  she is asked which. The days are those she named (a date, a weekday, today/tomorrow, the weekend; with a part
  of the day: morning before 12:00, afternoon 12:00-17:59, evening from 18:00, store-local), else the next
  three days. Up to three open starts (`availability.open_starts`), an hour or more apart where the day allows,
  are written with their day and a 24-hour time, with her booking link, and kept on her conversation for
  OFFER_TTL as the pending offer. No open start: she is told so and given the link (the page has the waitlist).
- `pending_pick`: while an offer is pending (unexpired, unpicked), a message that is nothing but a number of it
  ("1", "第二个", "选3") is a pick; the offer is taken for that message at once, so no other message picks from
  it. Otherwise "1" keeps its old meaning (a confirmation).
- `book_pick`: books the picked slot through `self_booking.book`, with an idempotency key derived from the offer
  and the pick, so a retried worker never books twice. Taken in the meantime: she is told so and offered fresh
  slots on that day (a new offer).

On success the answer is a short acknowledgement (the booked day, time and stylist): the journey's
`confirmation` step, planned at once on `booking.created` and exempt from quiet hours, follows with the full
confirmation (address, manage link), so the chat does not repeat it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.catalog.store_catalog import Service, StoreCatalog
from chalicelib.dal.conversations import ConversationRepository, OfferedSlot, PendingOffer
from chalicelib.dal.models import BookingItem, MessageItem, StoreItem
from chalicelib.errors import ChairsideError
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.services.member_tokens import Member
from chalicelib.understanding.picks import pick

OFFER_TTL = timedelta(minutes=30)
MAX_SLOTS = 3
DEFAULT_DAYS = 3  # "the next few days" when she names none
SPREAD = timedelta(hours=1)  # offered starts are at least this far apart where the day allows
MAX_SERVICES_LISTED = 6
PARTS = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(18, 0)),
    "evening": (time(18, 0), None),
}
_RELATIVE_DAYS = {"today": 0, "tomorrow": 1, "day_after_tomorrow": 2}


@dataclass(frozen=True)
class Window:
    """The days (store-local) and part of the day she asked for."""

    first_day: date
    days: int
    part_of_day: str | None = None
    time: time | None = None  # a clock time she named: nearer starts are offered first


@dataclass(frozen=True)
class Asked:
    """What a booking message asked for, as the classifier understood it."""

    service: str | None  # a kind of service (lexicon.toml [book.services] key) or None
    requested: dict[str, Any] | None  # day_and_time.requested_time's dict (+ "weekend", "next_week")


def window_for(requested: dict[str, Any] | None, today: date) -> Window:
    """The days a request names: a date, a relative day, a weekday (the next one, today included), the weekend;
    else the next DEFAULT_DAYS days from today."""
    req = requested or {}
    part = req.get("part_of_day")
    at = time.fromisoformat(req["time"]) if req.get("time") else None
    if req.get("date"):
        day = date.fromisoformat(req["date"])
        return Window(max(day, today), 1, part, at)
    if req.get("relative_day") in _RELATIVE_DAYS:
        return Window(today + timedelta(days=_RELATIVE_DAYS[req["relative_day"]]), 1, part, at)
    if req.get("weekday") is not None:
        ahead = (int(req["weekday"]) - today.weekday()) % 7
        if req.get("next_week"):  # "下周三": the Wednesday of next week (Monday to Sunday)
            ahead = 7 - today.weekday() + int(req["weekday"])
        return Window(today + timedelta(days=ahead), 1, part, at)
    if req.get("weekend"):
        ahead = (5 - today.weekday()) % 7 if today.weekday() != 6 else 0
        return Window(today + timedelta(days=ahead), 2 if today.weekday() != 6 else 1, part, at)
    return Window(today, DEFAULT_DAYS, part, at)


def in_part(start: datetime, part: str | None) -> bool:
    """Whether a store-local start lies in the part of the day (None: any)."""
    if part not in PARTS:
        return True
    begin, end = PARTS[part]
    local = start.time()
    return local >= begin and (end is None or local < end)


def choose(slots: Sequence[Any], window: Window, tz: ZoneInfo, limit: int = MAX_SLOTS) -> list[Any]:
    """Up to `limit` slots in the part of the day, one per start, at least SPREAD apart where possible (filled
    up with the nearest others otherwise); nearest to her clock time first when she named one, else earliest."""
    fitting = [s for s in slots if in_part(s.start.astimezone(tz), window.part_of_day)]
    seen: set[datetime] = set()
    unique = []
    for s in sorted(fitting, key=lambda s: s.start):
        if s.start not in seen:
            seen.add(s.start)
            unique.append(s)
    if window.time is not None:
        wanted = window.time

        def distance(s: Any) -> float:
            local = s.start.astimezone(tz)
            return (
                abs((local.hour * 60 + local.minute) - (wanted.hour * 60 + wanted.minute))
                + local.toordinal() * 1440
            )

        unique.sort(key=distance)
    chosen: list[Any] = []
    for s in unique:
        if all(abs(s.start - c.start) >= SPREAD for c in chosen):
            chosen.append(s)
        if len(chosen) == limit:
            break
    for s in unique:
        if len(chosen) == limit:
            break
        if s not in chosen:
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def of_kind(category: str, kind: str) -> bool:
    """Whether a catalogue category is of the kind she named: the same, or a narrower one ("nail" covers
    nail_gel and nail_art), underscores aside ("hair_cut" is "haircut")."""
    return category.replace("_", "").startswith(kind.replace("_", ""))


def offer_id_for(message_id: str) -> str:
    """The offer a message makes: the same for a retried worker, so its offer is written once."""
    return "of-" + hashlib.sha256(message_id.encode()).hexdigest()[:20]


def idempotency_key(offer_id: str, number: int) -> str:
    """One booking per (offer, pick): a retried pick gets the first answer."""
    return f"chat-{offer_id}-{number}"


class ChatBooking:
    def __init__(
        self,
        conversations: ConversationRepository,
        open_starts: Callable[..., list[Any]],
        book: Callable[[Member, str, dict[str, Any]], dict[str, Any]],
        member_profile: Callable[[str, str], Any],
        replies: Any,
        public_base_url: str,
    ) -> None:
        self._conversations = conversations
        self._open_starts = open_starts  # container().availability.open_starts
        self._book = book  # container().self_booking.book
        self._member_profile = member_profile  # (chain_id, member_id) -> MemberItem | None
        self._replies = replies
        self._base_url = public_base_url.rstrip("/")

    # --- is this store's booking ours? -------------------------------------------------------------
    @staticmethod
    def books_here(store: StoreItem | None) -> bool:
        """Whether bookings at this store are taken by Chairside (`chairside` mode) rather than another system."""
        return store is not None and StoreCatalog.of(store).self_booking

    def link(self, store_id: str) -> str:
        """Her booking page, or "" where no public base URL is set."""
        return f"{self._base_url}/book/{store_id}" if self._base_url else ""

    # --- a request: offer slots --------------------------------------------------------------------
    def offer(
        self,
        message: MessageItem,
        store: StoreItem,
        asked: Asked,
        now: datetime,
        locale: str,
        booking: BookingItem | None = None,
    ) -> dict[str, Any]:
        """`booking`: her latest booking here, whose contact details reach her when the message came without
        an address (the generic webhook)."""
        catalog = StoreCatalog.of(store)
        conversation = self._conversations.get(message.store_id, message.member_id)
        profile = self._member_profile(message.chain_id, message.member_id)
        locale = texts.supported_locale(locale)  # the language she wrote in
        if conversation is not None and conversation.unknown_sender:
            # A number the chain does not know: she signs in on the page (by SMS code), which books for her.
            return self._answer(
                message, store, "reply_book_link", locale, result="link_only", booking=booking
            )
        service = self._service(catalog, asked.service, profile)
        if service is None:
            names = [s.name_in(locale) for s in catalog.services if s.active][:MAX_SERVICES_LISTED]
            return self._answer(
                message,
                store,
                "reply_book_which_service",
                locale,
                result="asked_service",
                services=names,
                not_here=asked.service is not None,  # she named a kind of service the store does not offer
                booking=booking,
            )
        tz = ZoneInfo(catalog.timezone)
        window = window_for(asked.requested, now.astimezone(tz).date())
        return self._offer_in(
            message, store, catalog, service, window, now, locale, kind="reply_book_offer", booking=booking
        )

    def _offer_in(
        self,
        message: MessageItem,
        store: StoreItem,
        catalog: StoreCatalog,
        service: Service,
        window: Window,
        now: datetime,
        locale: str,
        *,
        kind: str,
        booking: BookingItem | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        tz = ZoneInfo(catalog.timezone)
        found = self._open_starts(catalog, service.code, "any", window.first_day, window.days)
        chosen = choose(found, window, tz)
        service_name = service.name_in(locale)
        if not chosen:
            return self._answer(
                message,
                store,
                f"{kind}_none",
                locale,
                result="no_slots",
                service_name=service_name,
                booking=booking,
                **extra,
            )
        offer = PendingOffer(
            offer_id=offer_id_for(message.message_id),
            service_code=service.code,
            slots=tuple(OfferedSlot(s.start, s.stylist_id, s.stylist_name) for s in chosen),
            expires_at=now + OFFER_TTL,
            locale=locale,
        )
        self._conversations.set_offer(message.store_id, message.member_id, offer)
        answer = self._answer(
            message,
            store,
            kind,
            locale,
            result="offered",
            booking=booking,
            service_name=service_name,
            slots=[{"start": s.start, "stylist_name": s.stylist_name} for s in offer.slots],
            **extra,
        )
        return {**answer, "offer_id": offer.offer_id, "slots": [s.start.isoformat() for s in offer.slots]}

    @staticmethod
    def _service(catalog: StoreCatalog, kind: str | None, profile: Any) -> Service | None:
        """The service she named a kind of (her last one if it is of that kind), else her last service, else the
        store's only one; None when it is not clear."""
        bookable = [s for s in catalog.services if s.active and catalog.stylists_for(s.code)]
        last = catalog.service(profile.last_service_code) if profile and profile.last_service_code else None
        if kind:
            matching = [s for s in bookable if of_kind(s.category, kind)]
            if last is not None and last in matching:
                return last
            return matching[0] if matching else None
        if last is not None and last in bookable:
            return last
        return bookable[0] if len(bookable) == 1 else None

    # --- a pick ------------------------------------------------------------------------------------
    def pending_pick(self, message: MessageItem, now: datetime) -> tuple[PendingOffer, int] | None:
        """(the pending offer, the number picked) when this message picks from an offer still open to it, which
        is then taken for it; None otherwise (the message keeps its usual meaning)."""
        if message.msg_type not in ("text", "emoji") or not message.text:
            return None
        if pick(message.text, MAX_SLOTS) is None:
            return None  # no number: no read of the conversation
        offer = self._conversations.offer(message.store_id, message.member_id)
        if offer is None or not offer.open_to(message.message_id, now):
            return None
        number = pick(message.text, len(offer.slots))
        if number is None:
            return None
        if not self._conversations.take_offer(
            message.store_id, message.member_id, offer.offer_id, message.message_id
        ):
            return None  # replaced or taken by another message just now
        return offer, number

    def book_pick(
        self,
        message: MessageItem,
        store: StoreItem,
        offer: PendingOffer,
        number: int,
        now: datetime,
        booking: BookingItem | None = None,
    ) -> dict[str, Any]:
        slot = offer.slots[number - 1]
        catalog = StoreCatalog.of(store)
        service = catalog.service(offer.service_code)
        body = {
            "service": offer.service_code,
            "stylist_id": slot.stylist_id,
            "start": slot.start.isoformat(),
            "idempotency_key": idempotency_key(offer.offer_id, number),
        }
        try:
            booked = self._book(Member(message.chain_id, message.member_id), message.store_id, body)
        except ChairsideError as exc:
            if exc.status not in (400, 409) or exc.code == "booking_managed_elsewhere" or service is None:
                logger.warning(
                    "chat pick not booked", extra={"error": exc.code, "store_id": message.store_id}
                )
                return self._answer(
                    message,
                    store,
                    "reply_front_desk_will_arrange",
                    offer.locale,
                    result="not_booked",
                    booking=booking,
                )
            # Taken (or no longer bookable) in the meantime: fresh slots that day, as a new offer.
            tz = ZoneInfo(catalog.timezone)
            day = max(slot.start.astimezone(tz).date(), now.astimezone(tz).date())
            window = Window(day, 1)
            answer = self._offer_in(
                message,
                store,
                catalog,
                service,
                window,
                now,
                offer.locale,
                kind="reply_book_taken",
                booking=booking,
                taken=exc.code == "slot_taken",
            )
            return {**answer, "taken": slot.start.isoformat(), "error": exc.code}
        answer = self._answer(
            message,
            store,
            "reply_book_booked",
            offer.locale,
            result="booked",
            booking=booking,
            service_name=service.name_in(offer.locale) if service else "",
            slot={"start": slot.start, "stylist_name": slot.stylist_name},
        )
        return {
            **answer,
            "booking_id": booked.get("booking_id"),
            "start": slot.start.isoformat(),
            "stylist_id": slot.stylist_id,
        }

    # --- answering ---------------------------------------------------------------------------------
    def _answer(
        self,
        message: MessageItem,
        store: StoreItem,
        kind: str,
        locale: str,
        *,
        result: str,
        booking: BookingItem | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        ctx = texts.MessageContext(
            locale=locale,
            timezone=store.timezone,
            store={"name": store.name, "address": store.address, "phone": store.phone},
            member={"name": ""},
            booking={},
        )
        text = texts.render_reply(kind, ctx, link=self.link(message.store_id), **extra)
        sent = self._replies.reply(message, store, text, kind=kind, booking=booking)
        return {"result": result, "reply": sent.get("result"), "reply_kind": kind}
