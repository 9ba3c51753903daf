"""Complete booking journeys through the in-process stack, and what they used.

One journey: booking.created -> confirmation -> (clock moved) day-before and 2 h reminders ->
booking.checked_in -> booking.completed -> aftercare, feedback, review and one-month check-in.

Journeys run in cohorts: the bookings of one store-day. Steps due at the same store-local moment (the
day-before reminder at 10:00, feedback and review requests at 11:00...) then reach the worker in one
batch, as they do in production; a cohort of 1 (journeys one after another) is the dearest case, where
every worker invocation carries one step.
"""

from __future__ import annotations

import heapq
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.cost import Usage, billed_ms, gb_seconds
from bench.counting import Call, by_operation, dynamodb_write_requests, scans
from bench.stack import ROOT, STAGE, Stack, booking_event
from chalicelib import resources

STORE_ZONE = ZoneInfo("Asia/Shanghai")  # the template event's store, sh-jingan
STYLISTS = ("sh-xiaowang", "sh-amy", "sh-lina")
API_PHASES = ("booking.created", "booking.checked_in", "booking.completed")
DELIVERIES = "deliveries"
# Empty long polls of an event source mapping cost the same with or without bookings: not per journey.
PLATFORM_SOURCES = ("scheduler", "esm")


def api_memory_mb(stage: str = "dev") -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return int(
        config["stages"].get(stage, {}).get("lambda_memory_size") or config.get("lambda_memory_size") or 128
    )


def worker_memory_mb() -> dict[str, int]:
    from devstack.event_sources import function_name

    return {function_name(STAGE, w): w.memory_mb for w in resources.WORKERS}


def _phone(i: int) -> str:
    return f"+86138{i:08d}"


def _due_times(body: dict) -> list[datetime]:
    return sorted(datetime.fromisoformat(step["due_at"]) for step in body.get("journey", []))


