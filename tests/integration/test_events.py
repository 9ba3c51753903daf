"""Every sample in events/ is real-shaped: the handlers that run on AWS accept it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chalicelib.contracts.booking_event import parse_booking_event
from chalicelib.contracts.step import StepMessage
from chalicelib.contracts.store_wake import StoreWake
from chalicelib.services.signatures import sign
from devstack.event_sources import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
WEBHOOK_ORDER = ["booking.created", "booking.rescheduled", "booking.cancelled"]


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def _context() -> LambdaContext:
    return LambdaContext(
        function_name="chairside-test-SendStepFunction",
        memory_limit_in_mb=512,
        timeout_seconds=30,
        region="ap-southeast-1",
        account_id="123456789012",
    )


def test_every_sample_is_covered_by_a_test():
    covered = {
        "apigw_booking_webhook.json",
        "apigw_member_messages.json",
        "apigw_health.json",
        "scheduler_step_input.json",
        "scheduler_store_wake_input.json",
        "sqs_journey_steps.json",
        "webhooks/message.json",
        "agora_chat_callback.json",
        "sqs_inbound.json",
        "wechat_text_message.xml",
        "wechat_subscribe_event.xml",
        "wechat_template_job_finish.xml",  # tests/integration/test_wechat_journeys.py
        "wechat_subscribe_msg_popup.xml",  # tests/integration/test_wechat_subscriptions.py
        "wechat_subscribe_msg_sent.xml",
        "scheduler_care_tick_input.json",
        "sqs_care_ticks.json",
        "sqs_care.json",
        "sqs_waitlist.json",
    }
    covered |= {
        "agora_chat_read_ack.json",
        "sqs_email_events.json",
    }  # issue 15: test_agora_receipts, test_email_events
    covered |= {
        f"webhooks/{t}.json"
        for t in (
            "booking.created",
            "booking.rescheduled",
            "booking.cancelled",
            "booking.checked_in",
            "booking.completed",
            "booking.no_show",
        )
    }
    # SNS SMS delivery-status log subscriptions (issue 15): tests/integration/test_sns_sms_status.py
    covered |= {"cloudwatch_logs_sns_sms_success.json", "cloudwatch_logs_sns_sms_failure.json"}
    on_disk = {str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*") if p.suffix in (".json", ".xml")}
    assert on_disk == covered


@pytest.mark.parametrize("path", sorted(p.name for p in (EVENTS / "webhooks").glob("booking.*.json")))
def test_webhook_bodies_are_valid_events_of_their_type(path):
    event = parse_booking_event(load(f"webhooks/{path}"))
    assert event.type == path.removesuffix(".json")


def test_api_gateway_events_reach_the_app(harness):
    """The HTTP API's payload format 1.0 (infra/http_api.py): Chalice routes it by requestContext.resourcePath."""
    from app import app

    event = load("apigw_booking_webhook.json")
    ts = str(int(time.time()))
    signature = sign("whsec-test", ts, event["body"].encode())
    for headers, wrap in ((event["headers"], str), (event["multiValueHeaders"], lambda v: [v])):
        # API Gateway's HTTP API hands header names over in lower case
        headers["x-chairside-timestamp"], headers["x-chairside-signature"] = wrap(ts), wrap(signature)
    response = app(event, _context())
    assert response["statusCode"] == 202, response
    assert json.loads(response["body"])["journey"][0]["kind"] == "confirmation"

    messages = load("apigw_member_messages.json")
    messages["headers"]["authorization"] = f"Bearer {harness.chain['staff_token']}"
    messages["multiValueHeaders"]["authorization"] = [messages["headers"]["authorization"]]
    assert app(messages, _context())["statusCode"] == 200
    assert app(load("apigw_health.json"), _context())["statusCode"] == 200


def test_the_sqs_batch_sample_runs_through_the_worker(harness):
    from functions.send_step import handler

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202

    result = handler(load("sqs_journey_steps.json"), _context())

    assert result == {"batchItemFailures": []}  # sent, stale (dropped), malformed (dead-lettered)
    assert [kind for kind in harness.sent_kinds("sh-jingan", "m-1")] == ["confirmation"]
    [dead] = harness.dlq()
    assert dead["Body"] == "{not a journey step"


def test_the_store_wake_sample_on_the_steps_queue_sends_the_day_before_reminder(harness):
    from functions.send_step import handler

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202
    harness.pump()
    harness.clock.set(StoreWake.from_json(json.dumps(load("scheduler_store_wake_input.json"))).due)
    record = {**load("sqs_journey_steps.json")["Records"][0], "messageId": "wake-1"}
    record["body"] = json.dumps(load("scheduler_store_wake_input.json"))

    assert handler({"Records": [record]}, _context()) == {"batchItemFailures": []}
    harness.pump()  # the wake queued the step; the worker sends it
    assert harness.sent_kinds("sh-jingan", "m-1") == ["confirmation", "reminder_day_before"]


