"""The operational counts Chairside emits to CloudWatch (issue 17 §2): a port the domain counts through, so no
service imports Powertools. `Container.metrics` (chalicelib/bootstrap.py) is the Powertools EMF adapter
(chalicelib/observability.py, `EmfCounter`); tests and the local stack count into `NO_METRICS` or their own.

These are the same events the reports count (docs/REPORTS.md), but counted at least once: a retried delivery may
count twice. They feed the dashboard and alarms; the exact figures are the reports'.
"""

from __future__ import annotations

from typing import Protocol

MESSAGES_SENT = "MessagesSent"
MESSAGES_DELIVERED = "MessagesDelivered"
MESSAGES_READ = "MessagesRead"
MESSAGES_FAILED = "MessagesFailed"
REPLIES = "Replies"
BOOKINGS = "Bookings"
NO_SHOWS = "NoShows"
COMPLAINTS = "Complaints"
OPT_OUTS = "OptOuts"
HAND_OFFS = "HandOffs"

# Every metric the code emits, in the dashboard's order (infra/template.py draws one line per name).
ALL = (
    MESSAGES_SENT,
    MESSAGES_DELIVERED,
    MESSAGES_READ,
    MESSAGES_FAILED,
    REPLIES,
    BOOKINGS,
    NO_SHOWS,
    COMPLAINTS,
    OPT_OUTS,
    HAND_OFFS,
)

# A provider receipt's status -> the metric it counts when it moves a message (services/receipts.py).
RECEIPT_METRICS = {"delivered": MESSAGES_DELIVERED, "read": MESSAGES_READ, "failed": MESSAGES_FAILED}
# A member's reply: the intent and the actions (conversations/actions.toml) that count, and as what.
INTENT_METRICS = {"complaint": COMPLAINTS}
ACTION_METRICS = {"opt_out": OPT_OUTS, "needs_human": HAND_OFFS}


class Counter(Protocol):
    def count(self, name: str, n: int = 1) -> None: ...


class NoMetrics:
    """Counts nothing (the default of every service that takes a `metrics`)."""

    def count(self, name: str, n: int = 1) -> None:
        return None


NO_METRICS: Counter = NoMetrics()
