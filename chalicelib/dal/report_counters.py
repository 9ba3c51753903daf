"""Report counters (issue 17): per store and day, added to with DynamoDB ADD as the events happen.

One partition per store, `REPORT#<chain>#<store>`, its items sorted by day:

    sk = DAY#<store-local YYYY-MM-DD>                   the store's day: each figure as a number attribute named
                                                        as the counter (`messages_sent`, `no_shows`, `fr_<bucket>`
                                                        ...), and per channel `ch:<channel>:<counter>`
    sk = DAY#<YYYY-MM-DD>#by#<stylist id>               the figures that name a stylist (bookings, visits, feedback,
                                                        rebookings, campaign bookings), counted *only* here: a
                                                        report adds them to the store's day as it reads them
    sk = DAY#<YYYY-MM-DD>#stylist#<stylist id>          (written before December 2026, still read) a stylist's part
                                                        of the day, whose figures the day item also holds

A message's status change writes one small item (its channel's figures ride in the day item), or, summed with
the rest of a worker's batch (`PendingCounts`), a share of one; a booking's change writes one item, its stylist's
share (the day item only when the booking names no stylist). A report reads one store's day range with one Query
(paginated), never a Scan (docs/REPORTS.md, docs/ARCHITECTURE.md).

Counting once. Most counts follow a conditional state change and are written only after it succeeded (a
message's send or receipt, a booking's status), or inside its transaction (a new booking: `updates` gives the
Update items for BookingRepository.commit). The rarer events that have no such change of their own (a reply, a
complaint, an opt-out, a staff answer, feedback, a rebooking, a campaign booking) name themselves (`once`): the
count is then one TransactWriteItems with a put-if-absent of the marker item `REPORTONCE#<chain>#<once>` (kept
`ONCE_TTL`), so a duplicate delivery or a retry after a crash adds nothing more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import StoreItem

ONCE_TTL = timedelta(days=60)  # longer than any retry, redrive or receipt window (RECEIPT_WINDOW is 30 days)
ALL = "all"
MAX_VALUE = 128  # longer stylist ids or channel names are cut: an item key stays small
CHANNEL_PREFIX = "ch:"
SHARE = "by"  # the sk part of a stylist's share of a day (stylist_share_key)


@dataclass(frozen=True)
class CounterItem:
    """One item as read: the store's day (`dimension` "all", value "-"), one of its channels' part of the day
    (read out of the day item) or a stylist's; `counts` are the figures by counter name."""

    day: str
    dimension: str
    value: str
    counts: dict[str, int]


def partition(chain_id: str, store_id: str) -> str:
    return f"REPORT#{chain_id}#{store_id}"


def day_key(day: str) -> str:
    return f"DAY#{day}"


def stylist_share_key(day: str, stylist_id: str) -> str:
    """A stylist's share of a day: counted here only, added to the day when read (one write, not two)."""
    return f"DAY#{day}#{SHARE}#{stylist_id[:MAX_VALUE]}"


