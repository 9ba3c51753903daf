"""An owner's reports (issue 17) on mock_aws: counters written with the events, once each, read per store-day."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.services.auth import issue_token
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

REPORTS = "/v1/chains/demo-chain/reports"
WEEK = "from=2026-11-22&to=2026-11-28"


def message_event(text: str, member_id: str = "m-1", store_id: str = SH_STORE) -> dict:
    return {
        "event_id": f"evt-{uuid.uuid4().hex[:8]}",
        "store_id": store_id,
        "member_id": member_id,
        "channel": "sms",
        "message": {"id": f"msg-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
        "sent_at": "2026-11-22T10:05:00+08:00",
    }


def report(harness, query: str = WEEK, token: str | None = None) -> tuple[int, dict]:
    return harness.staff("GET", f"{REPORTS}?{query}", token=token)


def row_of(body: dict, key: str) -> dict:
    [found] = [r for r in body["rows"] if r["key"] == key]
    return found


def outbound(harness, store_id: str, member_id: str) -> list[dict]:
    """The store's messages to her, from the message history (what the report must agree with)."""
    return [m for m in harness.messages(store_id, member_id) if m["direction"] == "out"]


def test_a_booking_its_messages_and_its_no_show_count_once_however_often_they_arrive(harness):
    created = booking_event(event_id="evt-r1")
    harness.post(created)
    harness.post(created)  # the booking system's retry
    harness.advance_to("2026-11-25T15:30:00+08:00")
    no_show = booking_event(
        event_id="evt-r2", type="booking.no_show", occurred_at="2026-11-25T16:00:00+08:00"
    )
    harness.post(no_show)
    harness.post(no_show)
    harness.pump()

    status, body = report(harness)

    assert status == 200, body
    assert body["chain_id"] == "demo-chain" and body["group_by"] == "store" and body["store"] is None
    assert (body["from"], body["to"]) == ("2026-11-22", "2026-11-28")
    sh = row_of(body, SH_STORE)
    assert sh["label"] and sh["bookings"] == 1 and sh["no_shows"] == 1 and sh["no_show_rate"] == 1.0
    assert sh["no_show_rate_confirmed"] is None and sh["no_show_rate_unconfirmed"] == 1.0
    sent = [
        m
        for m in outbound(harness, SH_STORE, "m-1")
        if m["status"] in ("sent", "delivered", "read", "failed")
    ]
    assert sent and sh["messages_sent"] == len(sent)
    assert sh["messages_failed"] == sum(m["status"] == "failed" for m in sent)
    assert row_of(body, LDN_STORE)["messages_sent"] == 0  # every store in scope has a row
    assert body["totals"]["bookings"] == 1 and body["totals"]["messages_sent"] == len(sent)
    assert [r["key"] for r in body["rows"]] == sorted(r["key"] for r in body["rows"])


def test_a_confirmed_by_reply_member_is_compared_with_the_others(harness):
    harness.post(booking_event(event_id="evt-c1", booking_id="bk-c", member_id="m-c"))
    harness.post(
        booking_event(
            event_id="evt-u1",
            booking_id="bk-u",
            member_id="m-u",
            stylist="sh-xiaoli",
            start="2026-11-25T17:00:00+08:00",
        )
    )
    harness.pump()
    status, body = harness.post_message(message_event("1", member_id="m-c"))
    assert status == 200 and body["intent"] == "confirm"
    harness.advance_to("2026-11-25T14:55:00+08:00")
    harness.post(
        booking_event(
            event_id="evt-c2",
            booking_id="bk-c",
            member_id="m-c",
            type="booking.checked_in",
            occurred_at="2026-11-25T14:55:00+08:00",
        )
    )
    harness.advance_to("2026-11-25T18:30:00+08:00")  # bk-u's journey marks her a no-show at 17:30
    harness.post(
        booking_event(
            event_id="evt-u2",
            booking_id="bk-u",
            member_id="m-u",
            stylist="sh-xiaoli",
            start="2026-11-25T17:00:00+08:00",
            type="booking.no_show",
            occurred_at="2026-11-25T18:30:00+08:00",
        )
    )

    _, body = report(harness)
    sh = row_of(body, SH_STORE)
    assert sh["bookings"] == 2 and sh["no_shows"] == 1
    assert sh["no_show_rate_confirmed"] == 0.0 and sh["no_show_rate_unconfirmed"] == 1.0
    assert sh["replies"] == 1

    _, by_stylist = report(harness, WEEK + "&group_by=stylist")
    assert [r["key"] for r in by_stylist["rows"]] == ["sh-xiaoli", "sh-xiaowang"]
    # named as in the store's catalogue; a stylist it does not list (the booking system's) keeps her id
    assert [r["label"] for r in by_stylist["rows"]] == ["sh-xiaoli", "小王"]
    assert row_of(by_stylist, "sh-xiaoli")["no_shows"] == 1
    assert row_of(by_stylist, "sh-xiaowang")["no_shows"] == 0

    _, by_week = report(harness, "from=2026-11-16&to=2026-12-06&group_by=week")
    # weeks by their Monday: the confirmations and her reply on Sunday 22nd, the visits on Wednesday 25th
    assert [r["key"] for r in by_week["rows"]] == ["2026-11-16", "2026-11-23"]
    sunday, wednesday = by_week["rows"]
    assert sunday["messages_sent"] >= 2 and sunday["replies"] == 1 and sunday["bookings"] == 0
    assert wednesday["bookings"] == 2 and wednesday["no_shows"] == 1
    assert by_week["totals"]["bookings"] == 2


