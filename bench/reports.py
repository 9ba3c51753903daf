"""An owner's report over 90 days of a 20-store chain (issue 17): the DynamoDB reads one request makes.

A chain of `STORES` stores is added to the bench's stack, each with `DAYS` days of counters as the events write
them (a day item with its channels' figures, and one item per stylist who had bookings that day). Then a chain
admin asks `GET /v1/chains/{chain}/reports?group_by=week` over the 90 days, through the real app, and the bench's
call counter counts every DynamoDB read request of that request: one Query of the chain's stores and one Query
(one page here) per store -- bounded by the stores and the pages, never a Scan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bench.counting import by_operation
from bench.stack import JWT_SECRET, Stack

CHAIN = "bench-report-chain"
STORES = 20
DAYS = 90
STYLISTS = 4
CHANNELS = ("sms", "wechat", "email", "agora")
LAST_DAY = date(2026, 12, 5)
DDB_READS = frozenset({"GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems"})


@dataclass(frozen=True)
class ReportReads:
    reads: int  # DynamoDB read requests of the one report request
    ops: Counter  # (service, operation) -> calls
    rows: int
    status: int


def prepare(stack: Stack) -> None:
    """The chain's stores (copies of a seeded one) and 90 days of their counters, written in batches."""
    from chalicelib.dal.models import StoreItem
    from chalicelib.dal.report_counters import day_key, partition, stylist_share_key
    from chalicelib.services.report_figures import BUCKET_PREFIX

    template = StoreItem.get(*StoreItem.key(stack.chain["stores"][0]["id"]))
    ddb = stack.session.client("dynamodb")
    table = stack.container.settings.main_table
    items = []
    for n in range(STORES):
        store_id = f"bench-st-{n:02d}"
        store = StoreItem.from_raw_data(template.serialize())
        store.pk, store.sk = StoreItem.key(store_id)
        store.store_id, store.chain_id, store.name = store_id, CHAIN, f"Bench store {n:02d}"
        store.gsi1pk, store.gsi1sk = StoreItem.chain_key(CHAIN), store_id
        store.save()
        for d in range(DAYS):
            day = (LAST_DAY - timedelta(days=d)).isoformat()
            figures = {
                "messages_sent": 40,
                "messages_delivered": 36,
                "messages_read": 20,
                "messages_failed": 2,
                "replies": 9,
                "bookings": 12,
                "visits_due": 11,
                "visits_due_confirmed": 6,
                "no_shows": 1,
                "rebooked_60d": 4,
                "feedback_count": 3,
                "feedback_scored": 3,
                "feedback_score_sum": 13,
                "complaints": 1,
                "first_responses": 2,
                f"{BUCKET_PREFIX}12": 1,
                f"{BUCKET_PREFIX}20": 1,
                "opt_outs": 1,
                "campaign_bookings": 2,
            }
            shared = ("bookings", "visits_due", "rebooked_60d", "feedback_count")  # in the stylists' shares
            day_item = {"pk": {"S": partition(CHAIN, store_id)}, "sk": {"S": day_key(day)}}
            day_item.update({name: {"N": str(v)} for name, v in figures.items() if name not in shared})
            for channel in CHANNELS:
                for name in (
                    "messages_sent",
                    "messages_delivered",
                    "messages_read",
                    "messages_failed",
                    "replies",
                ):
                    day_item[f"ch:{channel}:{name}"] = {"N": str(figures[name] // len(CHANNELS))}
            items.append(day_item)
            for s in range(STYLISTS):
                stylist = {
                    "pk": {"S": partition(CHAIN, store_id)},
                    "sk": {"S": stylist_share_key(day, f"sty-{s}")},
                }
                stylist.update({name: {"N": "3"} for name in shared})
                items.append(stylist)
    for start in range(0, len(items), 25):
        batch = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while batch:
            batch = ddb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}


def run(stack: Stack) -> ReportReads:
    from chalicelib.services.auth import issue_token

    prepare(stack)
    token = issue_token(
        JWT_SECRET,
        subject="bench-owner",
        chain_id=CHAIN,
        role="chain_admin",
        store_ids=[],
        now=datetime.now(UTC),
    )
    first = LAST_DAY - timedelta(days=DAYS - 1)
    before = len(stack.counter.calls)
    with stack.counter.in_phase("report"):
        response = stack.client.http.get(
            f"/v1/chains/{CHAIN}/reports?from={first.isoformat()}&to={LAST_DAY.isoformat()}&group_by=week",
            headers={"Authorization": f"Bearer {token}"},
        )
    calls = [c for c in stack.counter.calls[before:] if c.phase == "report"]
    import json

    body = json.loads(response.body) if response.status_code == 200 else {"rows": []}
    return ReportReads(
        reads=sum(1 for c in calls if c.service == "dynamodb" and c.operation in DDB_READS),
        ops=by_operation(calls),
        rows=len(body["rows"]),
        status=response.status_code,
    )
