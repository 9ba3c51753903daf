"""Fan a campaign out to N members (default 100,000) on moto's in-process AWS, and measure it.

    .venv/bin/python -m bench.campaign_fanout [--members 100000]

What runs is the production path: the campaign is created through `Campaigns.create`, and the care queue's
`campaign_page` messages are fed to the care worker (`functions/send_care.handler`'s record handler) until the
segment is exhausted. Members are written straight to the table (with the index keys the profile builder gives
them), since building 100,000 profiles through the booking webhook is not what is measured. The care messages are
counted on the queue, not sent. Prints members, SQS SendMessageBatch requests, messages per request, wall time.
Not part of `make test`; the figure is in docs/CARE.md.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

STAGE = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "ap-southeast-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "CHAIRSIDE_JWT_SECRET": "bench-jwt-secret-of-at-least-32-bytes",
        }
    )

    import boto3
    from moto import mock_aws

    with mock_aws():
        run(boto3.session.Session(region_name="ap-southeast-1"), args.members)


def run(session, members: int) -> None:
    from chalicelib import bootstrap
    from chalicelib import settings as settings_module
    from chalicelib.clock import FixedClock
    from chalicelib.dal.models import MemberItem
    from chalicelib.services.auth import issue_token
    from devstack.provision import provision
    from devstack.seed import CHAIN_ID, STORES, seed

    env = provision(session, STAGE)
    os.environ.update(env)
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    container = bootstrap.build(settings_module.from_env(), clock=FixedClock(now), session=session)
    bootstrap.use(container)
    _ = container.bookings  # binds the models
    seed(session, STAGE, os.environ["CHAIRSIDE_JWT_SECRET"], now)

    started = time.perf_counter()
    with MemberItem.batch_write() as batch:
        for i in range(members):
            store = STORES[i % len(STORES)]["id"]
            member_id = f"bench-{i:06d}"
            batch.save(
                MemberItem(
                    *MemberItem.key(CHAIN_ID, member_id),
                    chain_id=CHAIN_ID,
                    member_id=member_id,
                    name=f"会员{i}",
                    phone=f"+86138{i:08d}",
                    marketing_consent=True,
                    primary_store_id=store,
                    visits=1,
                    last_visit_at=now,
                    tags=[],
                    gsi1pk=MemberItem.store_key(store),
                    gsi1sk=MemberItem.store_sort_key(now, member_id),
                )
            )
    print(f"wrote {members:,} members in {time.perf_counter() - started:.1f} s")

    sqs = container.client("sqs")
    requests: Counter[str] = Counter()
    sizes: list[int] = []
    original = sqs.send_message_batch
    # The care messages go to queues of their own here, so the loop below reads only the fan-out's page messages;
    # moto's SendMessage also reads every message already on a queue (its approximate counts), so the sink is a
    # fresh queue after each 100 messages (taken by the next page's enqueue): the benchmark measures the fan-out, not moto's O(n) per request.
    sinks: list[str] = []
    accepted = Counter()

    def fresh_sink() -> None:
        sinks.append(sqs.create_queue(QueueName=f"bench-care-messages-{len(sinks)}")["QueueUrl"])
        container.outreach._queue_url = sinks[-1]

    fresh_sink()

    def counting(**kwargs):
        requests["send_message_batch"] += 1
        sizes.append(len(kwargs["Entries"]))
        answer = original(**kwargs)
        if kwargs["QueueUrl"] in sinks:
            accepted["care"] += len(answer.get("Successful", []))
            accepted["since_fresh"] += len(answer.get("Successful", []))
            if accepted["since_fresh"] >= 100:
                fresh_sink()
                accepted["since_fresh"] = 0
        return answer

    sqs.send_message_batch = counting
    token = issue_token(
        os.environ["CHAIRSIDE_JWT_SECRET"],
        subject="bench",
        chain_id=CHAIN_ID,
        role="chain_admin",
        store_ids=[],
        now=datetime.now(UTC),
    )

    started = time.perf_counter()
    status, campaign = container.campaigns.create(
        f"Bearer {token}",
        CHAIN_ID,
        {
            "campaign_id": "bench-100k",
            "segment": {},
            "template": {"zh-CN": "{{ member.name }}您好，春季新品上线"},
        },
        None,
    )
    assert status == 201, campaign
    url = container.settings.care_queue_url
    pages = 0
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        for message in got:
            record = SimpleNamespace(
                body=message["Body"],
                receipt_handle=message["ReceiptHandle"],
                attributes=SimpleNamespace(approximate_receive_count="1"),
            )
            container.care_worker.handle_record(record)
            pages += 1
        if not got:
            break
    elapsed = time.perf_counter() - started
    care_messages = accepted["care"]  # entries SQS answered "Successful" for
    view = container.campaigns._view(container.care_repo.campaign(CHAIN_ID, "bench-100k"))
    care_requests = sum(1 for s in sizes if s > 1) or requests["send_message_batch"]
    print(f"members targeted        {view['targeted']:,}")
    print(f"care messages accepted  {care_messages:,}")
    print(f"fan-out pages           {pages} (one campaign_page message each)")
    print(
        f"SendMessageBatch calls  {requests['send_message_batch']:,} "
        f"({care_requests:,} carrying care messages, {care_messages / max(1, care_requests):.2f} per request; "
        f"largest batch {max(sizes)})"
    )
    print(f"wall time               {elapsed:.1f} s (create + every fan-out page, moto in-process)")


if __name__ == "__main__":
    main()
