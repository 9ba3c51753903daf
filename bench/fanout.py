"""A campaign fan-out to 100,000 members through the real `Outreach.enqueue` (chalicelib/care/outreach.py):
SQS requests per message and local wall time. None while the campaign fan-out does not exist (issue 4)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.stack import REGION, STAGE, Stack

PHASE = "fanout"


@dataclass(frozen=True)
class FanOut:
    members: int
    messages: int  # messages the send requests carried
    landed: int  # messages found on the care queue
    send_requests: int  # SendMessage / SendMessageBatch calls
    billable_requests: int  # 64 KB chunks
    seconds: float

    @property
    def messages_per_request(self) -> float:
        return self.messages / self.send_requests if self.send_requests else 0.0


def run(stack: Stack, members: int = 100_000) -> FanOut | None:
    try:
        from chalicelib.care.outreach import CareMessage
    except ImportError:
        return None
    outreach = stack.container.outreach
    chain = stack.chain["chain_id"]
    messages = (
        CareMessage(
            chain_id=chain,
            member_id=f"m-fan-{i}",
            kind="campaign",
            occasion="campaign:bench",
            campaign_id="bench",
        )
        for i in range(members)
    )
    queue = _Drain(_care_queue())
    first = len(stack.counter.calls)
    with stack.counter.in_phase(PHASE):
        started = time.perf_counter()
        outreach.enqueue(queue.drained(messages))
        seconds = time.perf_counter() - started
    sends = [
        c
        for c in stack.counter.calls[first:]
        if c.service == "sqs" and c.operation in ("SendMessage", "SendMessageBatch")
    ]
    return FanOut(
        members,
        sum(c.sqs_messages for c in sends),
        queue.drain(),
        len(sends),
        sum(c.sqs_requests for c in sends),
        seconds,
    )


def _care_queue():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    from chalicelib import resources

    return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[resources.CARE_QUEUE.name(STAGE)]


class _Drain:
    """Empties moto's in-memory care queue every `every` messages and counts what had landed: moto scans the
    whole queue on every send (quadratic), a real queue does not, so a 100,000-message queue would measure moto.
    Draining touches moto's memory directly, not the API, so it is neither counted nor timed as AWS calls."""

    def __init__(self, queue, every: int = 10) -> None:
        self.queue = queue
        self.every = every
        self.landed = 0

    def drain(self) -> int:
        self.landed += len(self.queue._messages)
        self.queue._messages.clear()
        return self.landed

    def drained(self, items):
        for i, item in enumerate(items, 1):
            yield item
            if i % self.every == 0:
                self.drain()
