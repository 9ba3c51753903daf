"""A member books for herself over HTTP against the running local stack (`make run`), as the issue's "done when"
describes it: a new member signs in by SMS code, reads availability, books, sees the time gone, moves it and
cancels; a waiting member gets the freed time and claims it; eight members racing for one time get one 201 and
seven 409s with alternatives. Each test picks its own day and stylist, so they do not share open times."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from chalicelib.care.outreach import quiet_delay
from tests.e2e.conftest import eventually, http
from tests.support.builders import SH_STORE

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
CODE = re.compile(r"(\d{6})")


def new_phone() -> str:
    return f"+86137{uuid.uuid4().int % 10**8:08d}"


def sign_in(stack, phone: str) -> dict:
    base = f"{stack.api}/v1/stores/{SH_STORE}/member-sessions"
    status, body = http("POST", base, {"phone": phone}, JSON)
    assert status == 202, body
    text = eventually(lambda: stack.sms_to(phone), what=f"the sign-in code to {phone}")[-1]
    status, session = http(
        "POST", base + "/verify", {"phone": phone, "code": CODE.search(text).group(1)}, JSON
    )
    assert status == 200, session
    return session


def as_member(stack, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", **JSON}
    return http(method, f"{stack.api}/v1/stores/{SH_STORE}/{path}", body, headers)


def open_starts(stack, service: str, stylist: str, day) -> list[str]:
    status, body = http(
        "GET",
        f"{stack.api}/v1/stores/{SH_STORE}/availability?service={service}&stylist={stylist}"
        f"&from={day.isoformat()}&days=1",
    )
    assert status == 200, body
    assert body["timezone"] == "Asia/Shanghai"
    return [s["start"] for s in body["slots"] if s["stylist_id"] == stylist]


def a_day_ahead(stack, days: int):
    """A Shanghai date `days` after the stack's today (each test its own, clear of the other tests' bookings)."""
    return stack.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)


def test_a_new_member_signs_in_books_sees_the_time_gone_moves_and_cancels(stack):
    phone = new_phone()
    session = sign_in(stack, phone)
    token = session["member_token"]
    # The first day from 8 days ahead on which 小王 (5 working days a week) has two open starts.
    day, starts = next(
        (day, starts)
        for day in (a_day_ahead(stack, n) for n in range(8, 15))
        if len(starts := open_starts(stack, "cut-wash", "sh-xiaowang", day)) >= 2
    )
    first, later = starts[0], starts[-1]

    status, booked = as_member(
        stack,
        token,
        "POST",
        "bookings",
        {"service": "cut-wash", "stylist_id": "sh-xiaowang", "start": first, "idempotency_key": "e2e-1"},
    )
    assert status == 201, booked
    assert booked["status"] == "booked" and booked["stylist"]["id"] == "sh-xiaowang"
    assert datetime.fromisoformat(booked["start"]) == datetime.fromisoformat(first)
    assert "confirmation" in [step["kind"] for step in booked["journey"]]
    assert first not in open_starts(stack, "cut-wash", "sh-xiaowang", day)  # the time is gone
    again = {"service": "cut-wash", "stylist_id": "sh-xiaowang", "start": first, "idempotency_key": "e2e-1"}
    assert as_member(stack, token, "POST", "bookings", again) == (201, booked)  # a retry: the first answer
    stack.wait_sent(SH_STORE, session["member_id"], ["confirmation"])

    booking_id = booked["booking_id"]
    status, moved = as_member(stack, token, "POST", f"me/bookings/{booking_id}/reschedule", {"start": later})
    assert status == 200, moved
    after_move = open_starts(stack, "cut-wash", "sh-xiaowang", day)
    assert first in after_move and later not in after_move  # the old time is free again, the new one taken

    status, cancelled = as_member(stack, token, "POST", f"me/bookings/{booking_id}/cancel", {"reason": "e2e"})
    assert status == 200, cancelled
    assert later in open_starts(stack, "cut-wash", "sh-xiaowang", day)
    status, mine = as_member(stack, token, "GET", "me/bookings")
    assert status == 200
    assert [(b["booking_id"], b["status"]) for b in mine["items"]] == [(booking_id, "cancelled")]


def test_a_waiting_member_gets_the_freed_time_and_claims_it(stack):
    # The first afternoon start of sh-lina (she works 5 days a week) from 9 days ahead: the first member takes it,
    # the second waits for it.
    day, freed = next(
        (day, start)
        for day in (a_day_ahead(stack, n) for n in range(9, 16))
        for start in open_starts(stack, "gel-solid", "sh-lina", day)
        if 12 <= datetime.fromisoformat(start).hour < 18
    )
    holder = sign_in(stack, new_phone())["member_token"]
    waiting_phone = new_phone()
    waiting = sign_in(stack, waiting_phone)["member_token"]

    status, booked = as_member(
        stack,
        holder,
        "POST",
        "bookings",
        {"service": "gel-solid", "stylist_id": "sh-lina", "start": freed, "idempotency_key": "e2e-wait"},
    )
    assert status == 201, booked
    status, joined = as_member(
        stack,
        waiting,
        "POST",
        "me/waitlist",
        {
            "service": "gel-solid",
            "stylist_id": "sh-lina",
            "date": day.isoformat(),
            "part_of_day": "afternoon",
        },
    )
    assert status == 201, joined

    status, _ = as_member(stack, holder, "POST", f"me/bookings/{booked['booking_id']}/cancel", {})
    assert status == 200
    quiet = quiet_delay(stack.now(), "Asia/Shanghai")
    if quiet:  # at night the offer waits for the morning (the freed time is days away): make it morning
        stack.advance(quiet + 60)
    offered = eventually(
        lambda: next(
            (e for e in as_member(stack, waiting, "GET", "me/waitlist")[1]["items"] if e.get("offer")), None
        ),
        timeout=60,
        what="the offer",
    )
    assert offered["waitlist_id"] == joined["waitlist_id"]
    assert datetime.fromisoformat(offered["offer"]["start"]) == datetime.fromisoformat(freed)  # the very time
    offer_sms = eventually(
        lambda: [t for t in stack.sms_to(waiting_phone) if "/m/" in t], what="the offer SMS"
    )
    assert datetime.fromisoformat(freed).strftime("%H:%M") in offer_sms[-1]

    status, claimed = as_member(
        stack, waiting, "POST", f"me/waitlist/{quote(joined['waitlist_id'])}/claim", {"start": freed}
    )
    assert status == 201, claimed
    assert datetime.fromisoformat(claimed["start"]) == datetime.fromisoformat(freed)
    assert freed not in open_starts(stack, "gel-solid", "sh-lina", day)


def test_eight_members_racing_for_one_time_get_one_booking_and_seven_alternatives(stack):
    # The first day from 10 days ahead on which Amy (off on Mondays) has open starts.
    day, starts = next(
        (day, starts)
        for day in (a_day_ahead(stack, n) for n in range(10, 17))
        if len(starts := open_starts(stack, "care-repair", "sh-amy", day)) > 3
    )
    contested = starts[len(starts) // 2]
    tokens = [sign_in(stack, new_phone())["member_token"] for _ in range(8)]
    answers: list[tuple[int, dict]] = []
    gate = threading.Barrier(len(tokens))

    def book(token: str) -> None:
        gate.wait()
        body = {
            "service": "care-repair",
            "stylist_id": "sh-amy",
            "start": contested,
            "idempotency_key": uuid.uuid4().hex,
        }
        answers.append(as_member(stack, token, "POST", "bookings", body))

    threads = [threading.Thread(target=book, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [201] + [409] * 7, answers
    for status, body in answers:
        if status == 409:
            assert body["error"] == "slot_taken"
            assert 1 <= len(body["alternatives"]) <= 3
            assert contested not in [a["start"] for a in body["alternatives"]]
    assert contested not in open_starts(stack, "care-repair", "sh-amy", day)
