"""Move a queue's dead letters back to the queue, after the cause is fixed:
`python -m ops.redrive --queue journey-steps [--stage dev] [--local-state .chairside]`.

Safe to run twice and safe to stop half-way: a message is sent back before it is deleted from the DLQ, so
at worst it is in both for a moment, and the worker de-duplicates (a step already sent is not sent again;
one that failed for good is tried again). Prints each message's recorded failure reason.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chalicelib import resources as r
from devstack.provision import queue_urls
from ops import target

# Attributes the dead-lettering code adds; the redriven message goes back as it was first sent.
FAILURE_ATTRIBUTES = ("failure_reason",)


def redrive(
    sqs: Any, dlq_url: str, queue_url: str, *, limit: int | None = None, out: Any = sys.stdout
) -> int:
    """Move up to `limit` (all when None) messages from `dlq_url` to `queue_url`; return how many moved."""
    moved = 0
    while limit is None or moved < limit:
        batch = min(10, limit - moved) if limit is not None else 10
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for i, message in enumerate(messages):
            attributes = message.get("MessageAttributes", {})
            reason = (
                attributes.get("failure_reason", {}).get("StringValue")
                or attributes.get("ERROR_MESSAGE", {}).get("StringValue")
                or "-"
            )
            print(f"redrive {message['MessageId']}: {reason}", file=out)
            entry = {"Id": str(i), "MessageBody": message["Body"]}
            kept = {k: v for k, v in attributes.items() if k not in FAILURE_ATTRIBUTES}
            if kept:
                entry["MessageAttributes"] = kept
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        ok = {item["Id"] for item in sent.get("Successful", [])}
        for failure in sent.get("Failed", []):
            print(
                f"could not send back entry {failure.get('Id')}: {failure.get('Code')}; left in the DLQ",
                file=out,
            )
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if str(i) in ok
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
        if not done:
            break  # nothing could be sent back: stop rather than spin
    return moved


def main(argv: list[str] | None = None) -> int:
    shorts = [q.short for q in r.QUEUES]
    parser = argparse.ArgumentParser(prog="ops.redrive", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--queue", required=True, choices=shorts, help="the source queue (its DLQ is drained)"
    )
    target.add_arguments(parser)
    parser.add_argument("--limit", type=int, default=None, help="move at most this many")
    args = parser.parse_args(argv)

    session, endpoint, stage = target.resolve(args)
    queue = queue_urls(session, stage, endpoint)[args.queue]
    sqs = session.client("sqs", endpoint_url=endpoint)
    moved = redrive(sqs, queue["dlq_url"], queue["url"], limit=args.limit)
    print(f"redrove {moved} message(s) from {r.QUEUES[shorts.index(args.queue)].dlq_name(stage)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
