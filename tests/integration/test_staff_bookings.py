"""The staff console's booking APIs: a store's day by stylist (gsi2, no Scan), a booking's timeline, and
staff marking a no-show or a check-in exactly as the booking system's webhook would."""

from __future__ import annotations

from datetime import datetime

from tests.support.builders import LDN_STORE, SH_STORE, booking_event

DAY = f"/v1/stores/{SH_STORE}/bookings"


def _day(harness, date: str | None = None) -> dict:
    status, body = harness.staff("GET", DAY + (f"?date={date}" if date else ""))
    assert status == 200, body
    return body


def _ids(day: dict) -> list[str]:
    return [b["id"] for s in day["stylists"] for b in s["bookings"]]


def test_the_day_lists_bookings_by_stylist_on_the_store_local_date(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-22T15:00:00+08:00"))
    harness.post(
        booking_event(booking_id="bk-2", start="2026-11-22T11:00:00+08:00", stylist="sh-amy", member_id="m-2")
    )
    # 00:30 on the 23rd in Shanghai is still the 22nd in UTC: it belongs to the 23rd of the store.
    harness.post(booking_event(booking_id="bk-3", start="2026-11-23T00:30:00+08:00", member_id="m-3"))

    today = _day(harness)  # no date: the store's today (the clock says 2026-11-22 10:00 in Shanghai)

    assert today["date"] == "2026-11-22" and today["count"] == 2
    rows = {s["id"]: [b["id"] for b in s["bookings"]] for s in today["stylists"]}
    assert rows["sh-xiaowang"] == ["bk-1"] and rows["sh-amy"] == ["bk-2"]
    assert _ids(_day(harness, "2026-11-23")) == ["bk-3"]


def test_a_rescheduled_booking_moves_to_its_new_day(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-22T15:00:00+08:00"))
    harness.post(
        booking_event(
            type="booking.rescheduled",
            booking_id="bk-1",
            start="2026-11-24T15:00:00+08:00",
            occurred_at="2026-11-22T10:05:00+08:00",
        )
    )

    assert _ids(_day(harness, "2026-11-22")) == []
    [booking] = [b for s in _day(harness, "2026-11-24")["stylists"] for b in s["bookings"]]
    assert booking["id"] == "bk-1" and booking["start"] == "2026-11-24T15:00:00+08:00"


def test_bad_dates_and_foreign_stores_are_refused(harness):
    for bad in ("2026-13-01", "tomorrow", "2026-1-1"):
        status, body = harness.staff("GET", f"{DAY}?date={bad}")
        assert status == 400 and "date" in body["fields"], body
    token = harness.chain["store_tokens"][LDN_STORE]
    status, _ = harness.staff("GET", DAY, token=token)
    assert status == 404


def test_marking_a_no_show_twice_sends_one_nudge_and_tells_the_booking_system_once(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-22T11:00:00+08:00"))
    harness.pump()
    harness.clock.set(
        datetime.fromisoformat("2026-11-22T11:20:00+08:00")
    )  # before the automatic nudge (+30m)

    first = harness.staff("POST", f"{DAY}/bk-1/status", {"status": "no_show"})
    second = harness.staff("POST", f"{DAY}/bk-1/status", {"status": "no_show"})
    harness.pump()

    assert first[0] == 200 and first[1]["changed"] is True and first[1]["booking"]["status"] == "no_show"
    assert first[1]["booking_system"]["result"] == "sent"
    assert second[0] == 200 and second[1]["changed"] is False
    assert harness.sent_kinds(SH_STORE, "m-1").count("no_show_followup") == 1
    marks = [r["body"] for r in harness.fakes["booking"].received if r["body"]["type"].startswith("staff.")]
    assert [m["type"] for m in marks] == ["staff.booking_no_show"] and marks[0]["booking_id"] == "bk-1"
    # The booking system's own no-show webhook afterwards changes nothing and sends nothing more.
    harness.post(
        booking_event(
            type="booking.no_show",
            booking_id="bk-1",
            start="2026-11-22T11:00:00+08:00",
            occurred_at="2026-11-22T11:25:00+08:00",
        )
    )
    harness.pump()
    assert harness.sent_kinds(SH_STORE, "m-1").count("no_show_followup") == 1


def test_a_check_in_cancels_the_no_show_nudge(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-22T11:00:00+08:00"))
    status, body = harness.staff("POST", f"{DAY}/bk-1/status", {"status": "checked_in"})
    assert status == 200 and body["booking"]["status"] == "checked_in"

    harness.advance_to("2026-11-22T12:00:00+08:00")

    assert "no_show_followup" not in harness.sent_kinds(SH_STORE, "m-1")
    _, timeline = harness.staff("GET", f"{DAY}/bk-1")
    assert all(step["kind"] != "no_show_followup" for step in timeline["planned"])


def test_the_timeline_shows_what_was_sent_and_what_is_planned(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-25T15:00:00+08:00"))
    harness.pump()

    status, body = harness.staff("GET", f"{DAY}/bk-1")

    assert status == 200 and body["booking"]["id"] == "bk-1"
    assert [m["kind"] for m in body["sent"]] == ["confirmation"]
    assert {"reminder_day_before", "reminder_2h", "no_show_followup"} <= {p["kind"] for p in body["planned"]}
    assert harness.staff("GET", f"{DAY}/nope")[0] == 404


def test_marks_are_refused_with_the_field_named_and_by_role(harness):
    harness.post(booking_event(booking_id="bk-1", start="2026-11-22T15:00:00+08:00"))
    status, body = harness.staff("POST", f"{DAY}/bk-1/status", {"status": "completed"})
    assert status == 400 and "status" in body["fields"]
    stylist = harness.chain["role_tokens"]["stylist"]
    assert harness.staff("POST", f"{DAY}/bk-1/status", {"status": "no_show"}, token=stylist)[0] == 403
    assert harness.staff("GET", f"{DAY}/bk-1", token=stylist)[0] == 200
    harness.post(
        booking_event(
            type="booking.cancelled",
            booking_id="bk-1",
            start="2026-11-22T15:00:00+08:00",
            occurred_at="2026-11-22T10:01:00+08:00",
        )
    )
    status, body = harness.staff("POST", f"{DAY}/bk-1/status", {"status": "no_show"})
    assert status == 409 and "status" in body["fields"]