def test_receipts_count_delivered_and_read_once_and_a_late_failure_not_at_all(harness):
    container = harness.container
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    message = container.messages.reply_message(
        store_id=SH_STORE,
        member_id="m-9",
        chain_id="demo-chain",
        kind="answer",
        text="您好，已为您预约 15:00。",
        message_id="rep-1",
        sorts_at="2026-11-23T02:00:00.000000Z",
        sender=None,
        now=at,
    )
    container.messages.claim(message, lease_until=2_000_000_000, wall_now=1_900_000_000)
    container.messages.finish(message, status="sent", at=at, channel="sms", provider_message_id="sns-r1")

    def receipt(status: str, minutes: int) -> ProviderReceipt:
        return ProviderReceipt("sns", "sns-r1", status, at + timedelta(minutes=minutes))

    outcomes = [
        container.receipts.apply(receipt(s, m))
        for s, m in [("delivered", 1), ("delivered", 1), ("read", 5), ("read", 5), ("failed", 9)]
    ]

    assert outcomes == ["applied", "duplicate", "applied", "duplicate", "not_advanced"]
    _, body = report(harness, WEEK + f"&store={SH_STORE}&group_by=channel")
    [sms] = body["rows"]
    assert sms["key"] == "sms" and sms["label"] == "sms"
    assert (
        sms["messages_sent"],
        sms["messages_delivered"],
        sms["messages_read"],
        sms["messages_failed"],
    ) == (1, 1, 1, 0)
    assert sms["delivery_rate"] == 1.0 and sms["read_rate"] == 1.0 and sms["failure_rate"] == 0.0
    assert body["store"] == SH_STORE


def test_a_read_receipt_that_comes_first_counts_the_message_delivered_too(harness):
    container = harness.container
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    message = container.messages.reply_message(
        store_id=SH_STORE,
        member_id="m-8",
        chain_id="demo-chain",
        kind="answer",
        text="好的",
        message_id="rep-2",
        sorts_at="2026-11-23T02:00:00.000000Z",
        sender=None,
        now=at,
    )
    container.messages.claim(message, lease_until=2_000_000_000, wall_now=1_900_000_000)
    container.messages.finish(
        message, status="sent", at=at, channel="wechat", provider="wechat", provider_message_id="wx-1"
    )
    container.receipts.apply(ProviderReceipt("wechat", "wx-1", "read", at + timedelta(minutes=2)))
    container.receipts.apply(ProviderReceipt("wechat", "wx-1", "delivered", at + timedelta(minutes=1)))

    _, body = report(harness, WEEK + "&group_by=channel")
    wechat = row_of(body, "wechat")
    assert (wechat["messages_delivered"], wechat["messages_read"]) == (1, 1)


def test_a_complaint_an_opt_out_and_the_staff_answer_count_once_each(harness):
    harness.post(booking_event())
    status, body = harness.post_message(message_event("烫坏了，我要投诉！"))
    assert body["intent"] == "complaint"
    harness.post_message(message_event("TD", member_id="m-2"))
    harness.clock.set(harness.clock.now() + timedelta(minutes=7))
    for client_id in ("c-1", "c-2"):  # a second answer to the same message is not a first response
        status, _ = harness.staff(
            "POST",
            f"/v1/stores/{SH_STORE}/conversations/m-1/messages",
            {"text": "非常抱歉", "client_message_id": client_id},
        )
        assert status == 200

    _, body = report(harness)
    sh = row_of(body, SH_STORE)
    assert sh["complaints"] == 1 and sh["opt_outs"] == 1
    assert sh["replies"] == 2  # two members wrote
    # 7 minutes, read as the upper edge of its bucket (at most 19 % high)
    assert 420 <= sh["first_response_median_s"] <= 420 * 1.19
    assert sh["first_response_p90_s"] == sh["first_response_median_s"]


def test_feedback_counts_once_per_booking(harness):
    from chalicelib.dal.models import BookingItem

    harness.post(booking_event())
    booking = BookingItem.get(*BookingItem.key("demo-chain", "bk-1"))
    events = harness.container.report_events
    events.feedback("demo-chain", booking, 2, True)
    events.feedback("demo-chain", booking, 2, True)  # a redelivered reply

    _, body = report(harness)
    sh = row_of(body, SH_STORE)
    assert (
        sh["feedback_count"] == 1 and sh["feedback_avg_score"] == 2.0 and sh["feedback_negative_pct"] == 1.0
    )


