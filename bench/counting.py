"""Counting AWS API calls with botocore event hooks, and what each call costs in request units.

Every botocore client created while a `CallCounter` is installed (boto3's, PynamoDB's own, the local
plumbing's) gets a `before-call` and an `after-call` hook, labelled with the `source` that was current
when the client was built ("app", "scheduler", "esm", ...). A call is recorded with the journey phase
the driver set, its DynamoDB read/write request units (from item sizes, see `item_size`) and its SQS
64 KB chunks.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session

from chalicelib.resources import MAIN_TABLE

DDB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
# The main table's indexes, as deployed: (hash key, range key, projection)
INDEXES = tuple((i.hash_key, i.range_key, i.projection) for i in MAIN_TABLE.indexes)
SQS_CHUNK = 64 * 1024

# (table, typed key) -> the stored item (typed attributes), or None
ItemLookup = Callable[[str, dict], dict | None]


@dataclass(frozen=True)
class Call:
    source: str
    phase: str
    service: str
    operation: str
    rru: float = 0.0
    wru: float = 0.0
    sqs_requests: int = 0  # billable SQS requests: 64 KB chunks of the payload
    sqs_messages: int = 0  # messages a send carried or a receive got
    seconds: float = 0.0


# --- DynamoDB item size and request units --------------------------------------------------------------
def _value_size(value: dict) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(data) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in data.items())
    return 0


def item_size(item: dict | None) -> int:
    """Bytes DynamoDB bills for an item: attribute names plus values (the published sizing rules)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


def _kb(item: dict | None) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def index_writes(before: dict | None, after: dict | None) -> float:
    """Index writes of changing an item from `before` to `after` (None: absent), per DynamoDB's rules: an index
    whose key the item carries is written when the item is (projection ALL: per KB of the copy); a key that
    changes is a delete plus a put; a keys-only index is not written at all while its key stays the same."""
    units = 0.0
    for hash_key, range_key, projection in INDEXES:

        def key_of(item, hash_key=hash_key, range_key=range_key):
            if not item or hash_key not in item:
                return None
            return item[hash_key], item.get(range_key) if range_key else None

        old, new = key_of(before), key_of(after)
        if old is None and new is None:
            continue
        if projection == "KEYS_ONLY":
            units += 0 if old == new else (1 if old is None or new is None else 2)
            continue
        if new is not None:
            units += _kb(after)
        if old is not None and old != new:
            units += 1  # the old entry is deleted
    return units


def write_units(item: dict | None, transactional: bool = False, before: dict | None = None) -> float:
    """WRU for writing one item (`before` is what was stored): 1 per KB (2 in a transaction) of the larger of
    the two, plus the index writes (`index_writes`)."""
    per = max(_kb(item), _kb(before) if before else 1)
    return per * (2 if transactional else 1) + index_writes(before, item)


def read_units(total_bytes: int, consistent: bool, transactional: bool = False) -> float:
    """RRU for reading `total_bytes` in one request: 1 per 4 KB, half when eventually consistent."""
    units = max(1, math.ceil(total_bytes / 4096))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def written_keys(operation: str, request: dict) -> list[tuple[str, dict]]:
    """(table, key) of every item a write request touches (keys are the table's pk/sk)."""

    def key(item: dict) -> dict:
        return {k: item[k] for k in ("pk", "sk") if k in item}

    if operation == "PutItem":
        return [(request.get("TableName", ""), key(request.get("Item", {})))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(request.get("TableName", ""), request.get("Key", {}))]
    if operation == "TransactWriteItems":
        found = []
        for entry in request.get("TransactItems", []):
            ((kind, body),) = entry.items()
            if kind != "ConditionCheck":
                found.append((body["TableName"], key(body["Item"]) if kind == "Put" else body.get("Key", {})))
        return found
    if operation == "BatchWriteItem":
        return [
            (name, key(e["PutRequest"]["Item"]) if "PutRequest" in e else e["DeleteRequest"]["Key"])
            for name, entries in request.get("RequestItems", {}).items()
            for e in entries
        ]
    return []


def _frozen(table: str, key: dict) -> str:
    return table + json.dumps(key, sort_keys=True)


def dynamodb_units(
    operation: str,
    request: dict,
    response: dict,
    lookup: ItemLookup,
    before: dict[str, dict | None] | None = None,
) -> tuple[float, float]:
    """(RRU, WRU) of one DynamoDB request, from the request, the parsed answer, the stored items (after the
    call) and `before`: the items as they were before it (`_frozen(table, key)` -> item or None)."""
    before = before or {}

    def was(table: str, key: dict) -> dict | None:
        return before.get(_frozen(table, key))

    table = request.get("TableName", "")
    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        return read_units(item_size(response.get("Item")), consistent), 0.0
    if operation in ("Query", "Scan"):
        return read_units(sum(item_size(i) for i in response.get("Items", [])), consistent), 0.0
    if operation == "BatchGetItem":
        items = [i for got in response.get("Responses", {}).values() for i in got]
        return sum(read_units(item_size(i), consistent) for i in items) or 0.5, 0.0
    if operation == "TransactGetItems":
        return sum(
            read_units(item_size(r.get("Item")), True, True) for r in response.get("Responses", [])
        ), 0.0
    if operation == "PutItem":
        item = request.get("Item", {})
        return 0.0, write_units(item, before=was(table, {k: item[k] for k in ("pk", "sk") if k in item}))
    if operation == "UpdateItem":
        key = request.get("Key", {})
        return 0.0, write_units(lookup(table, key) or key, before=was(table, key))
    if operation == "DeleteItem":
        key = request.get("Key", {})
        old = was(table, key) or lookup(table, key)
        return 0.0, _kb(old) + index_writes(old, None)
    if operation == "TransactWriteItems":
        wru = 0.0
        for entry in request.get("TransactItems", []):
            ((kind, body),) = entry.items()
            if kind == "ConditionCheck":
                continue
            name = body["TableName"]
            if kind == "Put":
                item = body.get("Item", {})
                key = {k: item[k] for k in ("pk", "sk") if k in item}
            else:
                key = body.get("Key", {})
                item = lookup(name, key) if kind == "Update" else None
            old = was(name, key)
            wru += (
                write_units(item or key, transactional=True, before=old)
                if kind != "Delete"
                else 2 * _kb(old) + index_writes(old, None)
            )
        return 0.0, wru
    if operation == "BatchWriteItem":
        wru = 0.0
        for name, entries in request.get("RequestItems", {}).items():
            for entry in entries:
                if "PutRequest" in entry:
                    item = entry["PutRequest"]["Item"]
                    wru += write_units(
                        item, before=was(name, {k: item[k] for k in ("pk", "sk") if k in item})
                    )
                else:
                    key = entry["DeleteRequest"]["Key"]
                    old = was(name, key) or lookup(name, key)
                    wru += _kb(old) + index_writes(old, None)
        return 0.0, wru
    return 0.0, 0.0


