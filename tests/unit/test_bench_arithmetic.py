"""The bench's counting and cost arithmetic (bench/counting.py, bench/cost.py): sizes, units, prices."""

from __future__ import annotations

import math

import pytest

from bench.cost import Usage, billed_ms, cost_lines, gb_seconds, total_cost
from bench.counting import dynamodb_units, index_writes, item_size, read_units, sqs_requests, write_units
from bench.prices import PRICES


def test_item_size_counts_attribute_names_and_values():
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3  # 5 digits -> 3 bytes, plus 1
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"s": {"S": "静"}}) == 1 + 3  # UTF-8 bytes


def test_write_units_per_kb_doubled_in_transactions_plus_the_index():
    small, big = {"pk": {"S": "x"}}, {"pk": {"S": "x" * 1500}}
    assert write_units(small) == 1
    assert write_units(big) == 2
    assert write_units(big, transactional=True) == 4
    assert write_units({**big, "gsi1pk": {"S": "g"}}, transactional=True) == 4 + 2
    assert write_units({**big, "gsi1pk": {"S": "g"}, "gsi2pk": {"S": "h"}}, transactional=True) == 4 + 2 + 2


def test_index_writes_follow_the_projection_and_key_changes():
    item = {
        "pk": {"S": "x"},
        "gsi1pk": {"S": "a"},
        "gsi1sk": {"S": "1"},
        "gsi3pk": {"S": "k"},
        "gsi3sk": {"S": "1"},
    }
    assert index_writes(None, item) == 1 + 1  # a new item enters both
    assert (
        index_writes(item, {**item, "status": {"S": "done"}}) == 1
    )  # ALL is copied again; keys-only not written
    assert index_writes(item, {**item, "gsi1sk": {"S": "2"}}) == 1 + 1  # the ALL key moves: put + delete
    assert index_writes(item, {**item, "gsi3sk": {"S": "2"}}) == 1 + 2  # and a keys-only key too
    assert index_writes(item, None) == 1 + 1  # both entries deleted
    assert write_units({**item, "blob": {"S": "y" * 1500}}, before=item) == 2 + 2  # the ALL copy is 2 KB


def test_read_units_per_4kb_half_when_eventually_consistent():
    assert read_units(100, consistent=True) == 1
    assert read_units(100, consistent=False) == 0.5
    assert read_units(9000, consistent=True) == 3
    assert read_units(100, consistent=True, transactional=True) == 2


def test_transact_write_sizes_updates_by_the_stored_item():
    stored = {"pk": {"S": "a"}, "sk": {"S": "b"}, "blob": {"S": "y" * 2000}}
    request = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}}}},
        ]
    }
    assert dynamodb_units("TransactWriteItems", request, {}, lambda table, key: stored) == (0.0, 2 + 4)


def test_sqs_requests_are_64kb_chunks_and_batches_carry_their_entries():
    assert sqs_requests("SendMessage", {"MessageBody": "x"}) == (1, 1)
    entries = [{"Id": str(i), "MessageBody": "x" * 10_000} for i in range(10)]
    assert sqs_requests("SendMessageBatch", {"Entries": entries}) == (2, 10)


def test_billed_duration_replaces_time_in_moto_by_the_assumed_latency():
    assert billed_ms(0.100, 0.060, 3, latency_ms=10) == 70
    assert billed_ms(0.0, 0.0, 0) == 1


def test_billed_compute_is_slowed_to_the_functions_share_of_a_cpu():
    # 40 ms of compute on a whole core; at 1,769 MB Lambda gives one vCPU, at 512 MB 512/1,769 of one
    assert billed_ms(0.100, 0.060, 3, memory_mb=1769, latency_ms=10) == 70
    assert billed_ms(0.100, 0.060, 3, memory_mb=512, latency_ms=10) == math.ceil(40 * 1769 / 512 + 30)
    assert billed_ms(0.100, 0.060, 3, memory_mb=3538, latency_ms=10) == 70  # a second vCPU: one thread


def test_cost_is_units_times_list_prices():
    usage = Usage(
        apigw_requests=3,
        lambda_requests=10,
        lambda_gb_seconds=gb_seconds([1000, 1000], 512),
        dynamodb_wru=10,
        sqs_requests=5,
    )
    lines = cost_lines(usage)
    assert usage.lambda_gb_seconds == 1.0
    assert lines["apigw_requests"] == pytest.approx(3 * 1.00 / 1e6)  # an HTTP API request
    assert lines["lambda_gb_seconds"] == pytest.approx(PRICES["lambda_gb_second"][0])
    assert total_cost(usage.scaled(1000)) == pytest.approx(1000 * total_cost(usage))


