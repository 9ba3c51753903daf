"""SNS's SMS delivery-status logs, through the function subscribed to them (events/cloudwatch_logs_sns_sms_*.json),
become receipts of the messages SnsSms sent, named by the MessageId that Publish answered."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.channels.sns_sms_status import receipts_of
from devstack.event_sources import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


class RecordingSink:
    def __init__(self) -> None:
        self.receipts: list[ProviderReceipt] = []

    def apply(self, receipt: ProviderReceipt) -> str:
        self.receipts.append(receipt)
        return "applied"


def _context() -> LambdaContext:
    return LambdaContext(
        function_name="chairside-test-SnsSmsStatusFunction",
        memory_limit_in_mb=256,
        timeout_seconds=30,
        region="ap-southeast-1",
        account_id="123456789012",
    )


@pytest.fixture
def sink(harness: Any) -> RecordingSink:
    recording = RecordingSink()
    harness.container.receipt_sink = recording
    for built in ("sms_receipts", "sns_sms_status"):
        harness.container.__dict__.pop(built, None)
    return recording


def test_successes_become_delivered_receipts(harness: Any, sink: RecordingSink) -> None:
    from functions.sns_sms_status import handler

    assert handler(load("cloudwatch_logs_sns_sms_success.json"), _context()) == {"applied": 2}
    first, second = sink.receipts
    assert (first.provider, first.provider_message_id, first.status) == (
        "sns",
        "34d9b400-c6dd-5444-820d-fbeb0f1f54cf",
        "delivered",
    )
    assert first.code == "Message has been accepted by phone carrier"
    # Published at 09:00:34.558 UTC, acknowledged by the handset 1,344 ms later.
    assert first.at == datetime(2026, 11, 26, 9, 0, 35, 902000, tzinfo=UTC)
    assert second.at == datetime(2026, 11, 26, 9, 1, 2, 813000, tzinfo=UTC)  # no device ack: the carrier's


def test_failures_become_failed_receipts_and_other_lines_are_skipped(
    harness: Any, sink: RecordingSink
) -> None:
    from functions.sns_sms_status import handler

    assert handler(load("cloudwatch_logs_sns_sms_failure.json"), _context()) == {"applied": 1}
    [failed] = sink.receipts
    assert (failed.provider_message_id, failed.status, failed.code) == (
        "1077257a-92f3-5ca3-bc97-6a915b310625",
        "failed",
        "Unknown error attempting to reach phone",
    )


def test_an_sns_sms_publish_id_is_what_the_receipt_names(harness: Any, sink: RecordingSink) -> None:
    """The id SnsSms returns for a send (Publish's MessageId) is the id the delivery-status log names."""
    from chalicelib.channels.base import Contact

    message_id = harness.container.channels.base["sms"].send(Contact(phone="+6591234567"), "hi", "s")
    record = {
        "notification": {"messageId": message_id, "timestamp": "2026-11-26 09:00:00.000"},
        "delivery": {
            "destination": "+6591234567",
            "providerResponse": "Message has been accepted by phone carrier",
        },
        "status": "SUCCESS",
    }
    [receipt] = receipts_of(_subscription([record]))
    assert receipt.provider_message_id == message_id


def _subscription(records: list[Any], kind: str = "DATA_MESSAGE") -> dict:
    payload = {
        "messageType": kind,
        "logGroup": "sns/ap-southeast-1/123456789012/DirectPublishToPhoneNumber",
        "logEvents": [
            {"id": str(i), "timestamp": 0, "message": json.dumps(r)} for i, r in enumerate(records)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}


def test_a_control_message_has_no_receipts() -> None:
    assert receipts_of(_subscription([], kind="CONTROL_MESSAGE")) == []


@pytest.mark.parametrize("event", [{}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": "aGk="}}])
def test_an_event_that_is_not_a_subscription_is_refused(event: dict) -> None:
    with pytest.raises(ValueError):
        receipts_of(event)


def test_the_template_subscribes_the_function_to_both_sns_sms_log_groups() -> None:
    from chalicelib import resources as r
    from infra import template as t

    resources = t.merge_template("test", "ap-southeast-1")["Resources"]
    fn = r.SNS_SMS_STATUS.logical
    filters = [v for v in resources.values() if v["Type"] == "AWS::Logs::SubscriptionFilter"]
    assert [f["Properties"]["DestinationArn"] for f in filters] == [{"Fn::GetAtt": [fn, "Arn"]}] * 2
    groups = [
        resources[f["Properties"]["LogGroupName"]["Ref"]]["Properties"]["LogGroupName"] for f in filters
    ]
    assert groups == [
        {"Fn::Sub": "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber"},
        {"Fn::Sub": "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure"},
    ]
    permissions = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::Permission"]
    assert {p["Principal"] for p in permissions} == {"logs.amazonaws.com"}
    function = resources[fn]["Properties"]
    assert function["Handler"] == "sns_sms_status.handler"
    assert function["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": [r.SNS_SMS_STATUS_DLQ.logical, "Arn"]}
    role = resources[t.SNS_SMS_STATUS_ROLE]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}
