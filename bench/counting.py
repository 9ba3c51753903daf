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

DDB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
GSI_KEYS = ("gsi1pk", "gsi2pk")  # an item with one of these is also written to that (ALL-projected) index
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
    (kind, data), = value.items()
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


def write_units(item: dict | None, transactional: bool = False) -> float:
    """WRU for writing one item: 1 per KB (2 in a transaction), plus one write per KB to each index whose key
    it carries."""
    per = max(1, math.ceil(item_size(item) / 1024))
    units = per * (2 if transactional else 1)
    return units + per * sum(1 for key in GSI_KEYS if item and key in item)


def read_units(total_bytes: int, consistent: bool, transactional: bool = False) -> float:
    """RRU for reading `total_bytes` in one request: 1 per 4 KB, half when eventually consistent."""
    units = max(1, math.ceil(total_bytes / 4096))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def dynamodb_units(operation: str, request: dict, response: dict, lookup: ItemLookup) -> tuple[float, float]:
    """(RRU, WRU) of one DynamoDB request, from the request, the parsed answer and the stored items."""
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
        return sum(read_units(item_size(r.get("Item")), True, True) for r in response.get("Responses", [])), 0.0
    if operation == "PutItem":
        return 0.0, write_units(request.get("Item"))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, write_units(lookup(table, request.get("Key", {})) or request.get("Key"))
    if operation == "TransactWriteItems":
        wru = 0.0
        for entry in request.get("TransactItems", []):
            (kind, body), = entry.items()
            item = body.get("Item") if kind == "Put" else lookup(body["TableName"], body.get("Key", {}))
            wru += write_units(item or body.get("Key"), transactional=True)
        return 0.0, wru
    if operation == "BatchWriteItem":
        wru = 0.0
        for name, entries in request.get("RequestItems", {}).items():
            for entry in entries:
                if "PutRequest" in entry:
                    wru += write_units(entry["PutRequest"]["Item"])
                else:
                    wru += write_units(lookup(name, entry["DeleteRequest"]["Key"]) or entry["DeleteRequest"]["Key"])
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
        events.register("before-call", lambda **kw: self._before(**kw), unique_id=f"bench-before-{id(client)}")
        events.register("after-call", lambda **kw: self._after(source, **kw), unique_id=f"bench-after-{id(client)}")

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
    def _before(self, params: dict, context: dict, **_: Any) -> None:
        context["bench_started"] = time.perf_counter()
        context["bench_request"] = params.get("body", b"")

    def _after(self, source: str, model: Any, parsed: dict, context: dict, **_: Any) -> None:
        if not self.recording:
            return
        seconds = time.perf_counter() - context.get("bench_started", time.perf_counter())
        service = model.service_model.service_name
        operation = model.name
        body = context.get("bench_request") or b""
        request = json.loads(body) if isinstance(body, bytes | str) and body[:1] in (b"{", "{") else {}
        rru = wru = 0.0
        sqs = (0, 0)
        if service == "dynamodb":
            rru, wru = dynamodb_units(operation, request, parsed or {}, self._lookup)
        elif service == "sqs":
            sqs = sqs_requests(operation, request)
            if operation == "ReceiveMessage":
                sqs = (1, len((parsed or {}).get("Messages", [])))
        self.calls.append(Call(source, self.phase, service, operation, rru, wru, sqs[0], sqs[1], seconds))

    # reading -----------------------------------------------------------------------------------------
    def select(self, *, phases: Iterable[str] | None = None, sources: Iterable[str] | None = None) -> list[Call]:
        phases = set(phases) if phases is not None else None
        sources = set(sources) if sources is not None else None
        return [c for c in self.calls
                if (phases is None or c.phase in phases) and (sources is None or c.source in sources)]


def by_operation(calls: Iterable[Call]) -> Counter[tuple[str, str]]:
    return Counter((c.service, c.operation) for c in calls)


def scans(calls: Iterable[Call]) -> int:
    return sum(1 for c in calls if c.service == "dynamodb" and c.operation == "Scan")


def dynamodb_write_requests(calls: Iterable[Call]) -> int:
    return sum(1 for c in calls if c.service == "dynamodb" and c.operation in DDB_WRITES)