def run_cohort(stack: Stack, first: int, size: int) -> None:
    """`size` bookings of one store-day, served by three stylists side by side, two hours apart. Every
    webhook and every due step happens at its own time, in time order, with the workers run after each."""
    counter, clock = stack.counter, stack.clock
    day = (clock.now().astimezone(STORE_ZONE) + timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    agenda: list[tuple[datetime, int, str, int]] = []  # (when, tie-break, webhook kind or "", booking)
    order = itertools.count()
    slots: dict[int, tuple[datetime, str]] = {}
    for k in range(size):
        i = first + k
        start = day + timedelta(hours=2 * (k // len(STYLISTS)))
        slots[i] = (start, STYLISTS[k % len(STYLISTS)])
        for when, kind in (
            (clock.now(), "created"),
            (start - timedelta(minutes=5), "checked_in"),
            (start + timedelta(minutes=90), "completed"),
        ):
            heapq.heappush(agenda, (when, next(order), kind, i))
    while agenda:
        when, _, kind, i = heapq.heappop(agenda)
        if when > clock.now():
            clock.set(when)
        if kind:
            start, stylist = slots[i]
            with counter.in_phase(f"booking.{kind}"):
                status, body = stack.post_booking(
                    booking_event(
                        f"booking.{kind}",
                        f"bk-bench-{i}",
                        f"m-bench-{i}",
                        _phone(i),
                        start,
                        clock.now(),
                        stylist,
                    )
                )
            if status != 202:
                raise RuntimeError(f"booking.{kind} answered {status}: {body}")
            for due in _due_times(body):
                heapq.heappush(agenda, (due, next(order), "", i))
        with counter.in_phase(DELIVERIES):
            stack.pump()
    clock.set(clock.now() + timedelta(hours=1))


@dataclass
class JourneyResult:
    journeys: int
    cohort: int
    delivered: int  # messages sent (SMS published)
    calls: list[Call]
    usage: Usage  # per journey
    created_ops: Counter  # per booking.created webhook, app calls
    message_ops: Counter  # per delivered message, app calls in the worker
    journey_ops: Counter  # per journey, app calls
    platform_ops: Counter  # per journey, scheduler deliveries and event source mapping calls
    scans: int
    writes_per_created: float
    units: dict[tuple[str, str], tuple[float, float]]  # (phase, operation) -> (RRU, WRU) per journey
    durations_ms: dict[str, float]  # function -> mean billed ms per invocation
    invocations: dict[str, float]  # function -> invocations per journey


def _per(counter: Counter, n: float) -> Counter:
    return Counter({key: value / n for key, value in counter.items()})


def _units(calls: list[Call], n: int) -> dict[tuple[str, str], tuple[float, float]]:
    units: dict[tuple[str, str], tuple[float, float]] = {}
    for c in calls:
        if c.service == "dynamodb":
            rru, wru = units.get((c.phase, c.operation), (0.0, 0.0))
            units[(c.phase, c.operation)] = (rru + c.rru / n, wru + c.wru / n)
    return units


def _billable(calls: list[Call]) -> list[Call]:
    return [
        c
        for c in calls
        if not (c.source == "esm" and c.operation == "ReceiveMessage" and not c.sqs_messages)
        and not (c.source == "scheduler" and c.service == "scheduler")
    ]  # the firer plays the service


def run(stack: Stack, journeys: int, cohort: int = 1, first: int = 0) -> JourneyResult:
    """`journeys` complete journeys in cohorts of `cohort` bookings of one store-day (1: one at a time)."""
    sms_before = stack.sms_count()
    first_call, first_invocation = len(stack.counter.calls), len(stack.invocations)
    for offset in range(0, journeys, cohort):
        run_cohort(stack, first + offset, min(cohort, journeys - offset))
    delivered = stack.sms_count() - sms_before
    calls = stack.counter.calls[first_call:]
    invocations = stack.invocations[first_invocation:]
    app = [c for c in calls if c.source == "app"]
    platform = [c for c in _billable(calls) if c.source in PLATFORM_SOURCES]

    memory = {"api": api_memory_mb(), **worker_memory_mb()}
    billed: dict[str, list[int]] = {}
    for inv in invocations:
        made = [c for c in stack.counter.calls[inv.calls] if c.source == "app"]
        billed.setdefault(inv.function, []).append(
            billed_ms(inv.seconds, sum(c.seconds for c in made), len(made), memory[inv.function])
        )
    billable = _billable(calls)
    usage = Usage(
        apigw_requests=sum(1 for inv in invocations if inv.function == "api"),
        lambda_requests=len(invocations),
        lambda_gb_seconds=sum(gb_seconds(ms, memory[fn]) for fn, ms in billed.items()),
        dynamodb_rru=sum(c.rru for c in app),
        dynamodb_wru=sum(c.wru for c in app),
        sqs_requests=sum(c.sqs_requests for c in billable if c.service == "sqs"),
        scheduler_invocations=sum(
            1 for c in platform if c.source == "scheduler" and c.operation == "SendMessage"
        ),
        secrets_manager_calls=sum(1 for c in app if c.service == "secretsmanager"),
    ).scaled(1 / journeys)
    created = [c for c in app if c.phase == "booking.created"]
    return JourneyResult(
        journeys=journeys,
        cohort=cohort,
        delivered=delivered,
        calls=calls,
        usage=usage,
        created_ops=_per(by_operation(created), journeys),
        message_ops=_per(by_operation(c for c in app if c.phase == DELIVERIES), max(1, delivered)),
        journey_ops=_per(by_operation(app), journeys),
        platform_ops=_per(by_operation(platform), journeys),
        scans=scans(calls),
        writes_per_created=dynamodb_write_requests(created) / journeys,
        units=_units(app, journeys),
        durations_ms={fn: sum(ms) / len(ms) for fn, ms in billed.items()},
        invocations={fn: len(ms) / journeys for fn, ms in billed.items()},
    )


def throughput(stack: Stack, bookings: int) -> float:
    """booking.created webhooks per second through the real handler (distinct members and slots)."""
    base = stack.clock.now().astimezone(STORE_ZONE).replace(hour=9, minute=0, second=0, microsecond=0)
    events = [
        booking_event(
            "booking.created",
            f"bk-tp-{i}",
            f"m-tp-{i}",
            _phone(500_000 + i),
            base + timedelta(days=10 + i // 12, hours=2 * (i % 4)),
            stack.clock.now(),
            STYLISTS[(i // 4) % len(STYLISTS)],
        )
        for i in range(bookings)
    ]
    with stack.counter.in_phase("throughput"):
        started = time.perf_counter()
        for event in events:
            status, body = stack.post_booking(event)
            if status != 202:
                raise RuntimeError(f"throughput booking answered {status}: {body}")
        return bookings / (time.perf_counter() - started)
