"""A store of 100,000 members through its daily care tick (issue 17 §4): the holiday greeting pages through the
members 1,000 per tick (`CareTickMessage.page`, chalicelib/care/always_on.py), each tick queueing the next on the
care-ticks queue, and the same first tick finds the dormant members' reactivations. Measured on the bench stack
(in-process moto, every AWS call counted): ticks (pages) to finish, members reached, AWS calls per member.

    .venv/bin/python -m bench.care_fanout_100k [--members 100000] [--dormant-share 0.01]

Members are written straight to the table with BatchWriteItem (the index keys the profile builder gives them):
building 100,000 profiles through the booking webhook is not what is measured, and the writing is not counted.
The care queue's messages are counted and taken off moto's in-memory queue after every tick (moto reads the whole
queue on each send; a real queue does not), not sent: sending is the care worker's, measured elsewhere.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from bench.stack import REGION, Stack, running_stack

PHASE = "care_fanout"
# The demo chain greets Christmas two days ahead: the Shanghai store's tick on 23 December carries it.
TICK_DAY = date(2026, 12, 23)
STORE = "sh-jingan"


@dataclass(frozen=True)
class CareFanOut:
    members: int
    pages: int  # care ticks run, the first one included
    members_reached: int  # distinct members with a holiday greeting on the care queue
    greetings: int
    reactivations: int
    dormant: int  # members seeded past the dormancy line (what reactivations should find)
    aws_calls: int  # every counted AWS call of the ticks (DynamoDB, SQS)
    scans: int  # DynamoDB Scan calls among them (none, ever)
    seconds: float  # wall time of the ticks (seeding not included)
    seed_seconds: float

    @property
    def calls_per_member(self) -> float:
        return self.aws_calls / self.members if self.members else 0.0

    @property
    def finished(self) -> bool:
        return self.members_reached == self.members and self.reactivations == self.dormant

    def summary(self) -> str:
        return (
            f"care_fanout_100k_members={self.members} care_fanout_100k_pages={self.pages} "
            f"care_fanout_100k_members_reached={self.members_reached} "
            f"care_fanout_100k_aws_calls_per_member={self.calls_per_member:.3f}"
        )


def seed_members(stack: Stack, members: int, dormant_share: float) -> int:
    """`members` members of the store with consent; the first `dormant_share` of them last came 90 days before the
    tick day (the reactivation's line), the others in the last 20 days (an active store: the 21-day-and-older
    ranges the tick queries -- dormancy, the time-based tags, the rebook cycles -- hold the dormant ones only).
    Returns how many are dormant."""
    from chalicelib.dal.models import MemberItem
    from devstack.seed import CHAIN_ID

    tick_noon = datetime.combine(TICK_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)
    dormant = int(members * dormant_share)
    with MemberItem.batch_write() as batch:
        for i in range(members):
            member_id = f"care-{i:06d}"
            last = tick_noon - timedelta(days=90 if i < dormant else 1 + i % 20)
            batch.save(
                MemberItem(
                    *MemberItem.key(CHAIN_ID, member_id),
                    chain_id=CHAIN_ID,
                    member_id=member_id,
                    name=f"会员{i}",
                    phone=f"+86139{i:08d}",
                    locale="zh-CN",
                    marketing_consent=True,
                    primary_store_id=STORE,
                    last_store_id=STORE,
                    visits=1,
                    first_visit_at=last,
                    last_visit_at=last,
                    tags=[],
                    gsi1pk=MemberItem.store_key(STORE),
                    gsi1sk=MemberItem.store_sort_key(last, member_id),
                )
            )
    return dormant


def run(
    stack: Stack, members: int = 100_000, dormant_share: float = 0.01, page_size: int | None = None
) -> CareFanOut:
    """`page_size`: members per tick other than production's MEMBERS_PAGE (the small test's pages)."""
    from bench.counting import scans
    from chalicelib.care.always_on import CareTickMessage
    from devstack.seed import CHAIN_ID

    started = time.perf_counter()
    dormant = seed_members(stack, members, dormant_share)
    seed_seconds = time.perf_counter() - started

    container = stack.container
    if page_size is not None:
        container.care_tick._members_page = (
            page_size  # the constructor's `members_page`, for a small run only
        )
    scheduled = datetime.combine(TICK_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=2
    )  # 10:00 local
    stack.clock.set(scheduled)
    care = _moto_queue(container.settings.care_queue_url)
    sqs = container.client("sqs")
    ticks_url = container.settings.care_ticks_queue_url
    reached: set[str] = set()
    kinds = {"holiday": 0, "reactivation": 0}
    pages = 0
    # Take each SendMessageBatch's messages off moto's memory as soon as it is answered (not an AWS call).
    taking = functools.partial(_take, care, kinds, reached)
    container.outreach._sqs.meta.events.register("after-call.sqs.SendMessageBatch", taking)
    first = len(stack.counter.calls)
    body = CareTickMessage(CHAIN_ID, STORE, scheduled.isoformat()).to_json()
    with stack.counter.in_phase(PHASE):
        started = time.perf_counter()
        while body is not None:
            container.care_tick_worker.handle_record(SimpleNamespace(body=body))
            pages += 1
            got = sqs.receive_message(QueueUrl=ticks_url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get(
                "Messages", []
            )
            body = None
            if (
                got
            ):  # the tick's own next page, as the care-ticks queue's event source mapping would hand it on
                sqs.delete_message(QueueUrl=ticks_url, ReceiptHandle=got[0]["ReceiptHandle"])
                body = got[0]["Body"]
        seconds = time.perf_counter() - started
    calls = stack.counter.calls[first:]
    return CareFanOut(
        members=members,
        pages=pages,
        members_reached=len(reached),
        greetings=kinds["holiday"],
        reactivations=kinds["reactivation"],
        dormant=dormant,
        aws_calls=len(calls),
        scans=scans(calls),
        seconds=seconds,
        seed_seconds=seed_seconds,
    )


def expected_pages(members: int, page: int | None = None) -> range:
    """Ticks a store of `members` may take: one per page of members -- and one more, empty, when the count is a
    whole number of pages and the Query still returned a LastEvaluatedKey for the full last page (DynamoDB may;
    moto does not)."""
    from chalicelib.care.always_on import MEMBERS_PAGE

    pages = max(1, math.ceil(members / (page or MEMBERS_PAGE)))
    return range(pages, pages + (2 if members and members % (page or MEMBERS_PAGE) == 0 else 1))


def _moto_queue(url: str):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[url.rsplit("/", 1)[1]]


def _take(queue, kinds: dict[str, int], reached: set[str], **_: object) -> None:
    for message in queue._messages:
        care = json.loads(message.body)
        kinds[care["kind"]] = kinds.get(care["kind"], 0) + 1
        if care["kind"] == "holiday":
            reached.add(care["member_id"])
    queue._messages.clear()


def markdown(r: CareFanOut | None) -> list[str]:
    if r is None:
        return ["## Care fan-out of a 100,000-member store (issue 17)", "", "Not measured in this run.", ""]
    return [
        "## Care fan-out of a 100,000-member store (issue 17)",
        "",
        f"`bench/care_fanout_100k.py`, on its own stack: {r.members:,} members of `{STORE}` (written with "
        f"BatchWriteItem in {r.seed_seconds:.0f} s, not counted), {r.dormant:,} of them 90 days since their last "
        f"visit, the others within 20 days. The store's care tick on {TICK_DAY.isoformat()} (the demo chain's Christmas greeting, two days "
        f"ahead) greets one page of members per tick and queues the next tick: **{r.pages} ticks** reached "
        f"**{r.members_reached:,}** members ({r.greetings:,} greetings) and queued {r.reactivations:,} "
        f"reactivations, with {r.aws_calls:,} AWS calls (**{r.calls_per_member:.3f} per member**) in "
        f"{r.seconds:.0f} s on in-process moto.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.care_fanout_100k", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--dormant-share", type=float, default=0.01)
    args = parser.parse_args(argv)
    with running_stack() as stack:
        result = run(stack, args.members, args.dormant_share)
    print("\n".join(markdown(result)))
    print(result.summary() + f" care_fanout_100k_seconds={result.seconds:.1f}")
    return 0 if result.finished and result.pages in expected_pages(args.members) else 1


if __name__ == "__main__":
    sys.exit(main())
