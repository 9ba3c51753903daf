"""The bench's call counter on one complete journey: it sees boto3's and PynamoDB's calls, and no Scan."""

from __future__ import annotations

from bench import journeys
from bench.counting import by_operation, scans
from bench.stack import running_stack


def test_a_complete_journey_makes_no_scan_and_every_client_is_counted():
    with running_stack() as stack:
        result = journeys.run(stack, 1)

    ops = by_operation(result.calls)
    assert scans(result.calls) == 0
    # created claims the stylist's time with the booking (boto3 client); checked_in and completed hold or free
    # it with plain writes
    assert ops[("dynamodb", "TransactWriteItems")] == 1
    assert ops[("dynamodb", "PutItem")] >= 1  # message records (PynamoDB's own client)
    assert ops[("sns", "Publish")] == result.delivered >= 7
    assert 1 <= result.writes_per_created <= 3  # issue 7: at most 3 besides the schedules


def test_availability_reads_one_batch_per_request_and_a_self_booking_writes_at_most_three():
    from bench import self_booking

    with running_stack() as stack:
        result = self_booking.run(stack, bookings=3, requests=2)

    assert result.scans == 0 and result.slots > 0
    # 3 stylists x 7 store-local days = 24 (stylist, UTC day) calendars: one BatchGetItem; the store is cached
    assert result.availability_ops == {("dynamodb", "BatchGetItem"): 1}
    assert result.reads_per_request == 1 and result.reads_first == 2  # cold: the store's GetItem too
    assert result.writes_per_booking <= 3  # issue 14: <= 3 besides the schedules
    assert result.booking_ops[("dynamodb", "TransactWriteItems")] == 1


def test_a_90_day_report_of_a_20_store_chain_reads_once_per_store_and_the_chain():
    from bench import reports

    with running_stack() as stack:
        result = reports.run(stack)

    assert result.status == 200 and result.rows == 13  # 90 days: 13 ISO weeks (2026-09-07 .. 2026-11-30)
    assert result.ops[("dynamodb", "Scan")] == 0
    # one Query of the chain's stores, one per store; no store read one by one
    assert result.ops[("dynamodb", "Query")] == 1 + reports.STORES
    assert result.reads == 1 + reports.STORES