def test_cold_start_ratios_targets_and_summary_keys() -> None:
    from bench.coldstart import ColdStarts
    from bench.report import cold_markdown, cold_summary, cold_targets

    cold = ColdStarts(
        baseline={"api": 0.2, "worker": 0.25},
        init={"api": 0.28, "worker": 0.5},
        clients={"api": ("dynamodb",), "worker": ("sqs",)},
        first_zh_ms=80.4,
        layer_mb=74.04,
        rounds=7,
        waited={"api": 0.02, "worker": 0.15},
        peak_mb={"api": 64.0, "worker": 140.8},
        memory_mb={"api": 512, "worker": 256},
        first={"api": 0.33, "worker": 0.52},  # init is the first answer less the warm request
        warm={"api": 0.05, "worker": 0.02},
        round_ratios={"api": [1.5, 1.2, 1.4], "worker": [2.0]},
    )
    assert cold.ratio("api") == pytest.approx(1.4)
    assert cold.ratio_spread("api") == (1.2, 1.4, 1.5) and cold.ratio_spread("worker") == (2.0, 2.0, 2.0)
    assert "| 1.40x | 1.20, 1.40, 1.50 |" in "\n".join(cold_markdown(cold))
    assert cold.first_ratio("api") == pytest.approx(1.65) and cold.first_ratio_max == pytest.approx(2.08)
    assert cold.memory_share("api") == pytest.approx(0.125) and cold.memory_share_max == pytest.approx(0.55)
    assert cold.ratio_max == pytest.approx(2.0)
    assert cold.own_ratio("api") == pytest.approx(1.3) and cold.own_ratio_max == pytest.approx(1.4)
    assert (
        cold_summary(cold) == "init_ratio_max=2.00 init_own_ratio_max=1.40 first_answer_ratio_max=2.08 "
        "first_zh_reply_ms=80 "
        "peak_memory_share_max=0.55 layer_mb=74.0"
    )
    assert [met for _, _, met in cold_targets(cold)] == [False, True, False, True]
    unbuilt = ColdStarts(cold.baseline, cold.baseline, cold.clients, 120.0, None, 7)
    assert cold_summary(unbuilt).endswith("layer_mb=unknown")
    assert [met for _, _, met in cold_targets(unbuilt)] == [True, False, True, False]  # no peaks measured: 0


def test_self_booking_targets_and_summary_keys() -> None:
    from collections import Counter

    from bench.report import self_booking_summary, self_booking_targets
    from bench.self_booking import SelfBookingResult

    measured = SelfBookingResult(
        requests=5,
        slots=800,
        reads_first=2,
        reads_per_request=1.0,
        availability_ops=Counter({("dynamodb", "BatchGetItem"): 1.0}),
        bookings=6,
        writes_per_booking=3.0,
        booking_ops=Counter(),
        scans=0,
    )
    assert self_booking_summary(measured) == (
        "availability_reads_per_request=1 self_booking_writes_per_booking=3"
    )
    assert [met for _, _, met in self_booking_targets(measured)] == [True, True]
    dearer = SelfBookingResult(**{**measured.__dict__, "writes_per_booking": 3.5, "reads_per_request": 4.0})
    assert [met for _, _, met in self_booking_targets(dearer)] == [False, False]
    assert self_booking_summary(None).endswith("self_booking_writes_per_booking=unknown")
    assert [met for _, _, met in self_booking_targets(None)] == [False, False]


def test_every_worker_has_a_cold_start_event():
    """`make bench` measures every entry point: a new worker needs its sample event in bench/coldstart.py."""
    from bench.coldstart import entries
    from chalicelib import resources

    measured = {entry.module for entry in entries()}
    assert len(measured) == 1 + len(resources.WORKERS)
    assert all(entry.event.is_file() for entry in entries())


def test_the_second_opinion_is_priced_per_call_and_per_1000_replies_at_the_share_asked():
    from bench.prices import price
    from bench.second_opinion import SecondOpinionCost

    cost = SecondOpinionCost(
        calls=10, input_tokens=1000, output_tokens=1000, measured_share=0.1, stated_share=0.3
    )

    per_call = price("bedrock_input_1k_tokens") + price("bedrock_output_1k_tokens")
    assert cost.usd_per_call == per_call
    assert cost.usd_per_1000_replies(0.3) == 1000 * 0.3 * per_call
    assert cost.usd_per_1000_replies(0.0) == 0
