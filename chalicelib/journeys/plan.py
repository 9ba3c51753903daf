"""Turn a booking's state into the journey steps still to come, at store-local times.

Pure functions over data (journeys.toml plus chain and store overrides): no AWS, no clock of its own.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ACTIVE_STATUSES = ("booked", "confirmed")
# Events that make or move a booking: when its start has already passed (a late import, a correction of the
# record), the booking is recorded but nothing is planned -- a confirmation or reminder would be about the past.
MADE_OR_MOVED = ("created", "rescheduled")
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<n>\d{1,3})(?P<unit>[mhd])(?:@(?P<hh>\d{2}):(?P<mm>\d{2}))?$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class StepSpec:
    kind: str
    when: str
    anchor: str = "start"
    offset: str = "0"
    send_if: tuple[str, ...] = ACTIVE_STATUSES
    categories: tuple[str, ...] = ()
    quiet_exempt: bool = False
    before_start: bool = False
    min_lead: str | None = None
    mark_status: str | None = None
    skip_if_feedback: tuple[str, ...] = ()
    only_if: tuple[str, ...] = ()  # named conditions (CONDITIONS) that must all hold when the step comes due
    skip_if: tuple[str, ...] = ()  # issue 17: guards checked at send time (services/feedback.py skip_reason)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> StepSpec:
        values = dict(data)
        for key in ("send_if", "categories", "skip_if_feedback", "only_if", "skip_if"):
            if key in values:
                values[key] = tuple(values[key])
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known - {"enabled"}
        if unknown:
            raise ValueError(f"journey step {data.get('kind')}: unknown keys {sorted(unknown)}")
        values.pop("enabled", None)
        spec = cls(**values)
        parse_offset(spec.offset)  # fail at load time, not at send time
        unknown_conditions = set(spec.only_if) - set(CONDITIONS)
        if unknown_conditions:
            raise ValueError(f"journey step {spec.kind}: unknown conditions {sorted(unknown_conditions)}")
        return spec


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(9, 0)

    @classmethod
    def from_data(cls, data: dict[str, str] | None) -> QuietHours:
        if not data:
            return cls()
        return cls(start=time.fromisoformat(data["start"]), end=time.fromisoformat(data["end"]))

    def contains(self, local: time) -> bool:
        if self.start > self.end:  # spans midnight, e.g. 21:00-09:00
            return local >= self.start or local < self.end
        return self.start <= local < self.end


@dataclass(frozen=True)
class Journey:
    steps: tuple[StepSpec, ...]
    quiet_hours: QuietHours = field(default_factory=QuietHours)

    def spec_for(self, kind: str, when: str | None = None) -> StepSpec | None:
        for spec in self.steps:
            if spec.kind == kind and (when is None or spec.when == when):
                return spec
        return None


@dataclass(frozen=True)
class BookingFacts:
    """What the planner needs to know about a booking."""

    status: str
    start: datetime  # aware
    duration_minutes: int
    category: str
    booked_at: datetime  # aware: when Chairside first learned of the booking
    timezone: str


@dataclass(frozen=True)
class SendFacts:
    """What a step's `only_if` conditions read when it comes due: the booking's start and the member's profile as
    built from her bookings (care/profile.py). `first_visit_at` None: no visit of hers is known."""

    booking_start: datetime  # aware
    first_visit_at: datetime | None  # aware: her earliest completed visit in the chain


def _first_visit(facts: SendFacts) -> bool:
    """No visit of hers started before this booking did (her first one, chain-wide)."""
    return facts.first_visit_at is None or facts.first_visit_at >= facts.booking_start


# The conditions a journey step may name in `only_if` (journeys.toml). A new condition is a row here and a word in
# the data; a step never tests a member in code of its own.
CONDITIONS: dict[str, Callable[[SendFacts], bool]] = {"first_visit": _first_visit}


def conditions_hold(spec: StepSpec, facts: SendFacts | None) -> bool:
    """Whether every condition the step names holds; a step naming none always may go. Unknown facts (no member
    profile to read): a conditional step does not go."""
    if not spec.only_if:
        return True
    if facts is None:
        return False
    return all(CONDITIONS[name](facts) for name in spec.only_if)


@dataclass(frozen=True)
class PlannedStep:
    kind: str
    when: str
    due_at: datetime  # aware, UTC
    # Due at a store-local time of day ("+2d@11:00", or the end of quiet hours), which the store's other bookings'
    # steps share: one store wake can fire them all (services/store_wakes.py).
    store_time: bool = False


@cache
def _base_data() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).parent / "journeys.toml").read_text(encoding="utf-8"))


def load_journey(*overrides: dict[str, Any] | None) -> Journey:
    """The base journey with chain and then store overrides applied, later ones winning.

    An override is `{"quiet_hours": {...}, "steps": {"<kind>": {<step keys>} | {"enabled": false}}}`.
    """
    data = _base_data()
    steps = [dict(step) for step in data["step"]]
    quiet = dict(data.get("quiet_hours") or {})
    for override in overrides:
        if not override:
            continue
        _no_unknown("journey override", override, {"steps", "quiet_hours"})
        _no_unknown("journey override quiet_hours", override.get("quiet_hours") or {}, {"start", "end"})
        quiet.update(override.get("quiet_hours") or {})
        for kind, change in (override.get("steps") or {}).items():
            matching = [step for step in steps if step["kind"] == kind]
            if not matching:
                raise ValueError(f"journey override: unknown step {kind!r}")
            for step in matching:
                step.update(change)
    specs = [(s.get("enabled", True), StepSpec.from_data(s)) for s in steps]  # disabled ones too: typos fail
    return Journey(tuple(spec for enabled, spec in specs if enabled), QuietHours.from_data(quiet))


def _no_unknown(what: str, data: dict[str, Any], known: set[str]) -> None:
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}")


def parse_offset(offset: str) -> tuple[timedelta, time | None]:
    """ "-1d@10:00" -> (-1 day, 10:00); "+30m" -> (30 minutes, None); "0" -> (0, None)."""
    if offset in ("0", "", "+0", "-0"):
        return timedelta(0), None
    match = _OFFSET.match(offset)
    if not match:
        raise ValueError(f"bad journey offset {offset!r}")
    delta = timedelta(**{_UNITS[match["unit"]]: int(match["n"])})
    if match["sign"] == "-":
        delta = -delta
    at = time(int(match["hh"]), int(match["mm"])) if match["hh"] else None
    if at is not None and match["unit"] != "d":
        raise ValueError(f"journey offset {offset!r}: '@HH:MM' needs a day offset")
    return delta, at


def _local(moment: datetime, tz: ZoneInfo, on_day: datetime, at: time) -> datetime:
    """`at` o'clock store-local on the local date of `on_day`; DST gaps resolve forward."""
    naive = datetime.combine(on_day.astimezone(tz).date(), at)
    aware = naive.replace(tzinfo=tz)
    # Round-trip through UTC so a non-existent local time (spring forward) lands on a real instant.
    return aware.astimezone(UTC).astimezone(tz)


