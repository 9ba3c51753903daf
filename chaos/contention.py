"""Members booking for themselves, racing one another and the booking webhook for the same stylists (issue 14).

Every store takes bookings itself for the soak (its catalogue names the soak's own stylists: the webhook
bookings' stylists), and at the soak's first stop `races` times over, for one stylist and one time, RACERS
members `POST /v1/stores/{store}/bookings` while the booking system's `booking.created` for a webhook booking of
that very time arrives (twice, as every webhook here), all at once. Exactly one may win each race: one 201, or
the webhook's 202, and every member who lost gets 409 `slot_taken` with alternatives.

The races' times (17:00-19:00 store-local on the soak's days) never touch the soak's own bookings (11:00 and
14:00, at most 150 minutes), and their members have neither phone nor e-mail: no journey message is planned
for them, so the soak's message accounting is untouched. At the end `double_bookings` counts, from every
store-day of the staff console's day view, the pairs of bookings of one stylist whose times overlap while both
hold it (booked, confirmed, checked in or completed) -- whatever their origin.

Waitlist claims race too (`waitlist_races`, chaos/__main__.py `--waitlist-races`). For one stylist at 20:00
store-local on a soak day, a webhook booking holds the time; WAITERS members join the waitlist for that day's
evening, one after another (`POST /v1/stores/{store}/me/waitlist`); the booking system cancels the booking
(`booking.cancelled`, twice); the waitlist worker must offer the freed time to the member who joined first (each
waiter's `GET …/me/waitlist` is read until an offer shows, and exactly that one shows one). Then, all at once,
she claims it (`POST …/me/waitlist/{id}/claim {start}`), the other waiters book that very time themselves, and
a second webhook booking's `booking.created` for it arrives (twice). Again exactly one may win: her 201, a
waiter's 201 or the webhook's 202; a lost claim or booking answers 409 `slot_taken`.

The waiters have no phone either: the offer is made all the same (the entry moves to `offered`, the expiry is
scheduled) and only its message is skipped as "member unreachable" (services/waitlist.py `_notify`), so the
soak's SMS accounting is untouched. Offers respect member care's quiet hours (21:00-09:00 store-local: a time
freed inside them is offered when they end, on a later stop), so waitlist races go only to stores where the
soak starts between 09:00 and 20:00 local. Of the three stores one always is, except from 00:00 to 01:00 UTC
while London and New York keep summer time: a soak started then has no waitlist races (it says so). Evening
times are freed by nothing else in the soak (its cancellations and moves are at 11:00 and 14:00), so no other
offer reaches a waiter.

The catalogue is written onto the store items directly (moto's DynamoDB), before the soak's first request reads
a store (the API caches stores for a minute).
"""

from __future__ import annotations

import functools
import json
import random
import time as wall
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3

from chalicelib import resources as r
from chaos import model
from chaos.scenario import SLOTS, Booking
from devstack.client import http

RACE_HOURS = (17, 18, 19)  # store-local; the soak's 14:00 bookings end by 16:30
RACERS = 3  # members per race, besides the webhook booking
RACE_SERVICE: dict[str, Any] = {
    "code": "race-cut",
    "name": "Race cut",
    "names": {"zh-CN": "剪发", "en": "Haircut"},
    "category": "haircut",
    "minutes": 45,
    "buffer_minutes": 15,
    "active": True,
}
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ATTEMPTS = 6
WAITLIST_HOUR = 20  # store-local, evening: the freed time ends at 21:00, when the store closes
WAITERS = 3  # members waiting for each freed time: the first is offered it, the others race her claim
OFFER_HOURS = range(9, 20)  # store-local hours at the soak's start that leave an hour before quiet hours
OFFER_TIMEOUT = 180  # seconds of wall time for the waitlist worker to make the offers