def sqs_requests(operation: str, request: dict) -> tuple[int, int]:
    """(billable requests, messages carried) of one SQS call: each 64 KB chunk of a payload is a request."""
    if operation == "SendMessage":
        return max(1, math.ceil(len(request.get("MessageBody", "").encode()) / SQS_CHUNK)), 1
    if operation == "SendMessageBatch":
        entries = request.get("Entries", [])
        size = sum(len(e.get("MessageBody", "").encode()) for e in entries)
        return max(1, math.ceil(size / SQS_CHUNK)), len(entries)
    return 1, 0


# --- the counter ---------------------------------------------------------------------------------------
class CallCounter:
    """Records every AWS call of the clients built while installed; `phase` labels what the driver does."""

    def __init__(self, lookup: ItemLookup | None = None) -> None:
        self.calls: list[Call] = []
        self.phase = "setup"
        self.source = "app"  # label of clients built from now on
        self.recording = False
        self._lookup = lookup or (lambda table, key: None)
        self._original: Any = None

    # installing --------------------------------------------------------------------------------------
    def install(self) -> None:
        original = self._original = botocore.session.Session.create_client
        counter = self

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            counter.attach(client, counter.source)
            return client

        botocore.session.Session.create_client = create_client

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.session.Session.create_client = self._original
            self._original = None

    def attach(self, client: Any, source: str) -> None:
        events = client.meta.events
        events.register(
            "before-call", lambda **kw: self._before(**kw), unique_id=f"bench-before-{id(client)}"
        )
        events.register(
            "after-call", lambda **kw: self._after(source, **kw), unique_id=f"bench-after-{id(client)}"
        )

    @contextmanager
    def building(self, source: str) -> Iterator[None]:
        """Clients built inside are labelled `source`."""
        previous, self.source = self.source, source
        try:
            yield
        finally:
            self.source = previous

    @contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        previous, self.phase, self.recording = self.phase, phase, True
        try:
            yield
        finally:
            self.phase = previous
            self.recording = previous != "setup"

    # hooks -------------------------------------------------------------------------------------------
    def _before(self, params: dict, context: dict, model: Any = None, **_: Any) -> None:
        body = params.get("body", b"")
        context["bench_request"] = body
        if self.recording and model is not None and model.name in DDB_WRITES:
            looking = time.perf_counter()
            request = json.loads(body) if isinstance(body, bytes | str) and body[:1] in (b"{", "{") else {}
            context["bench_before"] = {
                _frozen(table, key): self._lookup(table, key)
                for table, key in written_keys(model.name, request)
            }
            context["bench_overhead"] = time.perf_counter() - looking  # the bench's, not the function's
        context["bench_started"] = time.perf_counter()

    def _after(self, source: str, model: Any, parsed: dict, context: dict, **_: Any) -> None:
        if not self.recording:
            return
        seconds = time.perf_counter() - context.get("bench_started", time.perf_counter())
        seconds += context.get("bench_overhead", 0.0)
        service = model.service_model.service_name
        operation = model.name
        body = context.get("bench_request") or b""
        request = json.loads(body) if isinstance(body, bytes | str) and body[:1] in (b"{", "{") else {}
        rru = wru = 0.0
        sqs = (0, 0)
        if service == "dynamodb":
            rru, wru = dynamodb_units(
                operation, request, parsed or {}, self._lookup, context.get("bench_before")
            )
        elif service == "sqs":
            sqs = sqs_requests(operation, request)
            if operation == "ReceiveMessage":
                sqs = (1, len((parsed or {}).get("Messages", [])))
        self.calls.append(Call(source, self.phase, service, operation, rru, wru, sqs[0], sqs[1], seconds))

    # reading -----------------------------------------------------------------------------------------
    def select(
        self, *, phases: Iterable[str] | None = None, sources: Iterable[str] | None = None
    ) -> list[Call]:
        phases = set(phases) if phases is not None else None
        sources = set(sources) if sources is not None else None
        return [
            c
            for c in self.calls
            if (phases is None or c.phase in phases) and (sources is None or c.source in sources)
        ]


def by_operation(calls: Iterable[Call]) -> Counter[tuple[str, str]]:
    return Counter((c.service, c.operation) for c in calls)


def scans(calls: Iterable[Call]) -> int:
    return sum(1 for c in calls if c.service == "dynamodb" and c.operation == "Scan")


def dynamodb_write_requests(calls: Iterable[Call]) -> int:
    return sum(1 for c in calls if c.service == "dynamodb" and c.operation in DDB_WRITES)
