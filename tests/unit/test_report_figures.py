"""The report's arithmetic: first-response buckets and percentiles, rates, rows (services/report_figures.py)."""

from __future__ import annotations

import math
import random

import pytest

from chalicelib.dal.models import BookingItem
from chalicelib.services.report_events import booking_counts
from chalicelib.services.report_figures import (
    BUCKETS,
    ROW_FIGURES,
    bucket_of,
    bucket_upper_s,
    percentile_s,
    rate,
    row,
    week_of,
)


def booking_item(status: str) -> BookingItem:
    return BookingItem(*BookingItem.key("c1", "bk-1"), store_id="st-1", stylist_id="sty-1", status=status)


@pytest.mark.parametrize("seconds", [0, 1, 9.9, 10, 10.01, 59, 60, 61, 600, 899, 3600, 7200, 86_400, 200_000])
def test_a_time_falls_in_the_bucket_whose_edges_hold_it(seconds):
    index = bucket_of(seconds)
    assert bucket_upper_s(index) >= round(seconds)  # never reported below the true time
    if index > 0:
        assert BUCKET_BASE_S_EDGE(index - 1) < seconds  # and not in a bucket too high


def BUCKET_BASE_S_EDGE(index: int) -> float:
    return 10.0 * 2 ** (index / 4)


def test_every_time_reads_at_most_19_percent_high_up_to_76_hours():
    rng = random.Random(17)
    for _ in range(2000):
        seconds = rng.uniform(10.5, 270_000)
        reported = bucket_upper_s(bucket_of(seconds))
        assert seconds <= reported + 0.5
        assert reported <= seconds * 2**0.25 + 0.5


def test_very_long_waits_land_in_the_last_bucket():
    assert bucket_of(10 * 86_400) == BUCKETS - 1
    assert bucket_upper_s(BUCKETS - 1) == bucket_upper_s(BUCKETS - 2)


def test_median_and_p90_by_nearest_rank_from_summed_buckets():
    # 10 answers: 6 within a minute-ish, 3 around 10 minutes, 1 after 2 hours
    times = [30, 40, 45, 50, 55, 58, 590, 600, 610, 7200]
    histogram: dict[int, int] = {}
    for t in times:
        histogram[bucket_of(t)] = histogram.get(bucket_of(t), 0) + 1
    median, p90 = percentile_s(histogram, 0.5), percentile_s(histogram, 0.9)
    assert median is not None and p90 is not None
    assert 55 <= median <= 55 * 1.19 + 1  # the 5th of 10
    assert 610 <= p90 <= 610 * 1.19 + 1  # the 9th of 10, not the 2-hour one
    assert percentile_s({}, 0.5) is None
    assert percentile_s({3: 0}, 0.9) is None


def test_rates_are_fractions_rounded_to_4_places_or_null_without_a_denominator():
    assert rate(2, 3) == 0.6667
    assert rate(0, 5) == 0.0
    assert rate(5, 5) == 1.0
    assert rate(1, 0) is None
    assert rate(7, 5) == 1.0  # a rate never reads over 1


def test_a_row_derives_each_figure_from_its_counters():
    counts = {
        "messages_sent": 10,
        "messages_delivered": 8,
        "messages_read": 2,
        "messages_failed": 1,
        "replies": 4,
        "bookings": 6,
        "visits_due": 5,
        "visits_due_confirmed": 2,
        "no_shows": 2,
        "no_shows_confirmed": 0,
        "rebooked_60d": 1,
        "feedback_count": 3,
        "feedback_scored": 2,
        "feedback_score_sum": 7,
        "feedback_negative": 1,
        "first_responses": 1,
        f"fr_{bucket_of(300)}": 1,
    }
    r = row("st-1", "静安店", counts)
    assert list(r) == ["key", "label", *ROW_FIGURES]
    assert r["delivery_rate"] == 0.8
    assert r["read_rate"] == 0.25  # of the delivered
    assert r["failure_rate"] == 0.1
    assert r["reply_rate"] == 0.5  # of the delivered
    assert r["no_show_rate"] == 0.4  # of the visits due
    assert r["no_show_rate_confirmed"] == 0.0
    assert r["no_show_rate_unconfirmed"] == 0.6667
    assert r["rebook_rate_60d"] == 0.3333  # of the 3 who came
    assert r["feedback_avg_score"] == 3.5  # of the scored answers only
    assert r["feedback_negative_pct"] == 0.3333
    assert r["first_response_median_s"] == r["first_response_p90_s"] == bucket_upper_s(bucket_of(300))
    empty = row("total", "total", {})
    assert empty["delivery_rate"] is None and empty["feedback_avg_score"] is None
    assert empty["first_response_median_s"] is None and empty["messages_sent"] == 0


def test_a_week_is_keyed_by_its_monday():
    assert week_of("2026-12-06") == "2026-11-30"  # a Sunday
    assert week_of("2026-11-30") == "2026-11-30"
    assert week_of("2027-01-01") == "2026-12-28"


def test_a_bookings_changes_count_its_outcome_once_and_split_by_confirmation():
    booked = booking_item(status="booked")
    confirmed = booking_item(status="confirmed")
    assert booking_counts(None, booked) == {"bookings": 1}
    assert booking_counts(booked, booking_item(status="no_show")) == {"visits_due": 1, "no_shows": 1}
    assert booking_counts(confirmed, booking_item(status="no_show")) == {
        "visits_due": 1,
        "visits_due_confirmed": 1,
        "no_shows": 1,
        "no_shows_confirmed": 1,
    }
    assert booking_counts(confirmed, booking_item(status="checked_in")) == {
        "visits_due": 1,
        "visits_due_confirmed": 1,
    }
    # checked in, then completed: the outcome was counted at check-in
    assert booking_counts(booking_item(status="checked_in"), booking_item(status="completed")) == {}
    # staff corrected a no-show: she came after all
    assert booking_counts(booking_item(status="no_show"), booking_item(status="checked_in")) == {
        "no_shows": -1
    }
    assert booking_counts(booked, booking_item(status="cancelled")) == {}
    assert math.isclose(len(booking_counts(booked, booked)), 0)
