"""Complete booking journeys through the in-process stack, and what they used.

One journey: booking.created -> confirmation -> (clock moved) day-before and 2 h reminders ->
booking.checked_in -> booking.completed -> aftercare, feedback, review and one-month check-in. Journeys
run one after another, so every worker invocation carries the steps of one journey only (the dearest
case: at busy times a batch carries up to 10).
"""

from __future__ import annotations

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
    return int(config["stages"].get(stage, {}).get("lambda_memory_size")
               or config.get("lambda_memory_size") or 128)


def worker_memory_mb() -> dict[str, int]:
    from devstack.plumbing import function_name

    return {function_name(STAGE, w): w.memory_mb for w in resources.WORKERS}


def _phone(i: int) -> str:
    return f"+86138{i:08d}"


def _due_times(body: dict) -> list[datetime]:
    return sorted(datetime.fromisoformat(step["due_at"]) for step in body.get("journey", []))


def run_journey(stack: Stack, i: int) -> None:
    counter, clock = stack.counter, stack.clock
    local_now = clock.now().astimezone(STORE_ZONE)
    start = (local_now + timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    booking, member = f"bk-bench-{i}", f"m-bench-{i}"

    def post(kind: str) -> dict:
        with counter.in_phase(f"booking.{kind}"):
            status, body = stack.post_booking(booking_event(f"booking.{kind}", booking, member, _phone(i),
                                                            start, clock.now(), STYLISTS[i % len(STYLISTS)]))
        if status != 202:
            raise RuntimeError(f"booking.{kind} answered {status}: {body}")
        return body

    created = post("created")
    with counter.in_phase(DELIVERIES):
        stack.pump()
        for due in _due_times(created):
            if due < start - timedelta(minutes=5):
                stack.advance_to(due)
    clock.set(start - timedelta(minutes=5))
    post("checked_in")
    clock.set(start + timedelta(minutes=90))
    completed = post("completed")
    with counter.in_phase(DELIVERIES):
        for due in _due_times(created) + _due_times(completed):
            stack.advance_to(due)
    clock.set(clock.now() + timedelta(hours=1))


@dataclass
class JourneyResult:
    journeys: int
    delivered: int  # messages sent (SMS published)
    calls: list[Call]
    usage: Usage  # per journey
    created_ops: Counter  # per booking.created webhook, app calls
    message_ops: Counter  # per delivered message, app calls in the worker
    journey_ops: Counter  # per journey, app calls
    platform_ops: Counter  # per journey, scheduler deliveries and event source mapping calls
    scans: int
    writes_per_created: float
    durations_ms: dict[str, float]  # function -> mean billed ms per invocation
    invocations: dict[str, float]  # function -> invocations per journey


def _per(counter: Counter, n: float) -> Counter:
    return Counter({key: value / n for key, value in counter.items()})


def _billable(calls: list[Call]) -> list[Call]:
    return [c for c in calls if not (c.source == "esm" and c.operation == "ReceiveMessage" and not c.sqs_messages)
            and not (c.source == "scheduler" and c.service == "scheduler")]  # the firer plays the service


def run(stack: Stack, journeys: int) -> JourneyResult:
    sms_before = stack.sms_count()
    first_call, first_invocation = len(stack.counter.calls), len(stack.invocations)
    for i in range(journeys):
        run_journey(stack, i)
    delivered = stack.sms_count() - sms_before
    calls = stack.counter.calls[first_call:]
    invocations = stack.invocations[first_invocation:]
    app = [c for c in calls if c.source == "app"]
    platform = [c for c in _billable(calls) if c.source in PLATFORM_SOURCES]

    memory = {"api": api_memory_mb(), **worker_memory_mb()}
    billed: dict[str, list[int]] = {}
    for inv in invocations:
        made = [c for c in stack.counter.calls[inv.calls] if c.source == "app"]
        billed.setdefault(inv.function, []).append(billed_ms(inv.seconds, sum(c.seconds for c in made), len(made)))
    billable = _billable(calls)
    usage = Usage(
        apigw_requests=sum(1 for inv in invocations if inv.function == "api"),
        lambda_requests=len(invocations),
        lambda_gb_seconds=sum(gb_seconds(ms, memory[fn]) for fn, ms in billed.items()),
        dynamodb_rru=sum(c.rru for c in app),
        dynamodb_wru=sum(c.wru for c in app),
        sqs_requests=sum(c.sqs_requests for c in billable if c.service == "sqs"),
        scheduler_invocations=sum(1 for c in platform if c.source == "scheduler" and c.operation == "SendMessage"),
        secrets_manager_calls=sum(1 for c in app if c.service == "secretsmanager"),
    ).scaled(1 / journeys)
    created = [c for c in app if c.phase == "booking.created"]
    return JourneyResult(
        journeys=journeys,
        delivered=delivered,
        calls=calls,
        usage=usage,
        created_ops=_per(by_operation(created), journeys),
        message_ops=_per(by_operation(c for c in app if c.phase == DELIVERIES), max(1, delivered)),
        journey_ops=_per(by_operation(app), journeys),
        platform_ops=_per(by_operation(platform), journeys),
        scans=scans(calls),
        writes_per_created=dynamodb_write_requests(created) / journeys,
        durations_ms={fn: sum(ms) / len(ms) for fn, ms in billed.items()},
        invocations={fn: len(ms) / journeys for fn, ms in billed.items()},
    )


def throughput(stack: Stack, bookings: int) -> float:
    """booking.created webhooks per second through the real handler (distinct members and slots)."""
    base = stack.clock.now().astimezone(STORE_ZONE).replace(hour=9, minute=0, second=0, microsecond=0)
    events = [booking_event("booking.created", f"bk-tp-{i}", f"m-tp-{i}", _phone(500_000 + i),
                            base + timedelta(days=10 + i // 12, hours=2 * (i % 4)), stack.clock.now(),
                            STYLISTS[(i // 4) % len(STYLISTS)])
              for i in range(bookings)]
    with stack.counter.in_phase("throughput"):
        started = time.perf_counter()
        for event in events:
            status, body = stack.post_booking(event)
            if status != 202:
                raise RuntimeError(f"throughput booking answered {status}: {body}")
        return bookings / (time.perf_counter() - started)
