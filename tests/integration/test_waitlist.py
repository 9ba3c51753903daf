"""The waitlist (issue 14, item 5) on moto: members join, list and leave; a cancel frees a stylist's time and the
member who has waited longest, and whom that very time fits, is offered it by SMS; an unclaimed offer passes to
the next in line; a duplicate queue message never offers twice; quiet hours hold offers back."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.catalog import WEEK, open_for_booking

MINE = f"/v1/stores/{SH_STORE}/me/waitlist"
DAY = "2026-11-25"  # a Wednesday; the harness's clock says Sunday 2026-11-22 10:00 in Shanghai
FREED_START = "2026-11-25T15:00:00+08:00"
PHONES = {"m-ann": "+8613900000001", "m-bo": "+8613900000002", "m-cy": "+8613900000003"}


@pytest.fixture
def store(harness):
    """The Shanghai store takes bookings itself (tests/support/catalog.py: `cut` 45+15 minutes, `colour` 120+15;
    小王 12:00-19:00, Amy every service hour but colour), open 08:00-21:00 every day."""
    open_for_booking(SH_STORE, opening_hours={d: [["08:00", "21:00"]] for d in WEEK})


def member(harness, member_id: str) -> str:
    """A member known only by her phone (signed in by SMS code): her token."""
    harness.container.member_care.refresh(
        harness.chain["chain_id"],
        member_id,
        {"phone": PHONES[member_id], "locale": "zh-CN", "name": "", "last_store_id": SH_STORE},
    )
    token, _ = harness.container.member_tokens.issue(harness.chain["chain_id"], member_id)
    return token


def call(harness, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = harness.client.http
    if method == "GET":
        response = http.get(path, headers=headers)
    elif method == "DELETE":
        response = http.delete(path, headers=headers)
    else:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = http.post(path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body) if response.body else None


def join(harness, token: str, **overrides: Any) -> str:
    body = {"service": "cut", "stylist_id": "any", "date": DAY, "part_of_day": "afternoon", **overrides}
    status, answer = call(harness, "POST", MINE, token, body)
    assert status == 201, answer
    return answer["waitlist_id"]


def later(harness, minutes: int = 1) -> None:
    harness.clock.set(harness.clock.now() + timedelta(minutes=minutes))


def book_and_cancel(
    harness, *, start: str = FREED_START, duration: int = 90, stylist: str = "sh-xiaowang"
) -> None:
    """A booking of someone else's, then its cancel: the time it held is freed."""
    status, body = harness.post(
        booking_event(
            booking_id="bk-gone", start=start, duration=duration, stylist=stylist, member_id="m-other"
        )
    )
    assert status == 202, body
    later(harness)
    status, body = harness.post(
        booking_event(
            type="booking.cancelled",
            booking_id="bk-gone",
            start=start,
            duration=duration,
            stylist=stylist,
            member_id="m-other",
            occurred_at=harness.clock.now().isoformat(),
        )
    )
    assert status == 202, body
    harness.pump()


def sms_to(harness, member_id: str) -> list[str]:
    return [text for phone, text in harness.sms() if phone == PHONES[member_id]]


def claim_link(harness, text: str) -> dict[str, str]:
    """Follow the offer's short link (sessions' `GET /m/{code}`): the booking page's fragment, as a dict."""
    [path] = re.findall(r"/m/[0-9a-z]+", text)
    response = harness.client.http.get(path)
    assert response.status_code == 302, response.body
    location = response.headers["Location"]
    assert location.split("#")[0].endswith(f"/book/{SH_STORE}"), location
    return {k: v[0] for k, v in parse_qs(location.split("#", 1)[1]).items()}


def mine(harness, token: str) -> list[dict]:
    status, body = call(harness, "GET", MINE, token)
    assert status == 200, body
    return body["items"]


