"""The waitlist (issue 14, item 5): a member waits for a time on a day; when a cancel or reschedule frees a
stylist's time, the member who has waited longest and whom that very time fits is offered it, on her channel,
with a claim link valid 30 minutes. An unclaimed offer passes to the next in line. docs/WAITLIST.md.

- `join`, `mine`, `leave`, `claim`: the member's routes (api/waitlist.py); `day`: the front desk's list.
- `freed`: called by BookingEvents after a commit that let a stylist's time go; puts a `freed` message on the
  waitlist queue (no offer is made inside the booking's request).
- `handle`: the waitlist worker (workers/waitlist_offers.py): `freed` -> an offer; `offer_expired` (a one-time
  schedule 30 minutes after an offer) -> the offer lapses and passes on.

One offer per freed time at a time: the slot's hold (dal `WaitSlotItem`, conditional on its round) and the
entry's move waiting -> offered (conditional on `waiting`) make a duplicate queue message, a retried worker or
two workers at once offer it once. An entry whose offer lapses goes back to waiting, keeping her place in line,
and is never offered that same freed time again (`missed`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.channels.base import Contact
from chalicelib.clock import Clock
from chalicelib.dal.models import BookingItem, StoreItem, WaitlistEntryItem, WaitSlotItem
from chalicelib.dal.waitlist import ENTRY_KEPT, NewEntry, WaitlistRepository
from chalicelib.errors import Conflict, ManagedElsewhere, NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.services import auth
from chalicelib.services.member_tokens import Member

if TYPE_CHECKING:
    from chalicelib.contracts.waitlist import JoinRequest

OFFER_VALID = timedelta(minutes=30)
MAX_DAYS_AHEAD = 60
HOLDS_TIME = ("booked", "confirmed", "checked_in")
OFFER_KIND = "waitlist_offer"


@functools.cache
def _texts() -> dict[str, Any]:
    with (Path(__file__).resolve().parents[1] / "waitlist" / "texts.toml").open("rb") as handle:
        return tomllib.load(handle)


def part_of_day(local_start: datetime) -> str:
    """By the store-local start: morning before 12:00, afternoon 12:00-17:59, evening from 18:00."""
    if local_start.hour < 12:
        return "morning"
    return "afternoon" if local_start.hour < 18 else "evening"


@dataclass(frozen=True)
class Freed:
    """A stylist's time a booking let go: the waitlist queue's `freed` body."""

    chain_id: str
    store_id: str
    stylist_id: str
    start: datetime  # UTC
    minutes: int
    booking_id: str
    version: int
    member_id: str

    @property
    def slot_ref(self) -> str:
        """The freed time, named by what freed it: one per (booking, version), so a duplicate names the same."""
        return f"{self.stylist_id}.{self.start:%Y%m%dT%H%M}.{self.booking_id}.v{self.version}"

    def body(self, type: str = "freed", **extra: Any) -> dict[str, Any]:
        return {
            "type": type,
            "chain_id": self.chain_id,
            "store_id": self.store_id,
            "stylist_id": self.stylist_id,
            "start": self.start.isoformat(),
            "minutes": self.minutes,
            "booking_id": self.booking_id,
            "version": self.version,
            "member_id": self.member_id,
            **extra,
        }

    @classmethod
    def of(cls, body: dict[str, Any]) -> Freed:
        try:
            freed = cls(
                chain_id=str(body["chain_id"]),
                store_id=str(body["store_id"]),
                stylist_id=str(body["stylist_id"]),
                start=datetime.fromisoformat(str(body["start"])).astimezone(UTC),
                minutes=int(body["minutes"]),
                booking_id=str(body["booking_id"]),
                version=int(body["version"]),
                member_id=str(body.get("member_id") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"not a waitlist message: {exc}") from None
        if not all(is_id(v) for v in (freed.chain_id, freed.store_id, freed.stylist_id, freed.booking_id)):
            raise ValidationFailed("not a waitlist message: bad id")
        return freed


class WaitlistQueue:
    """The waitlist queue (resources.WAITLIST_QUEUE), and the one-time schedules that put expiries on it."""

    def __init__(
        self,
        sqs_client: Any,
        scheduler_client: Any,
        *,
        queue_url: str,
        queue_arn: str,
        group: str,
        role_arn: str,
        dlq_arn: str,
    ) -> None:
        self._sqs = sqs_client
        self._scheduler = scheduler_client
        self._url = queue_url
        self._arn = queue_arn
        self._group = group
        self._role = role_arn
        self._dlq = dlq_arn

    def send(self, body: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body, separators=(",", ":")))

    def schedule(self, name: str, at: datetime, body: dict[str, Any]) -> None:
        """A one-time schedule (deterministic name: a retry finds it made) that puts `body` on the queue."""
        from chalicelib.resources import SCHEDULE_RETRY

        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Description=f"waitlist {body.get('type')}",
                Target={
                    "Arn": self._arn,
                    "RoleArn": self._role,
                    "Input": json.dumps(body, separators=(",", ":")),
                    "RetryPolicy": dict(SCHEDULE_RETRY),
                    "DeadLetterConfig": {"Arn": self._dlq},
                },
            )
        except self._scheduler.exceptions.ConflictException:
            pass

    def unschedule(self, name: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except self._scheduler.exceptions.ResourceNotFoundException:
            pass


def _expiry_name(slot_ref: str, round: int) -> str:
    return f"wl-{hashlib.sha256(slot_ref.encode()).hexdigest()[:24]}-r{round}"


def _quiet_name(slot_ref: str) -> str:
    return f"wlq-{hashlib.sha256(slot_ref.encode()).hexdigest()[:24]}"


class Waitlist:
    def __init__(
        self,
        repo: WaitlistRepository,
        stores: Any,
        clock: Clock,
        queue: WaitlistQueue,
        *,
        member: Callable[[str, str], Any],
        conversations: Any,
        messages: Any,
        sender: Any,
        link: Callable[..., str] | None = None,
        open_starts: Callable[..., list[Any]] | None = None,
        book: Callable[[Member, str, dict[str, Any]], Any] | None = None,
    ) -> None:
        self._repo = repo
        self._stores = stores  # StoreDirectory
        self._clock = clock
        self._queue = queue
        self._member = member  # (chain_id, member_id) -> MemberItem | None
        self._conversations = conversations  # ConversationRepository
        self._messages = messages  # MessageRepository
        self._sender = sender  # conversations.outbound.ReplySender
        self._link = link  # member_links.link (sessions part); None: a link without a token
        self._open_starts = open_starts  # availability.open_starts (booking part); None: the calendar alone
        self._book = book  # self_booking.book (booking part)

    # --- the member's routes ----------------------------------------------------------------------------
    def join(self, member: Member, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from chalicelib.contracts.validation import parse
        from chalicelib.contracts.waitlist import JoinRequest  # here: the offers worker never loads pydantic

        store, catalog = self._store_of(member, store_id)
        wanted = parse(JoinRequest, body, "the waitlist request is not valid")
        service = catalog.service(wanted.service)
        if service is None:
            raise ValidationFailed("invalid waitlist request", {"service": "no such service at this store"})
        if wanted.stylist_id == "any":
            if not catalog.stylists_for(service.code):
                raise ValidationFailed(
                    "invalid waitlist request", {"service": "no stylist does this service"}
                )
        else:
            stylist = catalog.stylist(wanted.stylist_id) if is_id(wanted.stylist_id) else None
            if stylist is None:
                raise ValidationFailed("invalid waitlist request", {"stylist_id": "no such stylist"})
            if not stylist.does(service.code):
                raise ValidationFailed(
                    "invalid waitlist request", {"stylist_id": "this stylist does not do this service"}
                )
        now = self._clock.now()
        today = now.astimezone(ZoneInfo(store.timezone)).date()
        if wanted.date < today:
            raise ValidationFailed("invalid waitlist request", {"date": "is in the past"})
        if wanted.date > today + timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationFailed(
                "invalid waitlist request", {"date": f"is more than {MAX_DAYS_AHEAD} days ahead"}
            )
        waitlist_id = _entry_id(member, store_id, wanted)
        new = NewEntry(
            waitlist_id=waitlist_id,
            chain_id=member.chain_id,
            store_id=store_id,
            member_id=member.member_id,
            service_code=service.code,
            stylist_id=wanted.stylist_id,
            date=wanted.date.isoformat(),
            part_of_day=wanted.part_of_day,
            joined_at=now,
            keep_until=datetime.combine(wanted.date, datetime.min.time(), UTC) + ENTRY_KEPT,
        )
        if not self._repo.add(new):
            existing = self._repo.entry(store_id, waitlist_id)
            if existing is not None and existing.status == "left":
                self._repo.rejoin(existing, now)
        logger.info("waitlist joined", extra={"store_id": store_id, "waitlist_id": waitlist_id})
        return {"waitlist_id": waitlist_id}

    def mine(self, member: Member, store_id: str) -> dict[str, Any]:
        store, _ = self._store_of(member, store_id)
        tz = ZoneInfo(store.timezone)
        now = self._clock.now()
        today = now.astimezone(tz).date().isoformat()
        entries = [
            e
            for e in self._repo.of_member(member.chain_id, member.member_id, today)
            if e.store_id == store_id and e.status != "left"
        ]
        return {"items": [entry_view(e, tz, now) for e in entries]}

    def leave(self, member: Member, store_id: str, waitlist_id: str) -> dict[str, Any]:
        self._store_of(member, store_id)
        entry = self._own_entry(member, store_id, waitlist_id)
        offered = entry.status == "offered"
        if entry.status in ("waiting", "offered") and self._repo.leave(entry, self._clock.now()):
            if offered and entry.offer_round is not None:
                self._pass_on(entry)
        return {"waitlist_id": waitlist_id, "status": "left"}

    def claim(self, member: Member, store_id: str, waitlist_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from chalicelib.contracts.validation import parse
        from chalicelib.contracts.waitlist import ClaimRequest

        store, _ = self._store_of(member, store_id)
        wanted = parse(ClaimRequest, body, "the claim is not valid")
        if wanted.start.tzinfo is None:
            raise ValidationFailed("invalid claim", {"start": "needs a UTC offset"})
        start = wanted.start.astimezone(UTC)
        entry = self._own_entry(member, store_id, waitlist_id)
        now = self._clock.now()
        if entry.status == "booked" and entry.offer_start == start:
            pass  # a retry of a claim that booked: the same idempotency key answers as the first time
        elif not (
            entry.status == "offered"
            and entry.offer_start == start
            and entry.offer_until is not None
            and entry.offer_until > now
        ):
            raise OfferGone("this time was offered to someone else, or the offer has expired")
        if self._book is None:
            raise OfferGone("booking is not available at this store")
        answer = self._book(
            member,
            store_id,
            {
                "service": entry.service_code,
                "stylist_id": entry.offer_stylist_id,
                "start": start.isoformat(),
                "idempotency_key": f"waitlist-{waitlist_id}-{start:%Y%m%dT%H%M}",
            },
        )
        booking = _body_of(answer)
        self._repo.booked(entry, str(booking.get("booking_id") or ""), now)
        offered = _offered(entry)
        if offered is not None and entry.offer_round is not None:
            self._repo.slot_claimed(store_id, offered.slot_ref, int(entry.offer_round))
            self._queue.unschedule(_expiry_name(offered.slot_ref, int(entry.offer_round)))
        logger.info("waitlist offer claimed", extra={"store_id": store.store_id, "waitlist_id": waitlist_id})
        return booking

    # --- the front desk ------------------------------------------------------------------------------
    def day(self, staff: auth.Staff, store_id: str, day: str | None) -> dict[str, Any]:
        store = auth.authorize_store(staff, self._stores, store_id, "waitlist.read")
        tz = ZoneInfo(store.timezone)
        now = self._clock.now()
        if day is None:
            wanted = now.astimezone(tz).date()
        else:
            try:
                wanted = date.fromisoformat(day)
            except ValueError:
                raise ValidationFailed("invalid date", {"date": "must be YYYY-MM-DD"}) from None
        catalog = StoreCatalog.of(store)
        items = []
        for position, entry in enumerate(
            (e for e in self._repo.of_day(store_id, wanted.isoformat()) if e.status != "left"), 1
        ):
            view = entry_view(entry, tz, now)
            service = catalog.service(entry.service_code)
            view["position"] = position
            view["member_id"] = entry.member_id
            view["service_name"] = service.name if service else entry.service_code
            items.append(view)
        return {"store_id": store_id, "date": wanted.isoformat(), "timezone": store.timezone, "items": items}

    # --- time freed: from BookingEvents, after its commit --------------------------------------------------
    def freed(self, before: BookingItem, after: BookingItem) -> None:
        """Queue the time `before` held when `after` no longer holds it (a cancel, or a move elsewhere)."""
        if before.status not in HOLDS_TIME or before.start <= self._clock.now():
            return
        if (
            after.status in HOLDS_TIME
            and after.start == before.start
            and after.stylist_id == before.stylist_id
            and after.held_minutes >= before.held_minutes
        ):
            return
        store = self._stores.get(before.store_id)
        if store is None or not StoreCatalog.of(store).self_booking:
            return  # the booking system owns that calendar: nothing to offer here
        freed = Freed(
            chain_id=before.chain_id,
            store_id=before.store_id,
            stylist_id=before.stylist_id,
            start=before.start.astimezone(UTC),
            minutes=before.held_minutes,
            booking_id=before.booking_id,
            version=int(after.version),
            member_id=before.member.id,
        )
        self._queue.send(freed.body())

    # --- the worker -----------------------------------------------------------------------------------
    def handle(self, body: dict[str, Any]) -> str:
        kind = body.get("type")
        freed = Freed.of(body)
        if kind == "freed":
            return self._offer(freed)
        if kind == "offer_expired":
            return self._offer(freed, lapsed_round=int(body.get("round") or 0))
        raise ValidationFailed(f"not a waitlist message: type {kind!r}")

    def _offer(self, freed: Freed, lapsed_round: int | None = None) -> str:
        store = self._stores.get(freed.store_id)
        if store is None or store.chain_id != freed.chain_id:
            return "unknown_store"
        catalog = StoreCatalog.of(store)
        now = self._clock.now()
        if freed.start <= now:
            return "past"
        ref = freed.slot_ref
        for _ in range(5):
            slot = self._repo.slot(store.store_id, ref)
            if slot is not None:
                outcome = self._held(store, freed, slot, now, lapsed_round)
                if outcome is not None:
                    return outcome
            quiet = _quiet_delay(now, store.timezone)
            if quiet:
                if freed.start < now + timedelta(seconds=quiet):
                    return self._log(freed, "quiet_hours")
                self._queue.schedule(_quiet_name(ref), now + timedelta(seconds=quiet), freed.body())
                return self._log(freed, "deferred_quiet_hours")
            outcome = self._offer_next(store, catalog, freed, slot, now)
            if outcome != "raced":
                return self._log(freed, outcome)
        return self._log(freed, "raced")

    def _held(
        self, store: StoreItem, freed: Freed, slot: WaitSlotItem, now: datetime, lapsed_round: int | None
    ) -> str | None:
        """What to do about a slot already offered: None -> offer it to the next in line."""
        if slot.status == "claimed":
            return "claimed"
        round = int(slot.round)
        holder = self._repo.entry(store.store_id, slot.waitlist_id)
        holding = holder is not None and holder.status == "offered" and holder.offer_round == round
        live = slot.offer_until > now and lapsed_round != round
        if live and holding and holder is not None:
            self._notify(
                store, holder, freed, round
            )  # a retry: finishes a send that died, else "already sent"
            return "already_offered"
        if (
            live
            and holder is not None
            and holder.status == "waiting"
            and freed.slot_ref not in (holder.missed or [])
        ):
            # held for her, but her entry was not moved (the worker died in between): finish it
            if self._repo.offer(
                holder,
                start=freed.start,
                stylist_id=freed.stylist_id,
                until=slot.offer_until,
                round=round,
                freed=freed.body(),
                now=now,
            ):
                fresh = self._repo.entry(store.store_id, holder.waitlist_id) or holder
                self._queue.schedule(
                    _expiry_name(freed.slot_ref, round),
                    slot.offer_until,
                    freed.body("offer_expired", round=round),
                )
                self._notify(store, fresh, freed, round)
                return "offered"
        if holding and holder is not None:
            self._repo.lapse(holder, freed.slot_ref, round, now)
            logger.info(
                "waitlist offer lapsed", extra={"store_id": store.store_id, "waitlist_id": holder.waitlist_id}
            )
        return None

    def _offer_next(
        self, store: StoreItem, catalog: StoreCatalog, freed: Freed, slot: WaitSlotItem | None, now: datetime
    ) -> str:
        tz = ZoneInfo(store.timezone)
        local = freed.start.astimezone(tz)
        stylist = catalog.stylist(freed.stylist_id)
        if stylist is None:
            return "unknown_stylist"
        after_round = int(slot.round) if slot is not None else None
        free_for: dict[int, bool] = {}
        for entry in self._repo.of_day(store.store_id, local.date().isoformat()):
            if not self._fits(entry, catalog, freed, local, stylist.id, stylist.does):
                continue
            service = catalog.service(entry.service_code)
            if service is None:
                continue
            minutes = service.blocked_minutes
            if minutes not in free_for:
                free_for[minutes] = self._still_open(catalog, freed, service.code, minutes)
            if not free_for[minutes]:
                continue
            round = (after_round or 0) + 1
            until = now + OFFER_VALID
            if not self._repo.hold_slot(
                store.store_id,
                freed.slot_ref,
                waitlist_id=entry.waitlist_id,
                round=round,
                until=until,
                after_round=after_round,
                slot_start=freed.start,
            ):
                return "raced"
            after_round = round
            if not self._repo.offer(
                entry,
                start=freed.start,
                stylist_id=freed.stylist_id,
                until=until,
                round=round,
                freed=freed.body(),
                now=now,
            ):
                continue  # she left or took another offer meanwhile: the hold passes to the next
            fresh = self._repo.entry(store.store_id, entry.waitlist_id) or entry
            self._queue.schedule(
                _expiry_name(freed.slot_ref, round), until, freed.body("offer_expired", round=round)
            )
            self._notify(store, fresh, freed, round)
            return "offered"
        return "nobody_fits"

    @staticmethod
    def _fits(
        entry: WaitlistEntryItem,
        catalog: StoreCatalog,
        freed: Freed,
        local: datetime,
        stylist_id: str,
        stylist_does: Callable[[str], bool],
    ) -> bool:
        if entry.status != "waiting" or freed.slot_ref in (entry.missed or []):
            return False
        if entry.member_id == freed.member_id:
            return False  # the time she let go herself
        if entry.part_of_day not in ("any", part_of_day(local)):
            return False
        if entry.stylist_id not in ("any", stylist_id) or not stylist_does(entry.service_code):
            return False
        service = catalog.service(entry.service_code)
        return service is not None and service.blocked_minutes <= freed.minutes

    def _still_open(self, catalog: StoreCatalog, freed: Freed, service_code: str, minutes: int) -> bool:
        """Nobody has taken the time since (the stylist's calendar), and self-booking would take it now."""
        if not self._repo.stylist_free(freed.chain_id, freed.stylist_id, freed.start, minutes):
            return False
        if self._open_starts is None:
            return True
        day = freed.start.astimezone(ZoneInfo(catalog.timezone)).date()
        return any(
            s.stylist_id == freed.stylist_id and s.start.astimezone(UTC) == freed.start
            for s in self._open_starts(catalog, service_code, freed.stylist_id, day, 1)
        )

    def _notify(self, store: StoreItem, entry: WaitlistEntryItem, freed: Freed, round: int) -> None:
        """The offer on her channel (ReplySender: her channel's law, fallbacks), claimed first: the message's key
        is fixed by the offer (its time is when it was made), so a retry never sends twice."""
        member = self._member(entry.chain_id, entry.member_id)
        if member is None or not (member.phone or member.email or member.wechat_openid):
            logger.warning("waitlist offer: member unreachable", extra={"waitlist_id": entry.waitlist_id})
            return
        catalog = StoreCatalog.of(store)
        service = catalog.service(entry.service_code)
        stylist = catalog.stylist(freed.stylist_id)
        locale = texts.supported_locale(member.locale or store.locale)
        start_iso = freed.start.astimezone(ZoneInfo(store.timezone)).isoformat()
        fragment = {"claim": entry.waitlist_id, "start": start_iso}
        link = (
            self._link(entry.chain_id, store.store_id, entry.member_id, fragment=fragment, ttl=OFFER_VALID)
            if self._link is not None
            else f"/book/{store.store_id}#{urlencode(fragment)}"
        )
        context = texts.MessageContext(
            locale=locale,
            timezone=store.timezone,
            store={"name": store.name, "phone": store.phone},
            member={"name": member.name or ""},
            booking={},
            extra={
                "offer": {
                    "start": freed.start,
                    "service_name": service.name_in(locale) if service else entry.service_code,
                    "stylist_name": stylist.name if stylist else "",
                    "link": link,
                    "valid_minutes": int(OFFER_VALID.total_seconds() // 60),
                }
            },
        )
        source = _texts()[OFFER_KIND][locale]
        text = texts.from_store(texts.render_operator_template(source, context), context)
        message = self._messages.care_message(
            chain_id=entry.chain_id,
            store_id=store.store_id,
            member_id=entry.member_id,
            kind=OFFER_KIND,
            text=text,
            message_id=f"wl-{entry.waitlist_id}-{hashlib.sha256(freed.slot_ref.encode()).hexdigest()[:12]}-r{round}",
            now=entry.offered_at or self._clock.now(),
        )
        contact = Contact(phone=member.phone, email=member.email, wechat_openid=member.wechat_openid)
        delivery = self._sender.send(
            message, store, contact, self._conversations.get(store.store_id, entry.member_id)
        )
        logger.info(
            "waitlist offer sent",
            extra={"waitlist_id": entry.waitlist_id, "status": delivery.status, "channel": delivery.channel},
        )

    def _pass_on(self, entry: WaitlistEntryItem) -> None:
        """She left holding an offer: it passes to the next in line now."""
        freed = _offered(entry)
        if freed is None or entry.offer_round is None:
            return
        round = int(entry.offer_round)
        self._queue.unschedule(_expiry_name(freed.slot_ref, round))
        self._queue.send(freed.body("offer_expired", round=round))

    # --- helpers ----------------------------------------------------------------------------------------
    def _store_of(self, member: Member, store_id: str) -> tuple[StoreItem, StoreCatalog]:
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None or store.chain_id != member.chain_id:
            raise NotFound("no such store")
        catalog = StoreCatalog.of(store)
        if not catalog.self_booking:
            raise ManagedElsewhere("this store takes bookings through its own booking system")
        return store, catalog

    def _own_entry(self, member: Member, store_id: str, waitlist_id: str) -> WaitlistEntryItem:
        entry = self._repo.entry(store_id, waitlist_id) if is_id(waitlist_id) else None
        if entry is None or entry.member_id != member.member_id or entry.chain_id != member.chain_id:
            raise NotFound("no such waitlist entry")
        return entry

    @staticmethod
    def _log(freed: Freed, outcome: str) -> str:
        logger.info(
            "waitlist freed time",
            extra={"store_id": freed.store_id, "slot": freed.slot_ref, "outcome": outcome},
        )
        return outcome


class OfferGone(Conflict):
    code = "offer_gone"


def _entry_id(member: Member, store_id: str, wanted: JoinRequest) -> str:
    """The same request by the same member is the same entry."""
    key = "\x00".join(
        (
            member.chain_id,
            member.member_id,
            store_id,
            wanted.service,
            wanted.stylist_id,
            wanted.date.isoformat(),
            wanted.part_of_day,
        )
    )
    return "wl-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _offered(entry: WaitlistEntryItem) -> Freed | None:
    """The freed time an entry's offer names."""
    try:
        return Freed.of(entry.offer_freed) if entry.offer_freed else None
    except ValidationFailed:
        return None


def _quiet_delay(now: datetime, timezone: str) -> int:
    from chalicelib.care.outreach import quiet_delay

    return quiet_delay(now, timezone)


def _body_of(answer: Any) -> dict[str, Any]:
    """self_booking.book answers a dict (or an Answer with `.body`)."""
    body = getattr(answer, "body", answer)
    return dict(body) if isinstance(body, dict) else {}


def entry_view(entry: WaitlistEntryItem, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    status = entry.status
    offer = None
    if status == "offered" and entry.offer_until is not None and entry.offer_until > now:
        offer = {
            "start": entry.offer_start.astimezone(tz).isoformat() if entry.offer_start else None,
            "stylist_id": entry.offer_stylist_id,
            "expires_at": entry.offer_until.astimezone(tz).isoformat(),
        }
    elif status == "offered":
        status = "waiting"  # the offer lapsed; the worker is passing it on
    if status in ("waiting", "offered") and entry.date < now.astimezone(tz).date().isoformat():
        status, offer = "expired", None
    return {
        "waitlist_id": entry.waitlist_id,
        "service": entry.service_code,
        "stylist_id": entry.stylist_id,
        "date": entry.date,
        "part_of_day": entry.part_of_day,
        "status": status,
        "joined_at": entry.joined_at.astimezone(tz).isoformat(),
        "offer": offer,
        **({"booking_id": entry.booking_id} if entry.booking_id else {}),
    }