class ReportCounters:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._ddb = dynamodb_client
        self._table = table_name

    def updates(
        self,
        chain_id: str,
        store_id: str,
        day: str,
        counts: Mapping[str, int],
        *,
        stylist: str | None = None,
        channel: str | None = None,
    ) -> list[dict[str, Any]]:
        """The UpdateItem requests that add `counts` to their items (`counter_items`: the stylist's share of the
        day when one is named, else the store's day, with its channel's part): for a caller's own transaction, or
        for `add`."""
        return [
            self._update(pk, sk, item_counts)
            for (pk, sk), item_counts in counter_items(
                chain_id, store_id, day, counts, stylist=stylist, channel=channel
            ).items()
        ]

    def add_summed(self, key: tuple[str, str], counts: Mapping[str, int]) -> None:
        """Add one item's summed counts (`PendingCounts.drain`): one UpdateItem."""
        self._ddb.update_item(**self._update(*key, counts))

    def add(
        self,
        chain_id: str,
        store_id: str,
        day: str,
        counts: Mapping[str, int],
        *,
        now: datetime,
        once: str | None = None,
        stylist: str | None = None,
        channel: str | None = None,
    ) -> bool:
        """Add `counts` to the store's day; with `once`, only the first time that event is counted. True when
        added, False when this event was counted before (or there was nothing to count)."""
        updates = self.updates(chain_id, store_id, day, counts, stylist=stylist, channel=channel)
        if not updates:
            return False
        if once is None:
            for update in updates:
                self._ddb.update_item(**update)
            return True
        marker = {
            "TableName": self._table,
            "Item": {
                # hashed: an event's name may hold a member id, its marker must not (erasure, PIPL)
                "pk": {"S": f"REPORTONCE#{chain_id}#{hashlib.sha256(once.encode()).hexdigest()[:32]}"},
                "sk": {"S": "-"},
                "expires_at": {"N": str(int((now + ONCE_TTL).timestamp()))},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._ddb.transact_write_items(
                TransactItems=[{"Put": marker}, *({"Update": update} for update in updates)]
            )
        except ClientError as exc:
            if is_conditional_failure(exc, item=0):
                return False
            raise
        return True

    def flag(self, chain_id: str, name: str, now: datetime) -> dict[str, Any]:
        """The UpdateItem request that notes a fact a later count needs (kept `ONCE_TTL`), e.g. that a no-show
        was counted as a confirmed one; for the same transaction or batch as the counts."""
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": f"REPORTFLAG#{chain_id}#{name}"}, "sk": {"S": "-"}},
            "UpdateExpression": "SET expires_at = :t",
            "ExpressionAttributeValues": {":t": {"N": str(int((now + ONCE_TTL).timestamp()))}},
        }

    def flagged(self, chain_id: str, name: str) -> bool:
        item = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"REPORTFLAG#{chain_id}#{name}"}, "sk": {"S": "-"}},
            ConsistentRead=True,
        )
        return "Item" in item

    def _update(self, pk: str, sk: str, counts: Mapping[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":c{i}": {"N": str(n)} for i, n in enumerate(counts.values())}
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def days(self, chain_id: str, store_id: str, first: str, last: str) -> Iterator[CounterItem]:
        """The store's counters from day `first` to `last` (inclusive): one Query, paginated. Each day item gives
        the day's figures, then one CounterItem per channel named in it; stylist items follow their day (a
        stylist's share gives her CounterItem and a store-day one: its figures are not in the day item)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition(chain_id, store_id)},
                ":a": {"S": day_key(first)},
                ":b": {"S": day_key(last) + "#\uffff"},
            },
        }
        while True:
            page = self._ddb.query(**request)
            for item in page.get("Items", []):
                yield from _read_counter_items(item)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return
            request["ExclusiveStartKey"] = last_key


class PendingCounts:
    """Counts summed per counter item before they are written, one UpdateItem per item (`ReportCounters.add_summed`):
    what one worker invocation counted for a store's day (its channels riding in the day item) and its
    stylists' parts. Only counts that follow a state change already made belong here (never a `once` event)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, items: Mapping[tuple[str, str], Mapping[str, int]]) -> None:
        """Sum `items` ((pk, sk) -> counts: `counter_items`) into what waits."""
        for key, item_counts in items.items():
            summed = self._items.setdefault(key, {})
            for name, n in item_counts.items():
                summed[name] = summed.get(name, 0) + n

    def __len__(self) -> int:
        return len(self._items)

    def drain(self) -> Iterator[tuple[tuple[str, str], dict[str, int]]]:
        """Each item's summed counts (those that did not cancel out), emptying the buffer."""
        items, self._items = self._items, {}
        for key, counts in items.items():
            nonzero = {name: n for name, n in counts.items() if n}
            if nonzero:
                yield key, nonzero


def counter_items(
    chain_id: str,
    store_id: str,
    day: str,
    counts: Mapping[str, int],
    *,
    stylist: str | None,
    channel: str | None,
) -> dict[tuple[str, str], dict[str, int]]:
    """(pk, sk) -> counts of each item that `counts` adds to: the stylist's share of the day when one is named,
    else the store's day; a channel's part rides in the day item."""
    counts = {name: int(n) for name, n in counts.items() if n}
    if not counts:
        return {}
    pk = partition(chain_id, store_id)
    found: dict[tuple[str, str], dict[str, int]] = {}
    if stylist:
        found[(pk, stylist_share_key(day, stylist))] = counts
    day_counts = {} if stylist else dict(counts)
    if channel:
        day_counts.update({f"{CHANNEL_PREFIX}{channel[:MAX_VALUE]}:{name}": n for name, n in counts.items()})
    if day_counts:
        found[(pk, day_key(day))] = day_counts
    return found


def chain_stores(chain_id: str) -> list[StoreItem]:
    """Every store of the chain in this region, by id: one Query of the chain's store index (its items are whole,
    so a report reads no store one by one)."""
    return sorted(StoreItem.by_chain.query(StoreItem.chain_key(chain_id)), key=lambda s: s.store_id)


def _read_counter_items(item: dict[str, Any]) -> Iterator[CounterItem]:
    parts = item["sk"]["S"].split("#", 3)
    numbers = {name: int(attribute["N"]) for name, attribute in item.items() if "N" in attribute}
    if len(parts) == 4 and parts[2] == SHARE:  # a stylist's share: her row, and the store's day
        yield CounterItem(parts[1], "stylist", parts[3], numbers)
        yield CounterItem(parts[1], ALL, "-", numbers)
        return
    if len(parts) == 4:
        yield CounterItem(parts[1], parts[2], parts[3], numbers)
        return
    day = parts[1]
    base: dict[str, int] = {}
    channels: dict[str, dict[str, int]] = {}
    for name, n in numbers.items():
        if name.startswith(CHANNEL_PREFIX):
            channel, _, counter = name.removeprefix(CHANNEL_PREFIX).rpartition(":")
            channels.setdefault(channel, {})[counter] = n
        else:
            base[name] = n
    yield CounterItem(day, ALL, "-", base)
    for channel, counts in sorted(channels.items()):
        yield CounterItem(day, "channel", channel, counts)