def test_schedules_carry_the_same_input_as_the_scheduler_samples(harness):
    sample = StepMessage.from_json(json.dumps(load("scheduler_step_input.json")))
    wake = StoreWake.from_json(json.dumps(load("scheduler_store_wake_input.json")))
    harness.post(load("webhooks/booking.created.json"))

    inputs = [json.loads(s["Target"]["Input"]) for s in harness.schedules()]

    assert {tuple(sorted(i)) for i in inputs} == {
        tuple(sorted(load("scheduler_step_input.json"))),
        tuple(sorted(load("scheduler_store_wake_input.json"))),
    }
    names = {s["Name"] for s in harness.schedules()}
    assert sample.schedule_name in names and wake.schedule_name in names
    assert load("scheduler_store_wake_input.json") in inputs


def test_the_webhook_samples_in_order_tell_a_consistent_story(harness):
    answers = [harness.post(load(f"webhooks/{t}.json")) for t in WEBHOOK_ORDER]
    assert [(s, a["status"]) for s, a in answers] == [(202, "booked"), (202, "booked"), (202, "cancelled")]


def test_the_inbound_batch_sample_runs_through_the_inbound_worker(harness):
    from chalicelib.dal.models import MemberItem
    from functions.handle_inbound import handler

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202

    result = handler(load("sqs_inbound.json"), _context())

    assert result == {"batchItemFailures": []}  # the SMS understood; unknown message and junk dropped
    assert MemberItem.get(*MemberItem.key("demo-chain", "m-1")).marketing_consent is False


def test_the_generic_message_and_agora_samples_reach_the_app(harness):
    from chalicelib.channels.agora.chat import callback_signature

    status, body = harness.post_message(load("webhooks/message.json"))
    assert status == 200 and body["intent"] == "aftercare_issue"

    callback = load("agora_chat_callback.json")
    callback["timestamp"] = int(time.time() * 1000)  # the service refuses a callback more than 5 minutes old
    secret = harness.chain["agora"]["callback_secret"]
    callback["security"] = callback_signature(callback["callId"], secret, callback["timestamp"])
    response = harness.client.http.post(
        "/v1/channels/agora/demo-chain/callback",
        body=json.dumps(callback).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200 and json.loads(response.body)["result"] == "stored"


def test_the_wechat_samples_reach_the_app(harness):
    text = (EVENTS / "wechat_text_message.xml").read_text()
    assert harness.wechat("sh-jingan", text) == (200, b"success")
    subscribe = (EVENTS / "wechat_subscribe_event.xml").read_text()
    assert harness.wechat("sh-jingan", subscribe) == (200, b"success")


def test_each_stores_care_schedule_carries_the_care_tick_sample(harness):
    scheduler = harness.session.client("scheduler")
    schedule = scheduler.get_schedule(
        Name="care-sh-jingan", GroupName=harness.container.settings.care_schedule_group
    )
    assert json.loads(schedule["Target"]["Input"]) == load("scheduler_care_tick_input.json")


def test_the_care_ticks_batch_sample_runs_through_the_care_tick_worker(harness):
    from functions.care_tick import handler

    event = load("webhooks/booking.completed.json")
    event["booking"]["member"].update(birthday="1990-11-23", marketing_consent=True)
    assert harness.post(event)[0] == 202

    result = handler(load("sqs_care_ticks.json"), _context())

    assert result == {
        "batchItemFailures": []
    }  # the tick for the 23rd in Shanghai; the malformed body dropped
    harness.pump()
    assert "birthday" in harness.sent_kinds("sh-jingan", "m-1")


def test_the_care_batch_sample_runs_through_the_send_care_worker(harness):
    from functions.send_care import handler

    event = load("webhooks/booking.completed.json")
    event["booking"]["member"].update(marketing_consent=True)
    assert harness.post(event)[0] == 202
    member_id = event["booking"]["member"]["id"]
    batch = load("sqs_care.json")
    for record in batch["Records"][:1]:
        record["body"] = record["body"].replace('"m-1"', json.dumps(member_id))

    result = handler(batch, _context())

    assert result == {
        "batchItemFailures": []
    }  # sent; the unknown campaign's page and the malformed body dropped
    assert "birthday" in harness.sent_kinds(event["booking"]["store_id"], member_id)
    dlq = harness.session.client("sqs").receive_message(
        QueueUrl=harness.container.settings.care_dlq_url, MaxNumberOfMessages=10
    )["Messages"]
    assert [m["Body"] for m in dlq] == ["{not a care message"]


def test_the_waitlist_batch_sample_runs_through_the_waitlist_worker(harness):
    from functions.waitlist_offers import handler
    from tests.support.catalog import open_for_booking

    open_for_booking("sh-jingan")  # the store takes bookings itself; 小王 works 12:00-19:00
    chain = harness.chain["chain_id"]
    harness.container.member_care.refresh(chain, "m-wait", {"phone": "+8613900000009", "locale": "zh-CN"})
    token, _ = harness.container.member_tokens.issue(chain, "m-wait")
    joined = harness.client.http.post(
        "/v1/stores/sh-jingan/me/waitlist",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(
            {"service": "cut", "stylist_id": "any", "date": "2026-11-25", "part_of_day": "afternoon"}
        ).encode(),
    )
    assert joined.status_code == 201, joined.body
    batch = load("sqs_waitlist.json")
    assert len({r["messageId"] for r in batch["Records"]}) == len(batch["Records"])

    result = handler(batch, _context())

    assert result == {"batchItemFailures": []}  # offered; the stale expiry and the malformed body dropped
    [text] = [t for phone, t in harness.sms() if phone == "+8613900000009"]
    assert "15:00" in text
