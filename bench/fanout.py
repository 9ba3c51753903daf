"""A campaign fan-out to 100,000 members through the real `Outreach.enqueue` (chalicelib/care/outreach.py):
SQS requests per message and local wall time. None while the campaign fan-out does not exist (issue 4)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.stack import Stack

PHASE = "fanout"


@dataclass(frozen=True)
class FanOut:
    members: int
    messages: int  # messages the send requests carried
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
    messages = (CareMessage(chain_id=chain, member_id=f"m-fan-{i}", kind="campaign", occasion="campaign:bench",
                            campaign_id="bench") for i in range(members))
    first = len(stack.counter.calls)
    with stack.counter.in_phase(PHASE):
        started = time.perf_counter()
        outreach.enqueue(messages)
        seconds = time.perf_counter() - started
    sends = [c for c in stack.counter.calls[first:]
             if c.service == "sqs" and c.operation in ("SendMessage", "SendMessageBatch")]
    return FanOut(members, sum(c.sqs_messages for c in sends), len(sends), sum(c.sqs_requests for c in sends),
                  seconds)
