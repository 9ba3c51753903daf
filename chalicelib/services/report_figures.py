"""The figures of a report row, from summed counters: rates, averages, first-response percentiles (issue 17).

Pure arithmetic, no AWS: docs/REPORTS.md defines each figure, and tests/unit/test_report_figures.py checks it.

First-response times go into a fixed histogram of log-scale buckets: bucket 0 holds 0-10 s, bucket i (1..59)
holds (10*2^((i-1)/4), 10*2^(i/4)] seconds -- each bucket ~19 % wider than the one before -- and bucket 60
everything over ~76 hours. A percentile is the upper edge of the bucket that holds it, so it is never below the
true value and at most 19 % above it (above 76 hours it reads 76 hours).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

BUCKET_BASE_S = 10.0
BUCKET_STEPS = 4  # buckets per doubling
BUCKETS = 61  # 0..59 bounded, 60 the overflow
BUCKET_PREFIX = "fr_"

# The counters (dal/report_counters.py items) are the ROW_FIGURES that are counts, plus: visits_due,
# visits_due_confirmed, no_shows_confirmed, feedback_scored, feedback_score_sum, feedback_negative, first_responses
# and the histogram's fr_<bucket> (docs/REPORTS.md).

# The row of the API, in order (docs/openapi.yaml ReportRow; the CSV's columns after key and label).
ROW_FIGURES = (
    "messages_sent",
    "messages_delivered",
    "messages_read",
    "messages_failed",
    "delivery_rate",
    "read_rate",
    "failure_rate",
    "replies",
    "reply_rate",
    "bookings",
    "no_shows",
    "no_show_rate",
    "no_show_rate_confirmed",
    "no_show_rate_unconfirmed",
    "rebooked_60d",
    "rebook_rate_60d",
    "feedback_count",
    "feedback_avg_score",
    "feedback_negative_pct",
    "complaints",
    "first_response_median_s",
    "first_response_p90_s",
    "opt_outs",
    "campaign_bookings",
)


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a first-response time (negative times count as 0)."""
    if seconds <= BUCKET_BASE_S:
        return 0
    index = math.ceil(BUCKET_STEPS * math.log2(seconds / BUCKET_BASE_S) - 1e-9)
    return min(index, BUCKETS - 1)


def bucket_upper_s(index: int) -> int:
    """The upper edge of a bucket in whole seconds (the overflow bucket reads as its lower edge)."""
    return round(BUCKET_BASE_S * 2 ** (min(index, BUCKETS - 2) / BUCKET_STEPS))


def percentile_s(histogram: Mapping[int, int], q: float) -> int | None:
    """The q-quantile (0 < q <= 1) of the times in `histogram` (bucket -> count), by nearest rank; None if empty."""
    total = sum(n for n in histogram.values() if n > 0)
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram):
        seen += max(0, histogram[index])
        if seen >= rank:
            return bucket_upper_s(index)
    return bucket_upper_s(max(histogram))


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator in 0..1, rounded to 4 places; None when the denominator is 0."""
    if denominator <= 0:
        return None
    return round(min(1.0, max(0.0, numerator / denominator)), 4)


def add_up(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for name, n in one.items():
            total[name] = total.get(name, 0) + int(n)
    return total


def row(key: str, label: str, counts: Mapping[str, int]) -> dict[str, object]:
    """A report row: the counters as they are and the figures derived from them (docs/REPORTS.md)."""

    def n(name: str) -> int:
        return int(counts.get(name, 0))

    histogram = {
        int(name.removeprefix(BUCKET_PREFIX)): int(value)
        for name, value in counts.items()
        if name.startswith(BUCKET_PREFIX) and name.removeprefix(BUCKET_PREFIX).isdigit()
    }
    attended = n("visits_due") - n("no_shows")
    feedback, scored = n("feedback_count"), n("feedback_scored")
    return {
        "key": key,
        "label": label,
        "messages_sent": n("messages_sent"),
        "messages_delivered": n("messages_delivered"),
        "messages_read": n("messages_read"),
        "messages_failed": n("messages_failed"),
        "delivery_rate": rate(n("messages_delivered"), n("messages_sent")),
        "read_rate": rate(n("messages_read"), n("messages_delivered")),
        "failure_rate": rate(n("messages_failed"), n("messages_sent")),
        "replies": n("replies"),
        "reply_rate": rate(n("replies"), n("messages_delivered")),
        "bookings": n("bookings"),
        "no_shows": n("no_shows"),
        "no_show_rate": rate(n("no_shows"), n("visits_due")),
        "no_show_rate_confirmed": rate(n("no_shows_confirmed"), n("visits_due_confirmed")),
        "no_show_rate_unconfirmed": rate(
            n("no_shows") - n("no_shows_confirmed"), n("visits_due") - n("visits_due_confirmed")
        ),
        "rebooked_60d": n("rebooked_60d"),
        "rebook_rate_60d": rate(n("rebooked_60d"), attended),
        "feedback_count": feedback,
        "feedback_avg_score": round(n("feedback_score_sum") / scored, 2) if scored > 0 else None,
        "feedback_negative_pct": rate(n("feedback_negative"), feedback),
        "complaints": n("complaints"),
        "first_response_median_s": percentile_s(histogram, 0.5),
        "first_response_p90_s": percentile_s(histogram, 0.9),
        "opt_outs": n("opt_outs"),
        "campaign_bookings": n("campaign_bookings"),
    }


def week_of(day: str) -> str:
    """The ISO week (Monday) a YYYY-MM-DD day falls in, as YYYY-MM-DD."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()
