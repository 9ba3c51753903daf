"""`python -m ops.redrive`: dead letters go back to their queue and are then delivered -- once."""

from __future__ import annotations

import io
import json

from ops.redrive import redrive
from tests.support.builders import SH_STORE, booking_event


def test_a_step_that_failed_for_good_is_sent_after_the_redrive_and_only_once(harness):
    harness.faults.add("sms", permanent=1)
    harness.post(booking_event())
    harness.pump()
    [dead] = harness.dlq()
    assert "permanent" in dead["MessageAttributes"]["failure_reason"]["StringValue"]
    assert harness.sms() == []

    sqs, settings = harness.session.client("sqs"), harness.container.settings
    # The same dead letter twice (a DLQ duplicate, or an operator redriving twice): one SMS all the same.
    sqs.send_message(QueueUrl=settings.steps_dlq_url, MessageBody=dead["Body"])
    out = io.StringIO()
    assert redrive(sqs, settings.steps_dlq_url, settings.steps_queue_url, out=out) == 2
    assert "injected permanent failure" in out.getvalue()
    harness.pump()

    assert harness.dlq() == []
    assert len(harness.sms()) == 1
    [message] = harness.messages(SH_STORE, "m-1")
    assert (message["kind"], message["status"]) == ("confirmation", "sent")
    assert redrive(sqs, settings.steps_dlq_url, settings.steps_queue_url, out=io.StringIO()) == 0


def test_the_redrive_sends_the_body_back_without_the_failure_reason(harness):
    sqs, settings = harness.session.client("sqs"), harness.container.settings
    body = json.dumps({"any": "body"})
    sqs.send_message(
        QueueUrl=settings.steps_dlq_url,
        MessageBody=body,
        MessageAttributes={
            "failure_reason": {"DataType": "String", "StringValue": "boom"},
            "kind": {"DataType": "String", "StringValue": "confirmation"},
        },
    )

    assert redrive(sqs, settings.steps_dlq_url, settings.steps_queue_url, out=io.StringIO()) == 1

    [back] = sqs.receive_message(QueueUrl=settings.steps_queue_url, MessageAttributeNames=["All"])["Messages"]
    assert back["Body"] == body
    assert set(back["MessageAttributes"]) == {"kind"}
