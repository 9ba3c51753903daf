"""The webhook's contract at its edges: signatures, bad input, overlaps."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.builders import SH_STORE, booking_event


def test_missing_bad_or_expired_signatures_get_401_and_change_nothing(harness):
    event = booking_event()
    assert harness.post(event, secret="wrong-secret")[0] == 401
    assert harness.post(event, timestamp=int(time.time()) - 301)[0] == 401
    assert harness.post(event, timestamp=int(time.time()) + 301)[0] == 401
    assert harness.post(event, chain_id="no-such-chain")[0] == 401
    assert harness.post(event, headers={"X-Chairside-Signature": "v1=00"})[0] == 401
    assert harness.post(event, headers={"X-Chairside-Signature": "v2=abc"})[0] == 401
    assert harness.post(event, headers={"X-Chairside-Timestamp": "yesterday"})[0] == 401
    assert harness.schedules() == []
    harness.pump()
    assert harness.sms() == []


def test_a_signature_for_one_body_does_not_authorise_another(harness):
    from chalicelib.services.signatures import sign

    ts = str(int(time.time()))
    good = json.dumps(booking_event(booking_id="bk-a")).encode()
    forged = json.dumps(booking_event(booking_id="bk-b")).encode()
    response = harness.client.http.post(
        "/v1/webhooks/bookings",
        body=forged,
        headers={
            "Content-Type": "application/json",
            "X-Chairside-Chain": "demo-chain",
            "X-Chairside-Timestamp": ts,
            "X-Chairside-Signature": sign("whsec-test", ts, good),
        },
    )
    assert response.status_code == 401


def test_the_signature_window_uses_the_real_clock_even_when_the_domain_clock_moves(harness):
    harness.clock.advance(days=3)
    assert harness.post(booking_event(start="2026-12-05T15:00:00+08:00"))[0] == 202


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda e: e.pop("event_id"), "event_id"),
        (lambda e: e.update(type="booking.exploded"), "type"),
        (lambda e: e.update(occurred_at="2026-11-22T10:00:00"), "occurred_at"),
        (lambda e: e["booking"].update(start="2026-11-25 15:00"), "booking.start"),
        (lambda e: e["booking"].update(start="2026-11-25T15:00:00"), "booking.start"),
        (lambda e: e["booking"].update(duration_minutes=0), "booking.duration_minutes"),
        (lambda e: e["booking"].update(duration_minutes="ninety"), "booking.duration_minutes"),
        (lambda e: e["booking"]["member"].update(phone="12345"), "booking.member.phone"),
        (lambda e: e["booking"]["member"].update(email="not-an-email"), "booking.member.email"),
        (lambda e: e["booking"]["member"].update(birthday="1990-13-45"), "booking.member.birthday"),
        (lambda e: e["booking"]["service"].pop("category"), "booking.service.category"),
        (lambda e: e["booking"]["stylist"].update(id=""), "booking.stylist.id"),
        (lambda e: e["booking"]["price"].update(amount="lots"), "booking.price.amount"),
        (lambda e: e["booking"].update(store_id="no-such-store"), "booking.store_id"),
        (lambda e: e.update(booking=[]), "booking"),
    ],
)
def test_malformed_events_get_400_naming_the_field(harness, mutate, field):
    event = booking_event()
    mutate(event)
    status, body = harness.post(event)
    assert status == 400
    assert field in body["fields"], body
    assert harness.schedules() == []


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"a":' * 5000 + b"1" + b"}" * 5000]
)
def test_bodies_that_are_not_a_json_object_get_400(harness, raw):
    status, body = harness.post(raw)
    assert status == 400 and "body" in body["fields"]


def test_an_oversized_body_gets_413(harness):
    event = booking_event()
    event["booking"]["notes"] = "x" * 300_000
    assert harness.post(event)[0] == 413


def test_overlapping_booking_for_the_same_stylist_gets_409(harness):
    assert harness.post(booking_event(booking_id="bk-a"))[0] == 202  # 15:00-16:30

    status, body = harness.post(
        booking_event(booking_id="bk-b", start="2026-11-25T16:00:00+08:00", member_id="m-2")
    )

    assert status == 409 and "booking.stylist.id" in body["fields"]
    assert harness.post(booking_event(booking_id="bk-c", start="2026-11-25T16:30:00+08:00"))[0] == 202
    assert (
        harness.post(booking_event(booking_id="bk-d", start="2026-11-25T14:00:00+08:00", duration=60))[0]
        == 202
    )
    assert harness.post(booking_event(booking_id="bk-e", stylist="sh-amy"))[0] == 202


def test_a_cancelled_booking_frees_its_time_and_a_reschedule_moves_it(harness):
    harness.post(booking_event(booking_id="bk-a"))
    harness.post(
        booking_event(
            booking_id="bk-a",
            type="booking.rescheduled",
            start="2026-11-25T18:00:00+08:00",
            occurred_at="2026-11-22T11:00:00+08:00",
        )
    )
    assert harness.post(booking_event(booking_id="bk-b", member_id="m-2"))[0] == 202  # old time is free
    assert harness.post(booking_event(booking_id="bk-c", start="2026-11-25T18:30:00+08:00"))[0] == 409

    harness.post(
        booking_event(
            booking_id="bk-a",
            type="booking.cancelled",
            start="2026-11-25T18:00:00+08:00",
            occurred_at="2026-11-22T12:00:00+08:00",
        )
    )
    assert harness.post(booking_event(booking_id="bk-c", start="2026-11-25T18:30:00+08:00"))[0] == 202


def test_a_completed_visit_lets_its_time_go_without_a_calendar_write_and_a_later_claim_takes_it(harness, aws):
    from chalicelib.dal.models import BookingItem

    harness.post(booking_event(booking_id="bk-a"))
    harness.post(booking_event(booking_id="bk-live", start="2026-11-25T17:00:00+08:00", member_id="m-3"))
    harness.post(
        booking_event(booking_id="bk-a", type="booking.completed", occurred_at="2026-11-22T12:00:00+08:00")
    )
    calendar = aws.client("dynamodb").get_item(
        TableName=BookingItem.Meta.table_name,
        ConsistentRead=True,
        Key={"pk": {"S": "STYLIST#demo-chain#sh-xiaowang"}, "sk": {"S": "DAY#2026-11-25"}},
    )["Item"]
    assert calendar["s0700"] == {"S": "bk-a"}  # left as it was (15:00 Shanghai is 07:00 UTC)

    # bk-b overlaps both: bk-a's time is free (taken over), bk-live's is not -- refused, and nothing taken
    assert (
        harness.post(booking_event(booking_id="bk-b", member_id="m-2", start="2026-11-25T16:00:00+08:00"))[0]
        == 409
    )
    assert harness.post(booking_event(booking_id="bk-c", member_id="m-2"))[0] == 202  # bk-a's time alone
    calendar = aws.client("dynamodb").get_item(
        TableName=BookingItem.Meta.table_name,
        ConsistentRead=True,
        Key={"pk": {"S": "STYLIST#demo-chain#sh-xiaowang"}, "sk": {"S": "DAY#2026-11-25"}},
    )["Item"]
    assert calendar["s0700"] == {"S": "bk-c"} and calendar["s0900"] == {"S": "bk-live"}
    assert harness.post(booking_event(booking_id="bk-d", member_id="m-4"))[0] == 409  # bk-c holds it now


def test_a_reschedule_onto_a_taken_time_is_refused_and_the_booking_keeps_its_slot(harness):
    harness.post(booking_event(booking_id="bk-a"))
    harness.post(booking_event(booking_id="bk-b", start="2026-11-25T17:00:00+08:00", member_id="m-2"))

    status, _ = harness.post(
        booking_event(
            booking_id="bk-a",
            type="booking.rescheduled",
            start="2026-11-25T17:30:00+08:00",
            occurred_at="2026-11-22T11:00:00+08:00",
        )
    )

    assert status == 409
    assert harness.post(booking_event(booking_id="bk-z", start="2026-11-25T15:30:00+08:00"))[0] == 409


def test_the_overlap_guard_is_the_write_itself_not_a_prior_read(harness, monkeypatch):
    """Two racing requests both read "free"; only the transaction's conditions can stop the second.
    (moto does not serialise concurrent transactions, so the race is staged: every read sees nothing.)"""
    from chalicelib.dal.bookings import BookingRepository

    assert harness.post(booking_event(booking_id="bk-a"))[0] == 202
    monkeypatch.setattr(BookingRepository, "booking", lambda self, *a, **k: None)

    status, body = harness.post(
        booking_event(booking_id="bk-b", member_id="m-2", start="2026-11-25T15:25:00+08:00")
    )

    assert status == 409 and body["error"] == "stylist_unavailable"


def test_transient_channel_failures_are_retried_and_sent_once(harness):
    harness.faults.add("sms", transient=2)
    harness.post(booking_event())
    harness.pump()

    messages = harness.messages(SH_STORE, "m-1")
    assert [(m["kind"], m["status"]) for m in messages] == [("confirmation", "sent")]
    assert len(harness.sms()) == 1


def test_a_permanent_sms_failure_falls_back_to_email(harness):
    harness.faults.add("sms", permanent=1)
    harness.post(booking_event(email="li@example.com"))
    harness.pump()

    [message] = harness.messages(SH_STORE, "m-1")
    assert message["status"] == "sent" and message["channel"] == "email"
    assert harness.sms() == []


def test_when_every_channel_fails_for_good_the_step_goes_to_the_dlq_with_the_reason(harness):
    harness.faults.add("sms", permanent=1)
    harness.post(booking_event())
    harness.pump()

    [message] = harness.messages(SH_STORE, "m-1")
    assert message["status"] == "failed" and "permanent" in message["error"]
    [dead] = harness.dlq()
    assert "permanent" in dead["MessageAttributes"]["failure_reason"]["StringValue"]
    assert json.loads(dead["Body"])["kind"] == "confirmation"


def test_transient_failures_past_the_last_attempt_are_dead_lettered_not_lost(harness):
    harness.faults.add("sms", transient=50)
    harness.post(booking_event())
    harness.pump(rounds=200)

    [message] = harness.messages(SH_STORE, "m-1")
    assert message["status"] == "failed" and "gave up after 5 attempts" in message["error"]
    assert len(harness.dlq()) == 1


def test_staff_of_another_chain_or_without_a_token_cannot_read_messages(harness):
    from datetime import UTC, datetime

    from chalicelib.services.auth import issue_token

    url = f"/v1/stores/{SH_STORE}/members/m-1/messages"
    assert harness.client.http.get(url).status_code == 401
    assert harness.client.http.get(url, headers={"Authorization": "Bearer junk"}).status_code == 401
    other = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="x",
        chain_id="other-chain",
        role="chain_admin",
        store_ids=[],
        now=datetime.now(UTC),
    )
    assert harness.client.http.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    ldn_only = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="y",
        chain_id="demo-chain",
        role="store_manager",
        store_ids=["ldn-soho"],
        now=datetime.now(UTC),
    )
    assert harness.client.http.get(url, headers={"Authorization": f"Bearer {ldn_only}"}).status_code == 404


def test_messages_page_newest_first_by_cursor(harness):
    harness.post(booking_event())
    harness.advance_to("2026-11-25T13:00:00+08:00")
    token = {"Authorization": f"Bearer {harness.chain['staff_token']}"}
    url = f"/v1/stores/{SH_STORE}/members/m-1/messages?limit=2"

    first = json.loads(harness.client.http.get(url, headers=token).body)
    second = json.loads(harness.client.http.get(url + "&cursor=" + first["next_cursor"], headers=token).body)

    kinds = [m["kind"] for m in first["items"] + second["items"]]
    assert kinds == ["reminder_2h", "reminder_day_before", "confirmation"]
    assert second["next_cursor"] is None
    assert harness.client.http.get(url + "&cursor=garbage", headers=token).status_code == 400
    assert harness.client.http.get(url.replace("limit=2", "limit=0"), headers=token).status_code == 400
