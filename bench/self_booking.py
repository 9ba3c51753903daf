"""Members booking for themselves (issue 14): what one availability request reads and one self-booking writes.

On its own stack (the store directory caches stores for a minute, so the catalogue is written before the store is
first read): the Shanghai store takes bookings itself, with three stylists who all do the service. Then
- availability: `GET /v1/stores/sh-jingan/availability?service=cut&stylist=any&from=<day>&days=7` (1 store x 3
  stylists x 7 days), once cold (the store not yet cached in the container) and then `requests` times warm;
- self-booking: `bookings` members each `POST /v1/stores/sh-jingan/bookings` a distinct open time, with their
  member token, through the real route, service and booking-event path.
Every DynamoDB call the app makes is counted (bench/counting.py); EventBridge Scheduler calls are the journey's
schedules and are not DynamoDB writes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bench.counting import by_operation, dynamodb_write_requests, scans
from bench.stack import Stack

STORE = "sh-jingan"
ZONE = ZoneInfo("Asia/Shanghai")
STYLISTS = ("sh-xiaowang", "sh-amy", "sh-lina")
DAYS = 7
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATALOG = {
    "services": [
        {
            "code": "cut",
            "name": "剪发",
            "names": {"zh-CN": "剪发", "en": "Haircut"},
            "category": "haircut",
            "minutes": 45,
            "buffer_minutes": 15,
            "price": {"amount": "198.00", "currency": "CNY"},
            "active": True,
        }
    ],
    "stylists": [{"id": s, "name": s, "services": ["cut"], "active": True} for s in STYLISTS],
}


@dataclass(frozen=True)
class SelfBookingResult:
    requests: int  # warm availability requests measured
    slots: int  # open starts the first answer listed
    reads_first: int  # DynamoDB calls of the cold request (the store read too)
    reads_per_request: float  # DynamoDB calls per warm request
    availability_ops: Counter  # per warm request
    bookings: int
    writes_per_booking: float  # DynamoDB write requests per self-booking
    booking_ops: Counter  # per self-booking, every AWS call of the app
    scans: int


def prepare(stack: Stack, members: int) -> None:
    """The store's catalogue and the members' profiles, written before anything is measured."""
    from chalicelib.dal.models import MemberItem, StoreItem

    store = StoreItem.get(*StoreItem.key(STORE), consistent_read=True)
    store.booking_mode = "chairside"
    store.opening_hours = {d: [["10:00", "21:00"]] for d in WEEK}
    store.lead_minutes, store.cancel_until_minutes = 60, 120
    store.catalog = CATALOG
    store.save()
    for i in range(members):
        MemberItem(
            *MemberItem.key(stack.chain["chain_id"], f"m-self-{i}"),
            chain_id=stack.chain["chain_id"],
            member_id=f"m-self-{i}",
            name=f"会员{i}",
            phone=f"+86137{i:08d}",
            locale="zh-CN",
        ).save()


def run(stack: Stack, bookings: int = 6, requests: int = 5) -> SelfBookingResult:
    prepare(stack, bookings)
    counter = stack.counter
    first_day = (stack.clock.now().astimezone(ZONE) + timedelta(days=1)).date()
    path = f"/v1/stores/{STORE}/availability?service=cut&stylist=any&from={first_day}&days={DAYS}"
    first_call = len(counter.calls)
    with counter.in_phase("availability.cold"):
        response = stack._timed("api", lambda: stack.client.http.get(path))
    if response.status_code != 200:
        raise RuntimeError(f"availability answered {response.status_code}: {response.body!r}")
    slots = json.loads(response.body)["slots"]
    with counter.in_phase("availability"):
        for _ in range(requests):
            stack._timed("api", lambda: stack.client.http.get(path))
    cold = [c for c in counter.calls[first_call:] if c.phase == "availability.cold" and c.source == "app"]
    warm = [c for c in counter.calls[first_call:] if c.phase == "availability" and c.source == "app"]

    by_day: dict[str, dict] = {}
    for slot in slots:  # one open time a day: the bookings never touch one another
        by_day.setdefault(slot["start"][:10], slot)
    picks = list(by_day.values())[:bookings]
    if len(picks) < bookings:
        raise RuntimeError(f"only {len(picks)} days with open times for {bookings} bookings")
    with counter.in_phase("self_booking"):
        for i, slot in enumerate(picks):
            token = stack.container.member_tokens.issue(stack.chain["chain_id"], f"m-self-{i}")[0]
            body = {
                "service": "cut",
                "stylist_id": slot["stylist_id"],
                "start": slot["start"],
                "idempotency_key": f"bench-{i}",
            }
            response = stack._timed(
                "api",
                lambda body=body, token=token: stack.client.http.post(
                    f"/v1/stores/{STORE}/bookings",
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                    body=json.dumps(body).encode(),
                ),
            )
            if response.status_code != 201:
                raise RuntimeError(f"self-booking answered {response.status_code}: {response.body!r}")
    booked = [c for c in counter.calls[first_call:] if c.phase == "self_booking" and c.source == "app"]
    ddb = [c for c in warm if c.service == "dynamodb"]
    return SelfBookingResult(
        requests=requests,
        slots=len(slots),
        reads_first=sum(1 for c in cold if c.service == "dynamodb"),
        reads_per_request=len(ddb) / requests,
        availability_ops=Counter({k: v / requests for k, v in by_operation(warm).items()}),
        bookings=bookings,
        writes_per_booking=dynamodb_write_requests(booked) / bookings,
        booking_ops=Counter({k: v / bookings for k, v in by_operation(booked).items()}),
        scans=scans(counter.calls[first_call:]),
    )
