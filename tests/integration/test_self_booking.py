"""Members book for themselves (issue 14, items 2 and 4), and staff for them, on moto: public availability, book,
my bookings, move, cancel; the same calendar claim, journey and day view as the booking webhook."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.catalog import member, open_for_booking

BASE = f"/v1/stores/{SH_STORE}"
TUE = "2026-11-24"


@pytest.fixture
def store(harness):
    """The Shanghai store takes bookings itself (tests/support/catalog.py); two members have signed in."""
    open_for_booking(SH_STORE)
    member("m-1")
    member("m-2", name="王先生", phone="+8613900139000")
    return harness


def token_of(harness, member_id: str, chain_id: str = "demo-chain", booking_id: str | None = None) -> str:
    return harness.container.member_tokens.issue(chain_id, member_id, booking_id=booking_id)[0]


def call(harness, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if method == "GET":
        response = harness.client.http.get(path, headers=headers)
    else:
        response = harness.client.http.post(path, headers=headers, body=json.dumps(body or {}).encode())
    return response.status_code, json.loads(response.body) if response.body else None


def book(harness, member_id="m-1", *, start=f"{TUE}T15:00:00+08:00", stylist="sh-amy", key="k-1", **extra):
    body = {"service": "cut", "stylist_id": stylist, "start": start, "idempotency_key": key, **extra}
    return call(harness, "POST", f"{BASE}/bookings", body, token_of(harness, member_id))


def open_times(harness, stylist="sh-amy", day=TUE, service="cut") -> list[str]:
    status, body = call(
        harness, "GET", f"{BASE}/availability?service={service}&stylist={stylist}&from={day}&days=1"
    )
    assert status == 200, body
    return [s["start"][11:16] for s in body["slots"] if stylist == "any" or s["stylist_id"] == stylist]


# --- availability ----------------------------------------------------------------------------------------
def test_availability_is_public_one_entry_per_start_and_stylist(store):
    status, body = call(store, "GET", f"{BASE}/availability?service=cut&stylist=any&from={TUE}&days=1")

    assert status == 200 and body["timezone"] == "Asia/Shanghai"
    slots = body["slots"]
    assert {"start": f"{TUE}T10:00:00+08:00", "stylist_id": "sh-amy", "stylist_name": "Amy"} in slots
    assert {"start": f"{TUE}T12:00:00+08:00", "stylist_id": "sh-xiaowang", "stylist_name": "小王"} in slots
    assert not [s for s in slots if s["stylist_id"] == "sh-lina"]  # her day off
    assert slots == sorted(slots, key=lambda s: s["start"])
    assert len({(s["start"], s["stylist_id"]) for s in slots}) == len(slots)


def test_availability_without_from_starts_today_and_honours_the_lead_time(store):
    status, body = call(store, "GET", f"{BASE}/availability?service=cut&stylist=sh-amy")

    assert status == 200
    assert body["slots"][0]["start"] == "2026-11-22T11:00:00+08:00"  # now 10:00 + 60 minutes' lead
    days = {s["start"][:10] for s in body["slots"]}
    assert days == {f"2026-11-{d}" for d in range(22, 29)}  # seven days by default


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stylist=any", "service"),
        ("service=perm", "service"),
        ("service=cut&stylist=nobody", "stylist"),
        ("service=colour&stylist=sh-amy", "stylist"),
        ("service=cut&from=24-11-2026", "from"),
        ("service=cut&days=15", "days"),
        ("service=cut&days=0", "days"),
        ("service=cut&days=x", "days"),
    ],
)
def test_bad_availability_queries_name_the_parameter(store, query, field):
    status, body = call(store, "GET", f"{BASE}/availability?{query}")

    assert status == 400 and field in body["fields"], body


def test_availability_of_unknown_and_external_stores(store):
    assert call(store, "GET", "/v1/stores/nowhere/availability?service=cut")[0] == 404
    status, body = call(store, "GET", f"/v1/stores/{LDN_STORE}/availability?service=cut")
    assert status == 409 and body["error"] == "booking_managed_elsewhere"


# --- booking ---------------------------------------------------------------------------------------------
def test_a_member_books_the_slot_leaves_availability_and_shows_on_the_staff_day_view(store):
    assert "15:00" in open_times(store)

    status, body = book(store)

    assert status == 201, body
    assert body["status"] == "booked" and body["start"] == f"{TUE}T15:00:00+08:00"
    assert body["service"]["code"] == "cut" and body["stylist"] == {"id": "sh-amy", "name": "Amy"}
    assert body["booking_id"] and [step["kind"] for step in body["journey"]]
    left = open_times(store)
    assert "14:00" in left and "16:00" in left  # 15:00 + 45 minutes + 15 buffer
    assert not {"14:15", "14:30", "14:45", "15:00", "15:15", "15:30", "15:45"} & set(left)
    day = store.staff("GET", f"{BASE}/bookings?date={TUE}")[1]
    [row] = [b for s in day["stylists"] for b in s["bookings"]]
    assert (
        row["id"] == body["booking_id"] and row["member"]["id"] == "m-1" and row["stylist"]["id"] == "sh-amy"
    )
    assert row["duration_minutes"] == 45 and row["buffer_minutes"] == 15  # her texts name 45 minutes


def test_the_journey_starts_like_a_webhook_bookings(store):
    status, body = book(store)
    store.pump()

    assert status == 201
    assert "confirmation" in [step["kind"] for step in body["journey"]]
    assert "confirmation" in store.sent_kinds(SH_STORE, "m-1")


def test_the_same_idempotency_key_gets_the_first_answer(store):
    first = book(store, key="same")
    again = book(store, key="same", start=f"{TUE}T17:00:00+08:00")  # a retry: its body is not looked at again

    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    day = store.staff("GET", f"{BASE}/bookings?date={TUE}")[1]
    assert day["count"] == 1


def test_any_stylist_books_someone_free_who_does_the_service(store):
    book(store, "m-2", stylist="sh-xiaowang", key="x", start=f"{TUE}T13:00:00+08:00", service="colour")
    status, body = call(
        store,
        "POST",
        f"{BASE}/bookings",
        {"service": "colour", "stylist_id": "any", "start": f"{TUE}T13:00:00+08:00", "idempotency_key": "a"},
        token_of(store, "m-1"),
    )

    # colour: xiaowang (taken at 13:00) and lina (day off); amy does not do colour
    assert status == 409 and body["error"] == "slot_taken", body
    status, body = call(
        store,
        "POST",
        f"{BASE}/bookings",
        {"service": "cut", "stylist_id": "any", "start": f"{TUE}T13:00:00+08:00", "idempotency_key": "b"},
        token_of(store, "m-1"),
    )
    assert status == 201 and body["stylist"]["id"] == "sh-amy"


def test_a_taken_time_answers_409_with_the_three_nearest_open_starts(store):
    assert book(store, "m-2", key="first")[0] == 201

    status, body = book(store, "m-1", key="second")

    assert status == 409 and body["error"] == "slot_taken"
    alternatives = body["alternatives"]
    assert [a["start"][11:16] for a in alternatives] == ["13:45", "14:00", "16:00"]
    assert {a["stylist_id"] for a in alternatives} == {"sh-amy"}


def test_a_webhook_booking_takes_the_time_from_availability_and_from_members(store):
    store.post(
        booking_event(booking_id="bk-ext", stylist="sh-amy", start=f"{TUE}T15:00:00+08:00", duration=60)
    )

    assert not {"14:15", "15:00", "15:45"} & set(open_times(store))
    status, body = book(store)
    assert status == 409 and body["error"] == "slot_taken"
    assert f"{TUE}T15:00:00+08:00" not in [a["start"] for a in body["alternatives"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": f"{TUE}T20:30:00+08:00"}, "start"),  # ends after closing
        ({"start": f"{TUE}T09:00:00+08:00"}, "start"),  # before opening
        ({"start": f"{TUE}T11:00:00+08:00", "stylist_id": "sh-xiaowang"}, "start"),  # outside her hours
        ({"start": "2026-11-21T15:00:00+08:00"}, "start"),  # in the past
        ({"start": "2026-11-22T10:30:00+08:00"}, "start"),  # inside the 60 minutes' lead
        ({"start": f"{TUE}T15:10:00+08:00"}, "start"),  # off the grid
        ({"start": f"{TUE}T15:00:00"}, "start"),  # no offset
        ({"start": 1795000000}, "start"),
        ({"service": "colour"}, "stylist_id"),  # Amy does not colour
        ({"service": "perm"}, "service"),
        ({"stylist_id": "nobody"}, "stylist_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": None}, "idempotency_key"),
    ],
)
def test_refusals_name_the_field(store, change, field):
    body = {
        "service": "cut",
        "stylist_id": "sh-amy",
        "start": f"{TUE}T15:00:00+08:00",
        "idempotency_key": "k",
    }
    body.update(change)

    status, answer = call(store, "POST", f"{BASE}/bookings", body, token_of(store, "m-1"))

    assert status == 400 and field in answer["fields"], answer


def test_closed_dates_and_days_off_are_outside_hours(store):
    status, body = book(store, start=f"{TUE}T15:00:00+08:00", stylist="sh-lina")

    assert status == 400 and "working hours" in body["fields"]["start"]


def test_an_external_store_answers_booking_managed_elsewhere(store):
    body = {"service": "cut", "stylist_id": "any", "start": f"{TUE}T15:00:00+00:00", "idempotency_key": "k"}

    status, answer = call(store, "POST", f"/v1/stores/{LDN_STORE}/bookings", body, token_of(store, "m-1"))

    assert status == 409 and answer["error"] == "booking_managed_elsewhere"


def test_tokens_members_of_another_chain_and_unknown_stores(store):
    body = {
        "service": "cut",
        "stylist_id": "sh-amy",
        "start": f"{TUE}T15:00:00+08:00",
        "idempotency_key": "k",
    }

    assert call(store, "POST", f"{BASE}/bookings", body)[0] == 401
    assert call(store, "POST", f"{BASE}/bookings", body, "not-a-token")[0] == 401
    assert (
        call(store, "POST", f"{BASE}/bookings", body, token_of(store, "m-1", chain_id="other-chain"))[0]
        == 404
    )
    assert call(store, "POST", "/v1/stores/nowhere/bookings", body, token_of(store, "m-1"))[0] == 404
    assert (
        call(store, "GET", f"{BASE}/me/bookings", token=token_of(store, "m-1", chain_id="other-chain"))[0]
        == 404
    )
    assert call(store, "GET", f"{BASE}/me/bookings", token=store.chain["staff_token"])[0] == 401
    assert call(store, "GET", f"{BASE}/me/bookings")[0] == 401


def test_the_booking_system_hears_of_a_self_booking_signed_with_source_chairside(store):
    status, body = book(store)

    assert status == 201
    [posted] = [r for r in store.fakes["booking"].received if r["body"].get("source") == "chairside"]
    assert posted["signature_ok"] and posted["body"]["type"] == "booking.created"
    assert posted["body"]["booking"]["id"] == body["booking_id"]
    assert posted["body"]["booking"]["stylist"]["id"] == "sh-amy"


def test_a_booking_system_that_fails_never_loses_the_booking(store, monkeypatch):
    from chalicelib.dal.models import ChainItem

    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.booking_webhook_url = "http://127.0.0.1:9/unreachable"
    chain.save()

    status, body = book(store)

    assert status == 201
    assert "15:00" not in open_times(store)


# --- her bookings: list, move, cancel --------------------------------------------------------------------
def test_my_bookings_lists_hers_at_this_store_upcoming_and_past(store):
    mine = book(store, key="a")[1]
    book(store, "m-2", key="b", start=f"{TUE}T17:00:00+08:00")

    status, body = call(store, "GET", f"{BASE}/me/bookings", token=token_of(store, "m-1"))

    assert status == 200
    [item] = body["items"]
    assert item["booking_id"] == mine["booking_id"] and item["status"] == "booked"
    assert item["can_cancel"] is True and item["can_reschedule"] is True
    assert item["stylist"] == {"id": "sh-amy", "name": "Amy"} and item["service"]["code"] == "cut"
    store.clock.set(datetime.fromisoformat(f"{TUE}T18:00:00+08:00"))
    [past] = call(store, "GET", f"{BASE}/me/bookings", token=token_of(store, "m-1"))[1]["items"]
    assert past["can_cancel"] is False and past["can_reschedule"] is False


def test_a_move_frees_the_old_time_and_replans_the_journey(store):
    booking_id = book(store)[1]["booking_id"]
    path = f"{BASE}/me/bookings/{booking_id}/reschedule"

    status, body = call(store, "POST", path, {"start": f"{TUE}T17:00:00+08:00"}, token_of(store, "m-1"))

    assert status == 200, body
    assert body["start"] == f"{TUE}T17:00:00+08:00" and body["status"] == "booked"
    assert body["journey"]
    times = open_times(store)
    assert "15:00" in times and "17:00" not in times
    again = call(store, "POST", path, {"start": f"{TUE}T17:00:00+08:00"}, token_of(store, "m-1"))
    assert again[0] == 200 and again[1]["start"] == body["start"]  # a retry moves nothing
    day = store.staff("GET", f"{BASE}/bookings?date={TUE}")[1]
    [row] = [b for s in day["stylists"] for b in s["bookings"]]
    assert row["start"] == f"{TUE}T17:00:00+08:00"


def test_her_texts_name_the_services_length_and_the_calendar_still_holds_its_buffer(store):
    booking_id = book(store)[1]["booking_id"]  # a 45-minute cut with a 15-minute buffer
    store.pump()

    [confirmation] = [text for _, text in store.sms() if "预约已确认" in text or "is confirmed" in text]
    assert "45" in confirmation and "60" not in confirmation
    path = f"{BASE}/me/bookings/{booking_id}/reschedule"
    assert call(store, "POST", path, {"start": f"{TUE}T17:00:00+08:00"}, token_of(store, "m-1"))[0] == 200
    times = open_times(store)
    assert (
        "17:45" not in times and "18:00" in times
    )  # the moved booking still holds 17:45-18:00 for the buffer


def test_a_move_to_another_stylist_and_to_a_taken_time(store):
    booking_id = book(store)[1]["booking_id"]
    book(store, "m-2", key="other", start=f"{TUE}T17:00:00+08:00")
    path = f"{BASE}/me/bookings/{booking_id}/reschedule"

    taken = call(store, "POST", path, {"start": f"{TUE}T17:00:00+08:00"}, token_of(store, "m-1"))
    moved = call(
        store,
        "POST",
        path,
        {"start": f"{TUE}T17:00:00+08:00", "stylist_id": "sh-xiaowang"},
        token_of(store, "m-1"),
    )

    assert taken[0] == 409 and taken[1]["error"] == "slot_taken" and taken[1]["alternatives"]
    assert moved[0] == 200 and moved[1]["stylist"]["id"] == "sh-xiaowang"
    assert "15:00" in open_times(store)


def test_cancel_frees_the_time_and_is_idempotent(store):
    booking_id = book(store)[1]["booking_id"]
    path = f"{BASE}/me/bookings/{booking_id}/cancel"

    first = call(store, "POST", path, {"reason": "生病了"}, token_of(store, "m-1"))
    second = call(store, "POST", path, {}, token_of(store, "m-1"))

    assert first[0] == 200 and first[1]["status"] == "cancelled"
    assert second[0] == 200 and second[1]["status"] == "cancelled"
    assert "15:00" in open_times(store)
    cancels = [
        r["body"] for r in store.fakes["booking"].received if r["body"].get("type") == "booking.cancelled"
    ]
    assert len(cancels) == 1 and cancels[0]["source"] == "chairside" and cancels[0]["reason"] == "生病了"


def test_inside_the_cancel_window_the_member_is_asked_to_call(store):
    booking_id = book(store)[1]["booking_id"]
    store.clock.set(datetime.fromisoformat(f"{TUE}T13:30:00+08:00"))  # 90 minutes before; the window is 120

    cancel = call(store, "POST", f"{BASE}/me/bookings/{booking_id}/cancel", {}, token_of(store, "m-1"))
    move = call(
        store,
        "POST",
        f"{BASE}/me/bookings/{booking_id}/reschedule",
        {"start": f"{TUE}T18:00:00+08:00"},
        token_of(store, "m-1"),
    )

    from chalicelib.dal.models import StoreItem

    phone = StoreItem.get(*StoreItem.key(SH_STORE)).phone
    for status, body in (cancel, move):
        assert status == 409 and body["error"] == "too_late" and body["store_phone"] == phone != ""


def test_another_members_booking_is_not_found(store):
    booking_id = book(store)[1]["booking_id"]

    for action, body in (("cancel", {}), ("reschedule", {"start": f"{TUE}T18:00:00+08:00"})):
        status, _ = call(
            store, "POST", f"{BASE}/me/bookings/{booking_id}/{action}", body, token_of(store, "m-2")
        )
        assert status == 404
    assert call(store, "POST", f"{BASE}/me/bookings/nope/cancel", {}, token_of(store, "m-1"))[0] == 404
    assert call(store, "GET", f"{BASE}/me/bookings", token=token_of(store, "m-2"))[1]["items"] == []


def test_a_manage_link_acts_only_on_its_booking(store):
    first = book(store, key="a")[1]["booking_id"]
    second = book(store, key="b", start=f"{TUE}T17:00:00+08:00")[1]["booking_id"]
    link = token_of(store, "m-1", booking_id=second)

    assert call(store, "POST", f"{BASE}/me/bookings/{first}/cancel", {}, link)[0] == 404
    assert [i["booking_id"] for i in call(store, "GET", f"{BASE}/me/bookings", token=link)[1]["items"]] == [
        second
    ]
    assert call(store, "POST", f"{BASE}/me/bookings/{second}/cancel", {}, link)[0] == 200


# --- staff, for a member ---------------------------------------------------------------------------------
def test_front_desk_books_moves_and_cancels_for_a_member(store):
    desk = store.chain["role_tokens"]["front_desk"]
    body = {
        "service": "cut",
        "stylist_id": "sh-amy",
        "start": "2026-11-22T10:30:00+08:00",  # a walk-in: inside the members' lead time
        "idempotency_key": "desk-1",
        "member_id": "m-2",
    }

    status, booked = call(store, "POST", f"{BASE}/bookings", body, desk)

    assert status == 201, booked
    booking_id = booked["booking_id"]
    assert (
        call(store, "GET", f"{BASE}/me/bookings", token=token_of(store, "m-2"))[1]["items"][0]["booking_id"]
        == booking_id
    )
    moved = store.staff(
        "POST", f"{BASE}/bookings/{booking_id}/reschedule", {"start": "2026-11-22T11:00:00+08:00"}, desk
    )
    assert moved[0] == 200 and moved[1]["start"] == "2026-11-22T11:00:00+08:00"
    cancelled = store.staff(
        "POST", f"{BASE}/bookings/{booking_id}/cancel", {}, desk
    )  # inside the window: staff may
    assert cancelled[0] == 200 and cancelled[1]["status"] == "cancelled"


def test_staff_booking_needs_a_member_of_the_chain_and_the_role(store):
    body = {
        "service": "cut",
        "stylist_id": "sh-amy",
        "start": f"{TUE}T15:00:00+08:00",
        "idempotency_key": "s",
    }
    desk = store.chain["role_tokens"]["front_desk"]

    assert call(store, "POST", f"{BASE}/bookings", body, desk)[1]["fields"] == {
        "member_id": "required with a staff token"
    }
    missing = call(store, "POST", f"{BASE}/bookings", {**body, "member_id": "ghost"}, desk)
    assert missing[0] == 400 and "member_id" in missing[1]["fields"]
    stylist = call(
        store, "POST", f"{BASE}/bookings", {**body, "member_id": "m-1"}, store.chain["role_tokens"]["stylist"]
    )
    assert stylist[0] == 403
    foreign = call(
        store,
        "POST",
        f"{BASE}/bookings",
        {**body, "member_id": "m-1"},
        store.chain["store_tokens"][LDN_STORE],
    )
    assert foreign[0] == 404


def test_member_tokens_are_refused_on_staff_move_and_cancel(store):
    booking_id = book(store)[1]["booking_id"]

    status, _ = call(store, "POST", f"{BASE}/bookings/{booking_id}/cancel", {}, token_of(store, "m-1"))

    assert status == 401


def test_a_retry_after_a_crash_between_the_commit_and_the_record_gets_the_first_answer(store, monkeypatch):
    from chalicelib.dal.bookings import BookingRepository

    real = BookingRepository.record_event
    crashed = []

    def crash_once(self, *args, **kwargs):
        if not crashed:
            crashed.append(True)
            raise ConnectionError("the process died after the booking's commit")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BookingRepository, "record_event", crash_once)

    first = book(store, key="crash")
    retry = book(store, key="crash")

    assert first[0] == 503 and crashed
    assert retry[0] == 201, retry
    assert [s["kind"] for s in retry[1]["journey"]] and retry[1]["start"] == f"{TUE}T15:00:00+08:00"
    assert store.staff("GET", f"{BASE}/bookings?date={TUE}")[1]["count"] == 1
    again = book(store, key="crash")
    assert again == retry  # and from now on the recorded answer
    store.pump()
    assert store.sent_kinds(SH_STORE, "m-1").count("confirmation") == 1


def test_a_move_is_told_to_the_booking_system(store):
    booking_id = book(store)[1]["booking_id"]

    call(
        store,
        "POST",
        f"{BASE}/me/bookings/{booking_id}/reschedule",
        {"start": f"{TUE}T17:00:00+08:00"},
        token_of(store, "m-1"),
    )

    [moved] = [
        r["body"] for r in store.fakes["booking"].received if r["body"].get("type") == "booking.rescheduled"
    ]
    assert moved["source"] == "chairside" and moved["booking"]["start"] == f"{TUE}T17:00:00+08:00"


def test_a_manage_link_cannot_make_new_bookings(store):
    second = book(store, key="b")[1]["booking_id"]
    link = token_of(store, "m-1", booking_id=second)
    body = {
        "service": "cut",
        "stylist_id": "sh-amy",
        "start": f"{TUE}T17:00:00+08:00",
        "idempotency_key": "n",
    }

    status, answer = call(store, "POST", f"{BASE}/bookings", body, link)

    assert status == 403 and answer["error"] == "forbidden"


def test_the_services_other_parts_call_open_starts_and_book(store):
    """What chat and the waitlist call (docs/design/self-booking.md): open starts of a catalogue, and book."""
    from datetime import date

    from chalicelib.catalog.store_catalog import StoreCatalog
    from chalicelib.dal.models import StoreItem
    from chalicelib.services.member_tokens import Member

    catalog = StoreCatalog.of(StoreItem.get(*StoreItem.key(SH_STORE)))
    slots = store.container.availability.open_starts(catalog, "cut", "any", date(2026, 11, 24), 2)

    assert {s.start.date().isoformat() for s in slots} == {"2026-11-24", "2026-11-25"}
    assert slots[0].start.isoformat() == "2026-11-24T10:00:00+08:00" and slots[0].stylist_id == "sh-amy"
    first = slots[0]
    answer = store.container.self_booking.book(
        Member("demo-chain", "m-1"),
        SH_STORE,
        {"service": "cut", "stylist_id": first.stylist_id, "start": first.start, "idempotency_key": "chat-1"},
    )
    assert answer["status"] == "booked" and answer["start"] == first.start.isoformat()
    again = store.container.availability.open_starts(catalog, "cut", first.stylist_id, date(2026, 11, 24), 1)
    assert first.start not in [s.start for s in again]
    assert store.container.availability.open_starts(catalog, "perm", "any", date(2026, 11, 24), 1) == []
