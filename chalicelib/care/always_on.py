"""Always-on care: a store's daily tick finds who is due a birthday greeting, a holiday greeting, a "we miss you"
or a rebook reminder, and queues a CareMessage for each (chalicelib/care/outreach.py sends them).

A tick is (chain, store, scheduled time) as EventBridge Scheduler delivers it (`<aws.scheduler.scheduled-time>`);
the day it works on is that time's date in the store's zone, so a late or repeated delivery works on the same day.
Every message carries a stable occasion key (birthday:<year>, holiday:<key>:<year>, reactivation:<last visit
date>, rebook:<cycle>:<last visit date>): Outreach sends each member an occasion once, however often the
schedule fires or SQS repeats a delivery. What is due is data (always_on.toml, holidays.toml).
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.care import dormancy, profile
from chalicelib.care.holiday_dates import applies_to, holiday_on
from chalicelib.care.outreach import CareMessage
from chalicelib.clock import Clock
from chalicelib.dal.care_due import CareDueRepository
from chalicelib.dal.models import MemberItem, StoreItem
from chalicelib.errors import ValidationFailed
from chalicelib.journeys.texts import supported_locale
from chalicelib.observability import logger

_HERE = Path(__file__).resolve().parent


@functools.cache
def settings() -> dict[str, Any]:
    with (_HERE / "always_on.toml").open("rb") as handle:
        return tomllib.load(handle)


@functools.cache
def _holiday_file() -> dict[str, Any]:
    with (_HERE / "holidays.toml").open("rb") as handle:
        return tomllib.load(handle)


def holidays(chain_id: str) -> dict[str, dict[str, Any]]:
    """The chain's holiday calendar: the defaults, minus what it disables, plus what it adds or replaces."""
    data = _holiday_file()
    chain = data.get("chains", {}).get(chain_id, {})
    calendar = {
        key: value for key, value in data.get("holidays", {}).items() if key not in chain.get("disable", [])
    }
    calendar.update(chain.get("holidays", {}))
    return calendar


