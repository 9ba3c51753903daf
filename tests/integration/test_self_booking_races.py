"""Members racing one another, and the booking webhook, for the same stylist's time: exactly one wins, on the
calendar claim both paths share (dal/bookings.py BookingRepository.commit).

The racers are threads calling the service the routes call (Chalice's test client keeps one current request per
app, so it cannot carry concurrent requests), each answer mapped to HTTP by the routes' own `handled`. moto
serves each DynamoDB request under one lock here, as DynamoDB applies each request atomically (moto's
transactions copy and restore whole tables, which concurrent threads would interleave); which request goes first
is still the threads' race.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.api.responses import handled, json_response
from chalicelib.contracts.booking_event import parse_booking_event
from chalicelib.services.member_tokens import Member
from tests.support.builders import SH_STORE, booking_event
from tests.support.catalog import member, open_for_booking

TUE = "2026-11-24"


@pytest.fixture
def atomic_moto(monkeypatch):
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def one_at_a_time(self):
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)


@pytest.fixture
def store(harness, atomic_moto):
    open_for_booking(SH_STORE)
    for i in range(8):
        member(f"m-{i}", phone=f"+86139001390{i:02d}")
    return harness


def _book(harness, member_id: str, start: str, key: str):
    body = {"service": "cut", "stylist_id": "sh-amy", "start": start, "idempotency_key": key}
    route = handled(
        lambda: json_response(
            201, harness.container.self_booking.book(Member("demo-chain", member_id), SH_STORE, body)
        )
    )
    response = route()
    return response.status_code, json.loads(json.dumps(response.body))


def _day(harness) -> list[dict]:
    status, day = harness.staff("GET", f"/v1/stores/{SH_STORE}/bookings?date={TUE}")
    assert status == 200
    return [b for s in day["stylists"] for b in s["bookings"] if b["status"] == "booked"]


def test_eight_members_racing_for_one_slot_one_201_and_seven_409s_with_alternatives(store):
    start = f"{TUE}T15:00:00+08:00"
    barrier = threading.Barrier(8)

    def racer(i: int):
        barrier.wait()
        return _book(store, f"m-{i}", start, f"race-{i}")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(racer, range(8)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 7, answers
    for status, body in answers:
        if status == 409:
            assert body["error"] == "slot_taken" and len(body["alternatives"]) == 3
            assert start not in [a["start"] for a in body["alternatives"]]
    [held] = _day(store)
    winner = next(body for status, body in answers if status == 201)
    assert held["id"] == winner["booking_id"]


@pytest.mark.parametrize("round_", range(3))
def test_a_self_booking_and_a_webhook_booking_racing_for_the_same_time_one_wins(store, round_):
    start = f"{TUE}T{11 + 2 * round_}:00:00+08:00"
    event = parse_booking_event(
        booking_event(
            booking_id=f"bk-hook-{round_}", stylist="sh-amy", start=start, duration=60, member_id="m-7"
        )
    )
    barrier = threading.Barrier(2)

    def webhook():
        barrier.wait()

        def receive():
            answer = store.container.booking_events.receive("demo-chain", event)
            return json_response(answer.status_code, answer.body)

        response = handled(receive)()
        return response.status_code, response.body

    def member_books():
        barrier.wait()
        return _book(store, "m-1", start, f"hook-race-{round_}")

    with ThreadPoolExecutor(2) as pool:
        hook, mine = pool.submit(webhook), pool.submit(member_books)
        hook_answer, my_answer = hook.result(), mine.result()

    won = [hook_answer[0] == 202, my_answer[0] == 201]
    assert won.count(True) == 1, (hook_answer, my_answer)
    assert hook_answer[0] in (202, 409) and my_answer[0] in (201, 409)
    [held] = [b for b in _day(store) if b["start"] == start]
    assert held["id"] == (f"bk-hook-{round_}" if won[0] else my_answer[1]["booking_id"])