@dataclass(frozen=True)
class Race:
    store: dict[str, Any]
    stylist: dict[str, str]
    start: datetime  # UTC
    number: int

    @property
    def booking_id(self) -> str:
        return f"race-{self.store['id']}-{self.number:04d}"

    def members(self) -> list[str]:
        return [f"race-m-{self.store['id']}-{self.number:04d}-{k}" for k in range(RACERS)]

    def webhook(self, occurred_at: datetime) -> dict:
        tz = ZoneInfo(self.store["timezone"])
        return {
            "event_id": f"{self.booking_id}-created",
            "type": "booking.created",
            "occurred_at": occurred_at.astimezone(tz).isoformat(),
            "booking": {
                "id": self.booking_id,
                "store_id": self.store["id"],
                "start": self.start.astimezone(tz).isoformat(),
                "duration_minutes": RACE_SERVICE["minutes"],
                "buffer_minutes": RACE_SERVICE["buffer_minutes"],
                "service": {k: RACE_SERVICE[k] for k in ("code", "name", "category")},
                "stylist": self.stylist,
                "member": {"id": f"race-hook-{self.store['id']}-{self.number:04d}", "name": "Race"},
                "notes": "",
            },
        }


@dataclass(frozen=True)
class WaitRace:
    """A time held by a webhook booking, waited for, freed by its cancellation, then claimed and raced."""

    store: dict[str, Any]
    stylist: dict[str, str]
    start: datetime  # UTC
    number: int

    @property
    def booking_id(self) -> str:  # the booking that holds the time, then is cancelled
        return f"wlrace-{self.store['id']}-{self.number:04d}"

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.store["timezone"]))

    def waiters(self) -> list[str]:
        """In the order they join the waitlist: the first waits longest."""
        return [f"wlrace-m-{self.store['id']}-{self.number:04d}-{k}" for k in range(WAITERS)]

    def event(self, kind: str, booking_id: str, occurred_at: datetime) -> dict:
        tz = ZoneInfo(self.store["timezone"])
        return {
            "event_id": f"{booking_id}-{kind}",
            "type": f"booking.{kind}",
            "occurred_at": occurred_at.astimezone(tz).isoformat(),
            "booking": {
                "id": booking_id,
                "store_id": self.store["id"],
                "start": self.local_start.isoformat(),
                "duration_minutes": RACE_SERVICE["minutes"],
                "buffer_minutes": RACE_SERVICE["buffer_minutes"],
                "service": {k: RACE_SERVICE[k] for k in ("code", "name", "category")},
                "stylist": self.stylist,
                "member": {"id": f"{booking_id}-m", "name": "Race"},
                "notes": "",
            },
        }


@dataclass
class Contention:
    races: int = 0
    self_bookings: int = 0  # member requests
    won_by_members: int = 0
    won_by_webhook: int = 0
    no_winner: int = 0
    several_winners: int = 0
    retries: int = 0  # 5xx answered again (moto's server fails some concurrent transactions)
    waitlist_races: int = 0
    waitlist_offers: int = 0  # offers made to the member who had waited longest
    waitlist_claims: int = 0  # claims sent (one per offer)
    won_by_claim: int = 0
    double_bookings: int = -1  # -1: not counted
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.several_winners == 0 and self.double_bookings == 0


