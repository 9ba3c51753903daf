"""Report counts summed over one worker invocation (ReportEvents.batch, dal/report_counters.py PendingCounts): each
counter item is written once when the batch ends, a duplicate adds nothing, a failed write is logged, not raised."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from chalicelib.clock import FixedClock
from chalicelib.dal.models import BookingItem, MessageItem
from chalicelib.dal.report_counters import PendingCounts, ReportCounters, counter_items
from chalicelib.services.report_events import ReportEvents

CHAIN, STORE = "c1", "st-1"
DAY_PK = f"REPORT#{CHAIN}#{STORE}"


@dataclass
class Store:
    timezone: str = "Asia/Shanghai"


class Stores:
    def get(self, store_id: str) -> Store:
        return Store()


class Table:
    """The DynamoDB client's update_item and transact_write_items as the counters call them: ADDs applied."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.items: dict[tuple[str, str], dict[str, int]] = {}
        self.updates: list[dict] = []
        self.transactions: list[list[dict]] = []
        self._fail_on = fail_on

    def update_item(self, **request) -> None:
        key = (request["Key"]["pk"]["S"], request["Key"]["sk"]["S"])
        if self._fail_on and self._fail_on in key[1]:
            raise RuntimeError("throttled")
        self.updates.append(request)
        item = self.items.setdefault(key, {})
        for placeholder, name in request["ExpressionAttributeNames"].items():
            value = int(request["ExpressionAttributeValues"][placeholder.replace("#", ":")]["N"])
            item[name] = item.get(name, 0) + value

    def transact_write_items(self, TransactItems: list[dict]) -> None:
        self.transactions.append(TransactItems)
        for entry in TransactItems:
            if "Update" in entry:
                self.update_item(**entry["Update"])


def sent(member: str, at: str = "2026-11-24T02:00:00.000000Z", channel: str = "sms") -> MessageItem:
    return MessageItem(
        MessageItem.pk_for(STORE, member),
        MessageItem.sk_for(at, f"out-{member}"),
        chain_id=CHAIN,
        store_id=STORE,
        member_id=member,
        direction="out",
        channel=channel,
    )


def events(table: Table) -> ReportEvents:
    clock = FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    return ReportEvents(ReportCounters(table, "main"), Stores(), clock)


def test_a_batch_of_one_store_days_messages_is_written_once_per_item():
    table = Table()
    reports = events(table)
    with reports.batch():
        for member in ("m-1", "m-2", "m-3"):
            reports.message_status(sent(member), "sent")
        reports.message_status(sent("m-4", channel="email"), "failed")
        assert table.updates == []  # nothing written before the batch ends
    assert len(table.updates) == 1  # the day item, its channels riding in it
    assert table.items[(DAY_PK, "DAY#2026-11-24")] == {
        "messages_sent": 4,
        "messages_failed": 1,
        "ch:sms:messages_sent": 3,
        "ch:email:messages_sent": 1,
        "ch:email:messages_failed": 1,
    }


def test_each_store_day_gets_its_own_write():
    table = Table()
    reports = events(table)
    with reports.batch():
        reports.message_status(sent("m-1", at="2026-11-24T02:00:00.000000Z"), "sent")
        # 17:00 UTC is 01:00 the next day in the store's zone
        reports.message_status(sent("m-2", at="2026-11-24T17:00:00.000000Z"), "sent")
    assert sorted(sk for _, sk in table.items) == ["DAY#2026-11-24", "DAY#2026-11-25"]
    assert len(table.updates) == 2


def test_a_duplicate_delivery_adds_nothing_to_the_batch():
    # The repository tells the counters only about a write that moved the status: a duplicate is never told.
    table = Table()
    reports = events(table)
    with reports.batch():
        reports.message_status(sent("m-1"), "sent")
        reports.message_status(sent("m-1"), "queued")  # not a counted status
    assert table.items[(DAY_PK, "DAY#2026-11-24")]["messages_sent"] == 1


def test_once_events_are_written_as_they_happen_inside_a_batch():
    # An event with no state change of its own keeps its put-if-absent marker in the same transaction as its
    # counts: it is never summed (a duplicate is told apart only by that marker).
    table = Table()
    reports = events(table)
    booking = BookingItem(
        *BookingItem.key(CHAIN, "bk-1"),
        store_id=STORE,
        stylist_id="s1",
        start=datetime(2026, 11, 24, 3, tzinfo=UTC),
    )
    with reports.batch():
        reports.feedback(CHAIN, booking, 5, False)
        assert len(table.transactions) == 1
        assert "Put" in table.transactions[0][0]  # the marker
    assert table.items[(DAY_PK, "DAY#2026-11-24#by#s1")]["feedback_count"] == 1
    assert len(table.transactions) == 1


def test_a_failed_flush_is_logged_not_raised_and_the_other_items_are_written(caplog):
    table = Table(fail_on="2026-11-24")
    reports = events(table)
    with caplog.at_level(logging.ERROR), reports.batch():
        reports.message_status(sent("m-1", at="2026-11-24T02:00:00.000000Z"), "sent")
        reports.message_status(sent("m-2", at="2026-11-24T17:00:00.000000Z"), "sent")
    assert list(table.items) == [(DAY_PK, "DAY#2026-11-25")]
    assert "report counter not written" in caplog.text


def test_the_batch_is_written_when_the_block_fails_too():
    table = Table()
    reports = events(table)
    with pytest.raises(RuntimeError), reports.batch():
        reports.message_status(sent("m-1"), "sent")
        raise RuntimeError("a record failed")
    assert table.items[(DAY_PK, "DAY#2026-11-24")]["messages_sent"] == 1