# --- joining, listing, leaving ------------------------------------------------------------------------------
def test_a_member_joins_lists_and_leaves_and_each_is_idempotent(harness, store):
    ann = member(harness, "m-ann")

    first = join(harness, ann)
    again = join(harness, ann)  # the same request twice: the same entry

    assert first == again
    [entry] = mine(harness, ann)
    assert entry["waitlist_id"] == first and entry["status"] == "waiting" and entry["offer"] is None
    assert (entry["service"], entry["stylist_id"], entry["date"], entry["part_of_day"]) == (
        "cut",
        "any",
        DAY,
        "afternoon",
    )

    for _ in range(2):  # leaving twice is leaving once
        status, body = call(harness, "DELETE", f"{MINE}/{first}", ann)
        assert status == 200 and body["status"] == "left", body
    assert mine(harness, ann) == []


def test_another_members_entry_is_not_found(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    entry = join(harness, ann)

    status, body = call(harness, "DELETE", f"{MINE}/{entry}", bo)

    assert status == 404, body
    assert [e["waitlist_id"] for e in mine(harness, ann)] == [entry]
    assert call(harness, "DELETE", f"{MINE}/wl-nothing", bo)[0] == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"service": "no-such-service"}, "service"),
        ({"stylist_id": "nobody"}, "stylist_id"),
        ({"date": "2026-11-21"}, "date"),  # yesterday, store-local
        ({"date": "2027-02-01"}, "date"),  # more than 60 days ahead
        ({"date": "25/11/2026"}, "date"),
        ({"part_of_day": "night"}, "part_of_day"),
        ({"service": None}, "service"),
    ],
)
def test_a_bad_request_names_the_field(harness, store, overrides, field):
    ann = member(harness, "m-ann")
    body = {"service": "cut", "stylist_id": "any", "date": DAY, "part_of_day": "any", **overrides}

    status, answer = call(harness, "POST", MINE, ann, body)

    assert status == 400, answer
    assert field in answer["fields"], answer


def test_a_stylist_who_does_not_do_the_service_is_refused(harness, store):
    ann = member(harness, "m-ann")

    status, answer = call(
        harness,
        "POST",
        MINE,
        ann,
        {"service": "colour", "stylist_id": "sh-amy", "date": DAY, "part_of_day": "any"},  # Amy: cuts only
    )

    assert status == 400 and "stylist_id" in answer["fields"], answer


def test_no_token_is_401_and_another_chains_or_external_store_is_refused(harness, store):
    status, _ = call(harness, "GET", MINE, None)
    assert status == 401
    ann = member(harness, "m-ann")
    status, _ = call(harness, "GET", MINE, harness.chain["staff_token"])  # a staff token is not a member's
    assert status == 401
    status, body = call(harness, "GET", f"/v1/stores/{LDN_STORE}/me/waitlist", ann)  # still in external mode
    assert status == 409 and body["error"] == "booking_managed_elsewhere", body
    status, body = call(harness, "GET", "/v1/stores/no-such-store/me/waitlist", ann)
    assert status == 404, body