def build_races(bookings: list[Booking], t0: datetime, races: int) -> list[Race]:
    """`races` races, spread over the stores and their soak stylists, on the soak's days at RACE_HOURS."""
    by_store: dict[str, tuple[dict, list[dict]]] = {}
    for b in bookings:
        store, stylists = by_store.setdefault(b.store["id"], (b.store, []))
        if b.stylist not in stylists:
            stylists.append(b.stylist)
    moments = [(day, hour) for day in sorted({d for d, _ in SLOTS}) for hour in RACE_HOURS]
    out: list[Race] = []
    stores = [by_store[s] for s in sorted(by_store)]
    for n in range(races):
        store, stylists = stores[n % len(stores)]
        k = n // len(stores)
        day, hour = moments[k % len(moments)]
        stylist = stylists[(k // len(moments)) % len(stylists)]
        tz = ZoneInfo(store["timezone"])
        local = datetime.combine(t0.astimezone(tz).date() + timedelta(days=day), time(hour), tz)
        out.append(Race(store, stylist, local.astimezone(UTC), n))
    return out


def build_waitlist_races(bookings: list[Booking], t0: datetime, races: int) -> list[WaitRace]:
    """`races` waitlist races at WAITLIST_HOUR on the soak's days, spread over the stores and stylists of the
    stores where `t0` is in OFFER_HOURS (outside member care's quiet hours, with an hour to spare)."""
    by_store: dict[str, tuple[dict, list[dict]]] = {}
    for b in bookings:
        if t0.astimezone(ZoneInfo(b.store["timezone"])).hour not in OFFER_HOURS:
            continue
        store, stylists = by_store.setdefault(b.store["id"], (b.store, []))
        if b.stylist not in stylists:
            stylists.append(b.stylist)
    if not by_store:
        return []
    days = sorted({d for d, _ in SLOTS})
    stores = [by_store[s] for s in sorted(by_store)]
    out: list[WaitRace] = []
    for n in range(races):
        store, stylists = stores[n % len(stores)]
        k = n // len(stores)
        if k >= len(days) * len(stylists):
            break  # every stylist's evening on every soak day is taken: no more races at this size
        tz = ZoneInfo(store["timezone"])
        local = datetime.combine(
            t0.astimezone(tz).date() + timedelta(days=days[k % len(days)]), time(WAITLIST_HOUR), tz
        )
        out.append(WaitRace(store, stylists[k // len(days)], local.astimezone(UTC), n))
    return out


class ContentionRun:
    def __init__(
        self,
        stack: Any,
        bookings: list[Booking],
        races: int,
        concurrency: int,
        seed: int = 7,
        waitlist_races: int = 0,
    ) -> None:
        self.stack = stack
        self.seed = seed
        self.bookings = bookings
        self.concurrency = concurrency
        self.result = Contention()
        self.t0 = stack.now()
        self.races = build_races(bookings, self.t0, races) if races else []
        self.waitlist = build_waitlist_races(bookings, self.t0, waitlist_races) if waitlist_races else []
        self._tokens: dict[str, str] = {}

    # --- before the soak's first request ---------------------------------------------------------
    def prepare(self) -> None:
        """Every soak store takes bookings itself; its catalogue names its soak stylists; the racers exist."""
        if not self.races and not self.waitlist:
            return
        ddb, table = self._client("dynamodb"), r.MAIN_TABLE.name(self.stack.info["stage"])
        stylists: dict[str, list[dict]] = {}
        for b in self.bookings:
            if b.stylist not in stylists.setdefault(b.store["id"], []):
                stylists[b.store["id"]].append(b.stylist)
        for store_id, crew in stylists.items():
            catalog = {
                "services": [RACE_SERVICE],
                "stylists": [{**s, "services": [RACE_SERVICE["code"]], "active": True} for s in crew],
            }
            ddb.update_item(
                TableName=table,
                Key={"pk": {"S": f"STORE#{store_id}"}, "sk": {"S": "STORE"}},
                UpdateExpression="SET booking_mode = :m, opening_hours = :h, #catalog = :c, "
                "lead_minutes = :l, cancel_until_minutes = :u",
                ExpressionAttributeNames={"#catalog": "catalog"},  # a reserved word
                ExpressionAttributeValues={
                    ":m": {"S": "chairside"},
                    ":h": {"S": json.dumps({d: [["10:00", "21:00"]] for d in WEEK})},
                    ":c": {"S": json.dumps(catalog, ensure_ascii=False)},
                    ":l": {"N": "60"},
                    ":u": {"N": "120"},
                },
            )
        chain = self.stack.info["chain_id"]
        members = [m for race in self.races for m in race.members()]
        members += [m for race in self.waitlist for m in race.waiters()]
        for member_id in members:  # no phone, no e-mail: no journey message (nor waitlist offer) is sent her
            ddb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"MEMBER#{chain}#{member_id}"},
                    "sk": {"S": "PROFILE"},
                    "chain_id": {"S": chain},
                    "member_id": {"S": member_id},
                    "name": {"S": "Race"},
                },
            )

    # --- at the first stop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Every race at once (up to `concurrency` requests in flight), each race's requests together."""
        rng = random.Random(
            self.seed
        )  # who is sent first within a race: a reproducible shuffle, not security
        tasks: list[tuple[Race, str, str | None]] = []
        for race in self.races:
            for member_id in race.members():
                self._token(member_id)  # signed here, before the threads
            mine: list[tuple[Race, str, str | None]] = [(race, "webhook", None), (race, "webhook", None)]
            mine += [(race, "member", m) for m in race.members()]
            rng.shuffle(mine)
            tasks += mine
        with ThreadPoolExecutor(self.concurrency) as pool:
            answers = list(pool.map(lambda task: (task, self._send(*task)), tasks))
        by_race: dict[int, list[tuple[str, int, Any]]] = {}
        for (race, kind, _), (status, body) in answers:
            by_race.setdefault(race.number, []).append((kind, status, body))
        for race in self.races:
            self._judge(race, by_race.get(race.number, []))
        self.result.races = len(self.races)

    def _send(self, race: Race, kind: str, member_id: str | None) -> tuple[int, Any]:
        for _ in range(ATTEMPTS):
            if kind == "webhook":
                status, body = self.stack.post_booking_event(race.webhook(self.t0))
            else:
                assert member_id is not None
                status, body = http(
                    "POST",
                    f"{self.stack.api}/v1/stores/{race.store['id']}/bookings",
                    {
                        "service": RACE_SERVICE["code"],
                        "stylist_id": race.stylist["id"],
                        "start": race.start.astimezone(ZoneInfo(race.store["timezone"])).isoformat(),
                        "idempotency_key": f"race-{race.number}",
                    },
                    {"Content-Type": "application/json", "Authorization": f"Bearer {self._token(member_id)}"},
                )
            if status < 500:
                return status, body
            self.result.retries += 1
        return status, body

    def _judge(self, race: Race, answers: list[tuple[str, int, Any]]) -> None:
        c = self.result
        members = [(status, body) for kind, status, body in answers if kind == "member"]
        hooks = [(status, body) for kind, status, body in answers if kind == "webhook"]
        c.self_bookings += len(members)
        member_wins = sum(1 for status, _ in members if status == 201)
        hook_won = any(status == 202 for status, _ in hooks)
        c.won_by_members += member_wins
        c.won_by_webhook += int(hook_won)
        winners = member_wins + int(hook_won)
        if winners == 0:
            c.no_winner += 1
            c.problems.append(f"{race.booking_id}: nobody won ({answers})")
        elif winners > 1:
            c.several_winners += 1
            c.problems.append(f"{race.booking_id}: {winners} winners")
        for status, body in members:
            if status == 409 and not (body.get("error") == "slot_taken" and body.get("alternatives")):
                c.problems.append(f"{race.booking_id}: a lost race answered {body}")
            elif status not in (201, 409):
                c.problems.append(f"{race.booking_id}: a member got {status} {body}")
        for status, body in hooks:
            if status == 409 and body.get("error") != "stylist_unavailable":
                c.problems.append(f"{race.booking_id}: the webhook got {body}")
            elif status not in (202, 409):
                c.problems.append(f"{race.booking_id}: the webhook got {status} {body}")

    # --- waitlist claims, at the first stop after the booking races ------------------------------------
    def run_waitlist(self) -> None:
        """Hold, wait, free, offer; then the offered member's claim races the other waiters and a webhook."""
        if not self.waitlist:
            return
        c = self.result
        c.waitlist_races = len(self.waitlist)
        for race in self.waitlist:
            for member_id in race.waiters():
                self._token(member_id)
        with ThreadPoolExecutor(self.concurrency) as pool:
            joined = dict(
                zip(
                    [r.number for r in self.waitlist],
                    pool.map(self._hold_wait_free, self.waitlist),
                    strict=True,
                )
            )
        offered = self._offers(joined)
        rng = random.Random(self.seed + 2)  # a reproducible shuffle, not security
        tasks: list[tuple[WaitRace, str, str | None, str | None]] = []
        for race in self.waitlist:
            if race.number not in offered:
                continue
            entries = joined[race.number]
            first = race.waiters()[0]
            mine: list[tuple[WaitRace, str, str | None, str | None]] = [(race, "webhook", None, None)] * 2
            mine.append((race, "claim", first, entries[first]))
            mine += [(race, "member", m, None) for m in race.waiters()[1:]]
            rng.shuffle(mine)
            tasks += mine
        with ThreadPoolExecutor(self.concurrency) as pool:
            answers = list(pool.map(lambda task: (task, self._send_waitlist(*task)), tasks))
        by_race: dict[int, list[tuple[str, int, Any]]] = {}
        for (race, kind, _, _), (status, body) in answers:
            by_race.setdefault(race.number, []).append((kind, status, body))
        for race in self.waitlist:
            if race.number in offered:
                self._judge_waitlist(race, by_race.get(race.number, []))

    def _hold_wait_free(self, race: WaitRace) -> dict[str, str]:
        """The webhook books the time; the waiters join one after another; the webhook cancels the booking.
        Returns member -> waitlist id."""
        for _ in range(2):  # every webhook twice
            self._hook(race, race.event("created", race.booking_id, self.t0), "its holding booking")
        joined: dict[str, str] = {}
        for member_id in race.waiters():  # in order: joined_at decides who has waited longest
            status, body = self._member_call(
                "POST",
                f"/v1/stores/{race.store['id']}/me/waitlist",
                member_id,
                {
                    "service": RACE_SERVICE["code"],
                    "stylist_id": race.stylist["id"],
                    "date": race.local_start.date().isoformat(),
                    "part_of_day": "evening",
                },
            )
            if status == 201 and body.get("waitlist_id"):
                joined[member_id] = body["waitlist_id"]
            else:
                self.result.problems.append(f"{race.booking_id}: {member_id} joining got {status} {body}")
        cancelled = race.event("cancelled", race.booking_id, self.stack.now())
        for _ in range(2):
            self._hook(race, cancelled, "its cancellation")
        return joined

    def _offers(self, joined: dict[int, dict[str, str]]) -> set[int]:
        """Read every waiter's list until each race's offer shows; it must be the first waiter's, alone."""
        c = self.result
        pending = {race.number: race for race in self.waitlist if len(joined[race.number]) == WAITERS}
        seen: dict[int, list[str]] = {}
        deadline = wall.monotonic() + OFFER_TIMEOUT
        while pending and wall.monotonic() < deadline:
            for number, race in list(pending.items()):
                holders = [m for m in race.waiters() if self._offered(race, m, joined[number][m])]
                if holders:
                    seen[number] = holders
                    del pending[number]
            if pending:
                wall.sleep(1)
        for race in pending.values():
            c.problems.append(f"{race.booking_id}: no offer within {OFFER_TIMEOUT}s of the cancellation")
        offered: set[int] = set()
        for number, holders in seen.items():
            race = next(r for r in self.waitlist if r.number == number)
            if holders != race.waiters()[:1]:
                c.problems.append(f"{race.booking_id}: offered to {holders}, not to the first in line")
                continue
            c.waitlist_offers += 1
            offered.add(number)
        return offered

    def _offered(self, race: WaitRace, member_id: str, waitlist_id: str) -> bool:
        status, body = self._member_call("GET", f"/v1/stores/{race.store['id']}/me/waitlist", member_id)
        if status != 200:
            return False  # read again on the next round
        for item in body.get("items", []):
            if item.get("waitlist_id") == waitlist_id and item.get("status") == "offered":
                offer = item.get("offer") or {}
                when = offer.get("start")
                if when is None or datetime.fromisoformat(when) != race.start:
                    self.result.problems.append(f"{race.booking_id}: {member_id} was offered {offer}")
                return True
        return False

    def _send_waitlist(
        self, race: WaitRace, kind: str, member_id: str | None, waitlist_id: str | None
    ) -> tuple[int, Any]:
        store = race.store["id"]
        if kind == "webhook":
            return self._retry(
                lambda: self.stack.post_booking_event(
                    race.event("created", f"{race.booking_id}-hook", self.t0)
                )
            )
        assert member_id is not None
        start = race.local_start.isoformat()
        body: dict[str, Any]
        if kind == "claim":
            path, body = f"/v1/stores/{store}/me/waitlist/{waitlist_id}/claim", {"start": start}
        else:
            path = f"/v1/stores/{store}/bookings"
            body = {
                "service": RACE_SERVICE["code"],
                "stylist_id": race.stylist["id"],
                "start": start,
                "idempotency_key": f"wlrace-{race.number}",
            }
        return self._member_call("POST", path, member_id, body)

    def _judge_waitlist(self, race: WaitRace, answers: list[tuple[str, int, Any]]) -> None:
        c = self.result
        claims = [(status, body) for kind, status, body in answers if kind == "claim"]
        members = [(status, body) for kind, status, body in answers if kind == "member"]
        hooks = [(status, body) for kind, status, body in answers if kind == "webhook"]
        c.waitlist_claims += len(claims)
        c.self_bookings += len(members)
        claim_won = sum(1 for status, _ in claims if status == 201)
        member_wins = sum(1 for status, _ in members if status == 201)
        hook_won = any(status == 202 for status, _ in hooks)
        c.won_by_claim += claim_won
        c.won_by_members += member_wins
        c.won_by_webhook += int(hook_won)
        winners = claim_won + member_wins + int(hook_won)
        if winners == 0:
            c.no_winner += 1
            c.problems.append(f"{race.booking_id}: nobody won the freed time ({answers})")
        elif winners > 1:
            c.several_winners += 1
            c.problems.append(f"{race.booking_id}: {winners} won the freed time")
        for status, body in claims + members:
            if status == 409 and not (body.get("error") == "slot_taken" and body.get("alternatives")):
                c.problems.append(f"{race.booking_id}: a lost claim or booking answered {body}")
            elif status not in (201, 409):
                c.problems.append(f"{race.booking_id}: a claim or booking got {status} {body}")
        for status, body in hooks:
            if status == 409 and body.get("error") != "stylist_unavailable":
                c.problems.append(f"{race.booking_id}: the webhook got {body}")
            elif status not in (202, 409):
                c.problems.append(f"{race.booking_id}: the webhook got {status} {body}")

    def _hook(self, race: WaitRace, event: dict, what: str) -> None:
        status, body = self._retry(lambda: self.stack.post_booking_event(event))
        if status != 202:
            self.result.problems.append(f"{race.booking_id}: {what} answered {status} {body}")

    def _member_call(
        self, method: str, path: str, member_id: str, body: dict | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._token(member_id)}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self._retry(lambda: http(method, f"{self.stack.api}{path}", body, headers))

    def _retry(self, call: Any) -> tuple[int, Any]:
        for _ in range(ATTEMPTS):
            status, answer = call()
            if status < 500:
                return status, answer
            self.result.retries += 1
        return status, answer

    # --- at the end ----------------------------------------------------------------------------------
    def count_double_bookings(self, stores: list[dict[str, Any]], days: int = 12) -> int:
        """Overlapping holding bookings of one stylist, from every store-day's day view (staff console)."""
        rows: list[dict] = []
        for store in stores:
            first = self.t0.astimezone(ZoneInfo(store["timezone"])).date()
            for offset in range(-1, days):
                rows += self._day(store["id"], first + timedelta(days=offset))
        self.result.double_bookings = model.double_bookings(rows)
        return self.result.double_bookings

    def _day(self, store_id: str, day: date) -> list[dict]:
        status, body = http(
            "GET",
            f"{self.stack.api}/v1/stores/{store_id}/bookings?date={day.isoformat()}",
            headers={"Authorization": f"Bearer {self.stack.info['staff_token']}"},
        )
        if status != 200:
            self.result.problems.append(f"day view {store_id} {day}: {status} {body}")
            return []
        return [b for s in body["stylists"] for b in s["bookings"]]

    # --- helpers ---------------------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.stack.info["aws_endpoint_url"],
            region_name=self.stack.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fixed local credentials
        )

    @functools.cached_property
    def _member_tokens(self) -> Any:
        """Members' tokens as the API signs them: a key derived from the stage's lookup key (local Secrets Manager)."""
        from chalicelib.pii import LookupHasher
        from chalicelib.secrets import LookupKeySecret
        from chalicelib.services.member_tokens import MemberTokens

        hasher = LookupHasher(LookupKeySecret(self._client("secretsmanager"), self.stack.info["stage"]).read)
        now = self.t0
        return MemberTokens(functools.partial(hasher.derived_key, "member-tokens"), lambda: now)

    def _token(self, member_id: str) -> str:
        if member_id not in self._tokens:
            self._tokens[member_id] = self._member_tokens.issue(self.stack.info["chain_id"], member_id)[0]
        return self._tokens[member_id]