def due_time(spec: StepSpec, anchor: datetime, tz: ZoneInfo) -> datetime:
    delta, at = parse_offset(spec.offset)
    if at is None:
        return anchor + delta
    return _local(anchor, tz, anchor.astimezone(tz) + delta, at)


def out_of_quiet_hours(moment: datetime, quiet: QuietHours, tz: ZoneInfo) -> datetime:
    """The moment itself, or the next minute after quiet hours (store-local) when it falls inside."""
    local = moment.astimezone(tz)
    if not quiet.contains(local.time()):
        return moment
    day = local if local.time() < quiet.end else local + timedelta(days=1)
    return _local(moment, tz, day, quiet.end).astimezone(UTC)


def plan(journey: Journey, facts: BookingFacts, event: str | None, now: datetime) -> list[PlannedStep]:
    """Steps still to come after `event` (e.g. "created") was applied and the booking is in `facts`.

    Steps that would fall in the past are dropped, except those due "now" (sent at once). A booking made or
    moved to a start that is not in the future plans nothing at all.
    """
    tz = ZoneInfo(facts.timezone)
    start = facts.start.astimezone(UTC)
    if event in MADE_OR_MOVED and start <= now:
        return []
    anchors = {"now": now, "start": start, "end": start + timedelta(minutes=facts.duration_minutes)}
    phases = {f"event:{event}"} if event else set()
    if facts.status in ACTIVE_STATUSES:
        phases.add("upcoming")
    if facts.status == "completed":
        phases.add("completed")

    planned: list[PlannedStep] = []
    for spec in journey.steps:
        if spec.when not in phases or facts.status not in spec.send_if:
            continue
        if spec.categories and facts.category not in spec.categories:
            continue
        if spec.min_lead and start - facts.booked_at < _lead(spec.min_lead):
            continue
        due = due_time(spec, anchors[spec.anchor], tz).astimezone(UTC)
        store_time = parse_offset(spec.offset)[1] is not None
        if not spec.quiet_exempt:
            unquiet = out_of_quiet_hours(due, journey.quiet_hours, tz)
            store_time, due = store_time or unquiet != due, unquiet
        if spec.before_start and due >= start:
            continue
        if due < now and not (spec.anchor == "now" and parse_offset(spec.offset)[0] == timedelta(0)):
            continue
        planned.append(PlannedStep(spec.kind, spec.when, max(due, now), store_time and due > now))
    planned.sort(key=lambda step: step.due_at)
    return planned


def _lead(value: str) -> timedelta:
    delta, _ = parse_offset("+" + value.lstrip("+"))
    return delta