# --- freed time becomes an offer ---------------------------------------------------------------------------
def test_a_cancel_offers_the_freed_time_by_sms_to_the_longest_waiting_member(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    ann_entry = join(harness, ann)
    later(harness)
    bo_entry = join(harness, bo)

    book_and_cancel(harness)

    [offer] = sms_to(harness, "m-ann")
    assert "15:00" in offer and "花漾·静安店" in offer, offer
    link = claim_link(harness, offer)
    assert link["claim"] == ann_entry and link["start"] == FREED_START, link
    assert [e["waitlist_id"] for e in mine(harness, link["token"])] == [ann_entry]  # the link signs her in
    assert sms_to(harness, "m-bo") == []
    [entry] = mine(harness, ann)
    assert entry["status"] == "offered", entry
    assert entry["offer"]["start"] == FREED_START and entry["offer"]["stylist_id"] == "sh-xiaowang"
    expires = datetime.fromisoformat(entry["offer"]["expires_at"])
    assert expires == harness.clock.now() + timedelta(minutes=30)
    assert [e["status"] for e in mine(harness, bo)] == ["waiting"]
    assert bo_entry != ann_entry


def test_only_a_fitting_part_of_day_and_service_length_are_offered(harness, store):
    ann, bo, cy = member(harness, "m-ann"), member(harness, "m-bo"), member(harness, "m-cy")
    join(harness, ann, part_of_day="morning")  # 15:00 is the afternoon
    later(harness)
    join(harness, bo, service="colour")  # 120 minutes and 15 of clean-up do not fit in the 90 freed
    later(harness)
    join(harness, cy, part_of_day="any", stylist_id="sh-xiaowang")

    book_and_cancel(harness)

    assert sms_to(harness, "m-ann") == [] and sms_to(harness, "m-bo") == []
    [offer] = sms_to(harness, "m-cy")
    assert "15:00" in offer


def test_a_waiting_member_for_another_stylist_gets_nothing(harness, store):
    ann = member(harness, "m-ann")
    join(harness, ann, stylist_id="sh-amy")

    book_and_cancel(harness)

    assert sms_to(harness, "m-ann") == []
    assert [e["status"] for e in mine(harness, ann)] == ["waiting"]


def test_a_duplicate_queue_message_never_offers_twice(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    join(harness, ann)
    later(harness)
    join(harness, bo)
    sqs = harness.session.client("sqs")
    url = harness.container.settings.waitlist_queue_url
    book_and_cancel(harness)
    # the same `freed` message delivered again (SQS is at-least-once), as the offer's entry recorded it
    from chalicelib.dal.waitlist import WaitlistRepository

    [ann_item] = [e for e in WaitlistRepository.of_day(SH_STORE, DAY) if e.member_id == "m-ann"]
    assert ann_item.offer_freed["type"] == "freed"
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(ann_item.offer_freed))
    harness.pump()

    assert len(sms_to(harness, "m-ann")) == 1
    assert sms_to(harness, "m-bo") == []


def test_an_unclaimed_offer_passes_to_the_next_in_line_after_30_minutes(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    join(harness, ann)
    later(harness)
    join(harness, bo)
    book_and_cancel(harness)
    assert len(sms_to(harness, "m-ann")) == 1

    harness.advance_to(harness.clock.now() + timedelta(minutes=29))
    assert sms_to(harness, "m-bo") == []
    harness.advance_to(harness.clock.now() + timedelta(minutes=2))

    [offer] = sms_to(harness, "m-bo")
    assert "15:00" in offer
    assert len(sms_to(harness, "m-ann")) == 1  # she is not offered that time again
    assert [e["status"] for e in mine(harness, ann)] == ["waiting"]
    assert [e["status"] for e in mine(harness, bo)] == ["offered"]
    status, body = call(
        harness, "POST", f"{MINE}/{mine(harness, ann)[0]['waitlist_id']}/claim", ann, {"start": FREED_START}
    )
    assert status == 409 and body["error"] == "offer_gone", body


def test_leaving_with_an_offer_passes_it_on_at_once(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    ann_entry = join(harness, ann)
    later(harness)
    join(harness, bo)
    book_and_cancel(harness)

    status, _ = call(harness, "DELETE", f"{MINE}/{ann_entry}", ann)
    assert status == 200
    harness.pump()

    assert len(sms_to(harness, "m-bo")) == 1


@pytest.mark.parametrize(
    ("now", "offered"), [("2026-11-22T22:00:00+08:00", False), ("2026-11-22T20:00:00+08:00", True)]
)
def test_no_offer_for_a_slot_that_starts_before_quiet_hours_end(harness, store, now, offered):
    ann = member(harness, "m-ann")
    join(harness, ann, date="2026-11-23", part_of_day="morning")
    harness.clock.set(datetime.fromisoformat(now))  # quiet hours: 21:00-09:00

    book_and_cancel(harness, start="2026-11-23T08:30:00+08:00", duration=60, stylist="sh-amy")
    harness.advance_to(datetime.fromisoformat("2026-11-23T07:30:00+08:00"))

    assert len(sms_to(harness, "m-ann")) == (1 if offered else 0)


def test_an_offer_freed_in_quiet_hours_waits_for_their_end(harness, store):
    ann = member(harness, "m-ann")
    join(harness, ann, date="2026-11-23")
    harness.clock.set(datetime.fromisoformat("2026-11-22T22:00:00+08:00"))

    book_and_cancel(harness, start="2026-11-23T15:00:00+08:00", stylist="sh-amy")  # a Monday: 小王 is off
    assert sms_to(harness, "m-ann") == []
    harness.advance_to(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))

    [offer] = sms_to(harness, "m-ann")
    assert "15:00" in offer


def test_a_claim_without_a_live_offer_is_409(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    join(harness, ann)
    later(harness)
    bo_entry = join(harness, bo)
    book_and_cancel(harness)

    status, body = call(harness, "POST", f"{MINE}/{bo_entry}/claim", bo, {"start": FREED_START})

    assert status == 409 and body["error"] == "offer_gone", body
    status, body = call(harness, "POST", f"{MINE}/{bo_entry}/claim", bo, {"start": "tomorrow"})
    assert status == 400 and "start" in body["fields"], body


def test_the_offered_member_claims_the_time_and_another_claimer_gets_409(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    ann_entry = join(harness, ann)
    later(harness)
    bo_entry = join(harness, bo)
    book_and_cancel(harness)

    status, body = call(harness, "POST", f"{MINE}/{bo_entry}/claim", bo, {"start": FREED_START})
    assert status == 409 and body["error"] == "offer_gone", body

    status, booked = call(harness, "POST", f"{MINE}/{ann_entry}/claim", ann, {"start": FREED_START})

    assert status == 201, booked
    assert booked["status"] == "booked" and booked["start"] == FREED_START, booked
    assert booked["stylist"]["id"] == "sh-xiaowang"
    again = call(harness, "POST", f"{MINE}/{ann_entry}/claim", ann, {"start": FREED_START})
    assert (
        again[0] == 201 and again[1]["booking_id"] == booked["booking_id"]
    )  # a retried claim: the same booking
    [entry] = mine(harness, ann)
    assert entry["status"] == "booked" and entry["booking_id"] == booked["booking_id"], entry
    # the offer's 30 minutes pass: claimed, so nobody else is offered it
    harness.advance_to(harness.clock.now() + timedelta(minutes=31))
    assert sms_to(harness, "m-bo") == []
    status, body = call(harness, "POST", f"{MINE}/{bo_entry}/claim", bo, {"start": FREED_START})
    assert status == 409, body


def test_a_members_own_cancel_frees_the_time_for_the_waitlist(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    status, booking = call(
        harness,
        "POST",
        f"/v1/stores/{SH_STORE}/bookings",
        ann,
        {"service": "cut", "stylist_id": "sh-amy", "start": FREED_START, "idempotency_key": "ann-1"},
    )
    assert status == 201, booking
    join(harness, bo, stylist_id="sh-amy")
    later(harness)

    status, body = call(
        harness, "POST", f"/v1/stores/{SH_STORE}/me/bookings/{booking['booking_id']}/cancel", ann, {}
    )
    assert status == 200, body
    harness.pump()

    [offer] = sms_to(harness, "m-bo")
    assert "15:00" in offer and "Amy" in offer, offer


# --- the front desk -----------------------------------------------------------------------------------------
def test_the_front_desk_sees_the_days_waitlist_in_order(harness, store):
    ann, bo = member(harness, "m-ann"), member(harness, "m-bo")
    join(harness, ann)
    later(harness)
    join(harness, bo, part_of_day="evening")

    status, body = harness.staff("GET", f"/v1/stores/{SH_STORE}/waitlist?date={DAY}")

    assert status == 200, body
    assert [(e["member_id"], e["position"], e["part_of_day"]) for e in body["items"]] == [
        ("m-ann", 1, "afternoon"),
        ("m-bo", 2, "evening"),
    ]
    assert body["items"][0]["service_name"] == "剪发"
    stylist = harness.chain["role_tokens"]["stylist"]
    assert harness.staff("GET", f"/v1/stores/{SH_STORE}/waitlist?date={DAY}", token=stylist)[0] == 403
    other = harness.chain["store_tokens"][LDN_STORE]
    assert harness.staff("GET", f"/v1/stores/{SH_STORE}/waitlist?date={DAY}", token=other)[0] == 404
    status, body = harness.staff("GET", f"/v1/stores/{SH_STORE}/waitlist?date=soon")
    assert status == 400 and "date" in body["fields"]