@dataclass(frozen=True)
class CareTickMessage:
    """The body EventBridge Scheduler puts on the care-ticks queue for a store's schedule ("type": "care_tick")."""

    chain_id: str
    store_id: str
    scheduled_time: (
        str  # "<aws.scheduler.scheduled-time>" when the schedule is defined; ISO UTC when delivered
    )
    type: str = "care_tick"
    # Set on a tick the tick itself queued: go on with the holiday greeting's member pages from here (the previous
    # page's cursor); the day's other occasions were found by the first tick.
    page: str | None = None

    def to_json(self) -> str:
        body = {
            key: value for key, value in asdict(self).items() if value is not None
        }  # a schedule's has no page
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> CareTickMessage:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or data.get("type") != "care_tick":
                raise ValueError("type is not care_tick")
            page = data.get("page")
            if page is not None and not isinstance(page, str):
                raise ValueError("page must be a string")
            tick = cls(
                chain_id=str(data["chain_id"]),
                store_id=str(data["store_id"]),
                scheduled_time=str(data["scheduled_time"]),
                page=page,
            )
            tick.scheduled_at()
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed(f"not a care tick: {exc}") from None
        return tick

    def scheduled_at(self) -> datetime:
        moment = datetime.fromisoformat(self.scheduled_time.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("scheduled_time has no zone")
        return moment.astimezone(UTC)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _visit_day(member: MemberItem, zone: ZoneInfo) -> date | None:
    return member.last_visit_at.astimezone(zone).date() if member.last_visit_at else None


def dormant_after_days(member: MemberItem, rules: dict[str, Any]) -> int:
    """Her own average interval once she has enough visits (within min..max), else the default."""
    return dormancy.dormant_after_days(int(member.visits or 0), member.avg_interval_days, rules)


# Members greeted per tick: a holiday for a store of 100,000 members is 100 ticks in a row, each well inside a
# Lambda's time, never one tick that has to finish them all.
MEMBERS_PAGE = 1000


class CareTick:
    def __init__(
        self,
        due: CareDueRepository,
        stores: Any,
        outreach: Any,
        clock: Clock,
        next_tick: Callable[[CareTickMessage], None],
        refresh_member: Callable[[str, str], Any],
        members_page: int = MEMBERS_PAGE,
    ) -> None:
        self._due = due
        self._stores = stores  # StoreDirectory of this region
        self._outreach = outreach  # care.outreach.Outreach: only its enqueue is used here
        self._clock = clock
        # Queues a tick on the care-ticks queue (a holiday's next page of members).
        self._next_tick = next_tick
        # MemberCare.refresh(chain, member): re-runs her profile and tags (the time-based tags' sweep).
        self._refresh_member = refresh_member
        self._members_page = members_page

    def run(self, tick: CareTickMessage) -> dict[str, int]:
        """Queue the store's care messages for the tick's local day; returns how many per kind."""
        store = self._stores.get(tick.store_id)
        if store is None or store.chain_id != tick.chain_id:
            logger.warning("care tick for an unknown store dropped", extra={"store_id": tick.store_id})
            return {}
        zone = ZoneInfo(store.timezone)
        day = tick.scheduled_at().astimezone(zone).date()
        now = max(self._clock.now(), tick.scheduled_at())
        found = dict.fromkeys(("birthday", "holiday", "reactivation", "rebook_reminder"), 0)

        def counted(kind: str, batch: Iterator[CareMessage]) -> Iterator[CareMessage]:
            for message in batch:  # streamed to SQS ten at a time
                found[kind] += 1
                yield message

        greetings, following = self.holidays(store, day, tick.page)
        first = tick.page is None  # a tick it queued itself only goes on with the greeting's pages
        self._outreach.enqueue(
            chain.from_iterable(
                (
                    counted("birthday", self.birthdays(store, day) if first else iter(())),
                    counted("holiday", iter(greetings)),
                    counted("reactivation", self.reactivations(store, day, now) if first else iter(())),
                    counted("rebook_reminder", self.rebooks(store, day, now) if first else iter(())),
                )
            )
        )
        # Queued after this page's messages: a retry of this tick re-sends none twice.
        if following is not None:
            self._next_tick(replace(tick, page=following))
        if first:
            found["tags_refreshed"] = self.sweep_tags(store, day, now)
        logger.info(
            "care tick",
            extra={
                "store_id": store.store_id,
                "day": day.isoformat(),
                "more": following is not None,
                **found,
            },
        )
        return found

    # --- time-based tags -----------------------------------------------------------------------------
    def sweep_tags(self, store: StoreItem, day: date, now: datetime) -> int:
        """Re-run the profile rules of the members who crossed a time-based tag's line lately and lack the tag:
        `last_visit_days_at_least = N` (last visit N to N + catch_up days ago), and `past_own_rhythm` (her own
        dormancy line, as the "we miss you" finds her). Her next visit clears them (the booking event's refresh).
        Idempotent: a member who has the tag is not touched again; returns how many were refreshed."""
        zone = ZoneInfo(store.timezone)
        catch_up = int(settings()["reactivation"]["catch_up_days"])
        refreshed = 0
        for tag, days in _time_tags().items():
            oldest = _local_midnight(day - timedelta(days=days + catch_up), zone)
            newest = _local_midnight(day - timedelta(days=days - 1), zone)
            for member in self._due.members_last_seen(store.store_id, oldest, newest):
                if tag not in (member.tags or []):
                    self._refresh_member(store.chain_id, member.member_id)
                    refreshed += 1
        own_rhythm = _own_rhythm_tag()
        for member in self._own_rhythm_lapses(store, day) if own_rhythm else ():
            if own_rhythm not in (member.tags or []):
                self._refresh_member(store.chain_id, member.member_id)
                refreshed += 1
        return refreshed

    def _own_rhythm_lapses(self, store: StoreItem, day: date) -> Iterator[MemberItem]:
        """Members with a rhythm of their own who crossed it during the last catch_up days."""
        rules = settings()["reactivation"]
        zone = ZoneInfo(store.timezone)
        oldest = _local_midnight(day - timedelta(days=rules["max_days"] + rules["catch_up_days"]), zone)
        newest = _local_midnight(day - timedelta(days=rules["min_days"] - 1), zone)
        for member in self._due.members_last_seen(store.store_id, oldest, newest):
            visited = _visit_day(member, zone)
            if visited is None or not dormancy.has_own_rhythm(
                int(member.visits or 0), member.avg_interval_days
            ):
                continue
            threshold = dormant_after_days(member, rules)
            if threshold <= (day - visited).days < threshold + rules["catch_up_days"]:
                yield member

    # --- occasions ------------------------------------------------------------------------------------
    def birthdays(self, store: StoreItem, day: date) -> Iterator[CareMessage]:
        rules = settings()["birthday"]
        target = day + timedelta(days=int(rules["days_ahead"]))
        month_days = [target.strftime("%m-%d")]
        if target.month == 2 and target.day == 28 and not _is_leap(target.year):
            month_days.append("02-29")  # born on 29 February: greeted on the 28th in other years
        coupon = _coupon(rules["coupon"], store)
        for month_day in month_days:
            for member in self._due.birthdays(store.store_id, month_day):
                yield self._message(
                    store,
                    member,
                    "birthday",
                    f"birthday:{target.year}",
                    coupon=coupon,
                    params={"birthday": target.isoformat(), "days_ahead": int(rules["days_ahead"])},
                )

    def holidays(
        self, store: StoreItem, day: date, page: str | None = None
    ) -> tuple[list[CareMessage], str | None]:
        """The greetings of one page of the store's members for the holidays on `day`, and the next page's cursor
        (None after the last page, or when no holiday falls on the day)."""
        due = []
        for key, holiday in holidays(store.chain_id).items():
            if not applies_to(holiday, store.locale, store.timezone):
                continue
            ahead = int(holiday.get("days_ahead", 0))
            on = holiday_on(holiday, (day + timedelta(days=ahead)).year)
            if on is not None and on - timedelta(days=ahead) == day:
                due.append((key, holiday, on))
        if not due:
            return [], None
        members, following = self._due.members_page(store.store_id, page, self._members_page)
        greetings = [
            self._message(
                store,
                member,
                "holiday",
                f"holiday:{key}:{on.year}",
                params={
                    "holiday": key,
                    "holiday_name": holiday["name"].get(supported_locale(member.locale or store.locale), key),
                    "date": on.isoformat(),
                },
                coupon=_coupon(holiday.get("coupon"), store),
            )
            for key, holiday, on in due
            for member in members
        ]
        return greetings, following

    def reactivations(self, store: StoreItem, day: date, now: datetime) -> Iterator[CareMessage]:
        rules = settings()["reactivation"]
        zone = ZoneInfo(store.timezone)
        oldest = _local_midnight(day - timedelta(days=rules["max_days"] + rules["catch_up_days"]), zone)
        newest = _local_midnight(day - timedelta(days=rules["min_days"] - 1), zone)
        coupon = _coupon(reactivation_offer(store.chain_id), store)
        for member in self._due.members_last_seen(store.store_id, oldest, newest):
            visited = _visit_day(member, zone)
            threshold = dormant_after_days(member, rules)
            if visited is None or not threshold <= (day - visited).days < threshold + rules["catch_up_days"]:
                continue
            if self._due.has_future_booking(store.chain_id, member.member_id, now):
                continue
            yield self._message(
                store,
                member,
                "reactivation",
                f"reactivation:{visited.isoformat()}",
                params={"days_since": (day - visited).days},
                coupon=coupon,
            )

    def rebooks(self, store: StoreItem, day: date, now: datetime) -> Iterator[CareMessage]:
        rules = settings()["rebook"]
        zone = ZoneInfo(store.timezone)
        services = {s.get("code"): s.get("name") for s in (store.catalog or {}).get("services", [])}
        for cycle in rules["cycles"]:
            oldest = _local_midnight(day - timedelta(days=cycle["days"] + rules["catch_up_days"] - 1), zone)
            newest = _local_midnight(day - timedelta(days=cycle["days"] - 1), zone)
            for member in self._due.members_last_seen(store.store_id, oldest, newest):
                visited = _visit_day(member, zone)
                if visited is None or member.last_service_category != cycle["category"]:
                    continue
                if self._due.has_future_booking(store.chain_id, member.member_id, now):
                    continue
                service = services.get(member.last_service_code) or (member.services or [""])[0]
                yield self._message(
                    store,
                    member,
                    "rebook_reminder",
                    f"rebook:{cycle['name']}:{visited.isoformat()}",
                    params={
                        "cycle": cycle["name"],
                        "service_name": service,
                        "weeks": round(cycle["days"] / 7),
                        "last_visit": visited.isoformat(),
                    },
                )

    @staticmethod
    def _message(
        store: StoreItem,
        member: MemberItem,
        kind: str,
        occasion: str,
        *,
        params: dict[str, Any],
        coupon: dict[str, Any] | None = None,
    ) -> CareMessage:
        return CareMessage(
            chain_id=store.chain_id,
            member_id=member.member_id,
            kind=kind,
            occasion=occasion,
            store_id=store.store_id,
            params=params,
            coupon=coupon,
        )


def reactivation_offer(chain_id: str) -> dict[str, Any] | None:
    """The "we miss you" coupon: the chain's own (always_on.toml [chains."<id>".reactivation] `coupon`, where
    `coupon = {}` means none), else the default [reactivation.coupon], else none."""
    chain_rules = settings().get("chains", {}).get(chain_id, {}).get("reactivation", {})
    if "coupon" in chain_rules:
        return chain_rules["coupon"] or None
    return settings()["reactivation"].get("coupon")


def _time_tags() -> dict[str, int]:
    """Tags whose rule is only "last visit at least N days ago" (tag_rules.toml): tag -> N."""
    return {
        tag: int(rule["last_visit_days_at_least"])
        for tag, rule in profile.tag_rules().items()
        if set(rule) == {"last_visit_days_at_least"}
    }


def _own_rhythm_tag() -> str | None:
    """The tag of a member past her own rhythm (tag_rules.toml's `past_own_rhythm = true` rule), if any."""
    return next(
        (tag for tag, rule in profile.tag_rules().items() if rule.get("past_own_rhythm") is True), None
    )


def _coupon(offer: dict[str, Any] | None, store: StoreItem) -> dict[str, Any] | None:
    """A care message's coupon from its rule (`offer_zh`, `offer_en`, `valid_days`), in the store's language."""
    if not offer:
        return None
    return {
        "offer": offer["offer_zh" if store.locale == "zh-CN" else "offer_en"],
        "valid_days": int(offer["valid_days"]),
    }


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
