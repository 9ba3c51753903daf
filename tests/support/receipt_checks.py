"""The steps queue's receipt checks (issue 15 §1: a channel's receipt wait), as the integration tests see them:
the checks waiting, the wait let pass, a check delivered again, a chain's SMS made to wait, and what SES sent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib import resources
from chalicelib.dal.models import ChainItem
from tests.conftest import REGION, STAGE

CHAIN = "demo-chain"


def _steps_queue():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[resources.STEPS_QUEUE.name(STAGE)]


def receipt_checks() -> list[tuple[dict, int]]:
    """The receipt checks waiting on the steps queue: (body, delay in seconds)."""
    found = []
    for message in _steps_queue()._messages:
        body = json.loads(message.body)
        if body.get("type") == "receipt_check":
            delay = round((message.delayed_until - message.sent_timestamp) / 1000)
            found.append((body, delay))
    return found


def let_delays_pass(harness, seconds: int) -> None:
    """The wait passes: the injected clock moves on, and moto's SQS delays (kept in real time) end now."""
    for message in _steps_queue()._messages:
        message.delayed_until = 0
    harness.advance_to(harness.clock.now() + timedelta(seconds=seconds))


def sms_waits_for_receipts(seconds: int = 600) -> None:
    """The chain's SMS provider reports delivery (Alibaba's SmsReport): SMS waits for a receipt. The default
    waits for none (routing.toml: SNS reports only through the account's delivery-status logs)."""
    ChainItem(*ChainItem.key(CHAIN)).update(
        actions=[ChainItem.channel_routing.set({"receipt_wait_seconds": {"sms": seconds}})]
    )


def check_comes_again(harness, check: dict) -> None:
    """SQS is at-least-once: the same receipt check delivered a second time."""
    sqs = harness.session.client("sqs")
    sqs.send_message(QueueUrl=harness.container.settings.steps_queue_url, MessageBody=json.dumps(check))


def ses_sent(harness) -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


class RecordingSink:
    """A receipts service that only records what reaches it (set as `container.receipt_sink` before the account's
    events service is built)."""

    def __init__(self) -> None:
        self.receipts: list[Any] = []

    def apply(self, receipt: Any) -> str:
        self.receipts.append(receipt)
        return "applied"