def test_a_visit_rebooked_within_60_days_counts_on_the_visit(harness):
    harness.post(booking_event())
    harness.advance_to("2026-11-25T17:00:00+08:00")
    harness.post(booking_event(type="booking.completed", occurred_at="2026-11-25T17:00:00+08:00"))
    harness.advance_to("2026-12-20T10:00:00+08:00")
    harness.post(
        booking_event(
            event_id="evt-next",
            booking_id="bk-2",
            start="2027-01-10T15:00:00+08:00",
            occurred_at="2026-12-20T10:00:00+08:00",
        )
    )

    _, body = report(harness)
    sh = row_of(body, SH_STORE)
    assert sh["rebooked_60d"] == 1 and sh["rebook_rate_60d"] == 1.0
    _, later = report(harness, "from=2027-01-01&to=2027-01-31")
    assert row_of(later, SH_STORE)["bookings"] == 1 and row_of(later, SH_STORE)["rebooked_60d"] == 0


def test_csv_has_the_same_rows(harness):
    harness.post(booking_event())
    response = harness.client.http.get(
        f"{REPORTS}?{WEEK}&format=csv", headers={"Authorization": f"Bearer {harness.chain['staff_token']}"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.body.decode())))
    _, body = report(harness)
    assert lines[0][:4] == ["key", "label", "messages_sent", "messages_delivered"]
    assert [line[0] for line in lines[1:]] == [r["key"] for r in body["rows"]] + ["total"]
    header = lines[0]
    sh_line = dict(zip(header, lines[1 + [r["key"] for r in body["rows"]].index(SH_STORE)], strict=True))
    assert sh_line["bookings"] == "1" and sh_line["delivery_rate"] == ""  # SMS reports no delivery here: null


def test_a_store_manager_sees_only_her_store(harness):
    harness.post(booking_event())
    harness.post(
        booking_event(
            event_id="evt-l",
            booking_id="bk-l",
            store_id=LDN_STORE,
            stylist="ldn-amy",
            start="2026-11-25T15:00:00+00:00",
        )
    )
    manager = harness.chain["store_tokens"][SH_STORE]

    status, body = report(harness, token=manager)
    assert status == 200 and [r["key"] for r in body["rows"]] == [SH_STORE]
    assert body["totals"]["bookings"] == 1
    status, body = report(harness, WEEK + f"&store={LDN_STORE}", token=manager)
    assert status == 404 and body["error"] == "not_found"
    status, body = report(harness, WEEK + f"&store={SH_STORE}", token=harness.chain["role_tokens"]["stylist"])
    assert status == 403
    status, _ = report(harness, token=harness.chain["role_tokens"]["front_desk"])
    assert status == 403
    other = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="other-admin",
        chain_id="other-chain",
        role="chain_admin",
        store_ids=[],
        now=datetime.now(UTC),
    )
    status, _ = report(harness, token=other)
    assert status == 404
    status, _ = harness.staff("GET", "/v1/chains/other-chain/reports", token=manager)
    assert status == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("from=2026-11-01&to=yesterday", "to"),
        ("from=2026-12-02&to=2026-12-01", "from"),
        ("from=2025-01-01&to=2026-12-01", "to"),
        ("from=2026-11-01&to=2026-11-30&group_by=month", "group_by"),
        ("from=2026-11-01&to=2026-11-30&format=xml", "format"),
        ("from=2026-11-01&to=2026-11-30&store=../x", "store"),
    ],
)
def test_bad_input_answers_400_naming_the_field(harness, query, field):
    status, body = report(harness, query)
    assert status == 400, body
    assert field in body["fields"], json.dumps(body)


def test_a_confirmed_members_no_show_corrected_to_a_visit_leaves_both_splits(harness):
    harness.post(booking_event(event_id="evt-k1"))
    harness.pump()
    _, body = harness.post_message(message_event("1"))
    assert body["intent"] == "confirm"
    harness.advance_to("2026-11-25T15:40:00+08:00")  # nobody checked her in: the journey marks a no-show
    _, before = report(harness)
    assert row_of(before, SH_STORE)["no_show_rate_confirmed"] == 1.0

    harness.post(
        booking_event(event_id="evt-k2", type="booking.checked_in", occurred_at="2026-11-25T15:45:00+08:00")
    )

    _, after = report(harness)
    sh = row_of(after, SH_STORE)
    assert sh["no_shows"] == 0 and sh["no_show_rate"] == 0.0
    assert sh["no_show_rate_confirmed"] == 0.0 and sh["no_show_rate_unconfirmed"] is None


def test_an_email_unsubscribe_counts_as_one_opt_out_of_her_store_however_often_she_clicks(harness):
    event = booking_event()
    event["booking"]["member"]["marketing_consent"] = True
    harness.post(event)
    token = harness.container.unsubscribe_links.token("demo-chain", "m-1")
    for _ in range(3):  # a mail client and a link scanner posting again change nothing
        response = harness.client.http.post(
            f"/v1/unsubscribe/{token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=b"List-Unsubscribe=One-Click",
        )
        assert response.status_code == 200

    _, body = report(harness, WEEK + "&group_by=channel")
    assert row_of(body, "email")["opt_outs"] == 1
    _, body = report(harness)
    assert row_of(body, SH_STORE)["opt_outs"] == 1 and body["totals"]["opt_outs"] == 1