def test_a_nested_batch_is_written_by_the_outer_one():
    table = Table()
    reports = events(table)
    with reports.batch():
        with reports.batch():
            reports.message_status(sent("m-1"), "sent")
        assert table.updates == []
        reports.message_status(sent("m-2"), "sent")
    assert len(table.updates) == 1
    assert table.items[(DAY_PK, "DAY#2026-11-24")]["messages_sent"] == 2


def test_outside_a_batch_each_count_is_written_at_once():
    table = Table()
    reports = events(table)
    reports.message_status(sent("m-1"), "sent")
    reports.message_status(sent("m-2"), "sent")
    assert len(table.updates) == 2


def test_pending_counts_sum_per_item_and_drop_what_cancels_out():
    pending = PendingCounts()
    pending.add(
        counter_items(
            CHAIN, STORE, "2026-11-24", {"no_shows": 1, "visits_due": 1}, stylist="s1", channel=None
        )
    )
    pending.add(counter_items(CHAIN, STORE, "2026-11-24", {"no_shows": -1}, stylist="s1", channel=None))
    assert len(pending) == 1  # the stylist's share of the day (read into the day too)
    assert dict(pending.drain()) == {(DAY_PK, "DAY#2026-11-24#by#s1"): {"visits_due": 1}}
    assert len(pending) == 0 and list(pending.drain()) == []


class Pages:
    """The DynamoDB client's query, answering one page of stored counter items."""

    def __init__(self, items: list[dict]) -> None:
        self._items = items

    def query(self, **request) -> dict:
        return {"Items": self._items}


def stored(sk: str, **numbers: int) -> dict:
    return {"pk": {"S": DAY_PK}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in numbers.items()}}


def test_a_stylists_share_counts_in_her_row_and_in_the_stores_day_once():
    # One write for a booking's figures: her share, which the report adds to the day as it reads it.
    counters = ReportCounters(
        Pages(
            [
                stored("DAY#2026-11-24", messages_sent=3, **{"ch:sms:messages_sent": 3}),
                stored("DAY#2026-11-24#by#s1", bookings=2, visits_due=1),
            ]
        ),
        "main",
    )
    read = [(i.dimension, i.value, i.counts) for i in counters.days(CHAIN, STORE, "2026-11-24", "2026-11-24")]
    assert read == [
        ("all", "-", {"messages_sent": 3}),
        ("channel", "sms", {"messages_sent": 3}),
        ("stylist", "s1", {"bookings": 2, "visits_due": 1}),
        ("all", "-", {"bookings": 2, "visits_due": 1}),
    ]


def test_a_stylists_part_written_the_old_way_is_not_added_to_the_day_again():
    counters = ReportCounters(
        Pages([stored("DAY#2026-11-24", bookings=1), stored("DAY#2026-11-24#stylist#s1", bookings=1)]), "main"
    )
    read = [(i.dimension, i.value, i.counts) for i in counters.days(CHAIN, STORE, "2026-11-24", "2026-11-24")]
    assert read == [("all", "-", {"bookings": 1}), ("stylist", "s1", {"bookings": 1})]


def test_a_booking_change_writes_one_item():
    assert list(counter_items(CHAIN, STORE, "2026-11-24", {"bookings": 1}, stylist="s1", channel=None)) == [
        (DAY_PK, "DAY#2026-11-24#by#s1")
    ]
    assert list(counter_items(CHAIN, STORE, "2026-11-24", {"bookings": 1}, stylist=None, channel=None)) == [
        (DAY_PK, "DAY#2026-11-24")
    ]


def test_another_threads_count_during_a_batch_is_written_at_once_not_summed_into_it():
    table = Table()
    reports = events(table)
    with reports.batch():
        reports.message_status(sent("m-1"), "sent")
        other = threading.Thread(target=reports.message_status, args=(sent("m-2"), "sent"))
        other.start()
        other.join()
        assert len(table.updates) == 1  # the other thread's, written by it
    assert len(table.updates) == 2
    assert table.items[(DAY_PK, "DAY#2026-11-24")]["messages_sent"] == 2


@pytest.mark.parametrize(
    "module, worker",
    [
        ("functions.send_step", "step_worker"),
        ("functions.send_care", "care_worker"),
        ("functions.email_events", "email_events_worker"),
    ],
)
def test_every_worker_that_counts_messages_handles_its_batch_inside_one_report_batch(
    monkeypatch, module, worker
):
    import contextlib
    import importlib
    import json
    from types import SimpleNamespace

    entry = importlib.import_module(module)
    inside: list[bool] = []
    state = {"open": False}

    @contextlib.contextmanager
    def batch():
        state["open"] = True
        try:
            yield
        finally:
            state["open"] = False

    def handle_record(record):
        inside.append(state["open"])

    wired = SimpleNamespace(
        report_events=SimpleNamespace(batch=batch), **{worker: SimpleNamespace(handle_record=handle_record)}
    )
    monkeypatch.setattr(entry, "container", lambda: wired)
    record = {
        "messageId": "m-1",
        "receiptHandle": "r",
        "body": json.dumps({}),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-southeast-1:1:q",
        "awsRegion": "ap-southeast-1",
    }
    context = SimpleNamespace(
        function_name="f",
        memory_limit_in_mb=512,
        invoked_function_arn="arn",
        aws_request_id="id",
        get_remaining_time_in_millis=lambda: 30_000,
    )

    assert entry.handler({"Records": [record, {**record, "messageId": "m-2"}]}, context) == {
        "batchItemFailures": []
    }
    assert inside == [True, True]
