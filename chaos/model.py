"""What the soak's bookings should receive, written independently of the production planner.

The production code plans steps from journeys.toml with `journeys/plan.py`; the soak must not reuse it, or a
planner bug would be "expected". Instead each booking's fate (how its story ends) maps to the message kinds
and booking versions a member must get exactly once, straight from the rules as documented in journeys.toml
(a unit test keeps these names and categories in step with the file). The scenario (chaos/scenario.py) only
builds bookings for which the timing preconditions hold (booked at least a day ahead, slots 11:00 or 14:00
store-local, so no quiet hours move a step past the slot).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The journey as the soak expects it.
CONFIRMATION = "confirmation"
RESCHEDULE_CONFIRMATION = "reschedule_confirmation"
UPCOMING = ("reminder_day_before", "reminder_2h")  # for the slot the booking holds when they are due
NO_SHOW = "no_show_followup"  # once, 30 minutes after a slot nobody checked in for
# After completion (no feedback given). Each soak booking is its member's only one, so it is her first visit and
# the first-visit follow-up (journeys.toml only_if = ["first_visit"]) is due too.
AFTER_VISIT = ("aftercare", "first_visit_followup", "feedback_request", "review_request")
ONE_MONTH = "checkin_1_month"
ONE_MONTH_CATEGORIES = ("perm", "hair_colour")

FATES = ("completed", "rescheduled", "cancelled", "no_show")

Expected = frozenset[tuple[str, int]]  # (kind, booking version it was planned at)


def expected_messages(fate: str, category: str) -> Expected:
    """The (kind, version) pairs one booking must receive. Versions: created 1; each applied change +1
    (rescheduled, checked_in, completed, cancelled); duplicates and stale events change nothing."""
    one_month = (ONE_MONTH,) if category in ONE_MONTH_CATEGORIES else ()
    if fate == "cancelled":  # created v1, cancelled v2 before any reminder was due
        return frozenset({(CONFIRMATION, 1)})
    if fate == "no_show":  # created v1; nobody checks in; the booking system's no_show event changes nothing
        return frozenset({(CONFIRMATION, 1), *((k, 1) for k in UPCOMING), (NO_SHOW, 1)})
    if fate == "completed":  # created v1, checked_in v2, completed v3
        return frozenset(
            {(CONFIRMATION, 1), *((k, 1) for k in UPCOMING), *((k, 3) for k in AFTER_VISIT + one_month)}
        )
    if fate == "rescheduled":  # created v1, rescheduled v2 (new slot), checked_in v3, completed v4
        return frozenset(
            {
                (CONFIRMATION, 1),
                (RESCHEDULE_CONFIRMATION, 2),
                *((k, 2) for k in UPCOMING),
                *((k, 4) for k in AFTER_VISIT + one_month),
            }
        )
    raise ValueError(f"unknown fate {fate!r}")


_MESSAGE_ID = re.compile(r"^out-[0-9a-f]+-(?P<kind>[a-z0-9_]+)-v(?P<version>\d+)$")


def kind_and_version(message_id: str) -> tuple[str, int] | None:
    """`out-<booking ref>-<kind>-v<version>` (the outbound message id) -> (kind, version)."""
    match = _MESSAGE_ID.match(message_id or "")
    return (match["kind"], int(match["version"])) if match else None


def attribute(sms_texts: Iterable[str], history: Iterable[Mapping]) -> list[tuple[str, int] | None]:
    """Name each SMS the provider really sent to a member by the conversation message with the same text
    (history items as the messages API shows them); None for an SMS that no message explains."""
    by_text: dict[str, tuple[str, int] | None] = {}
    for item in history:
        if item.get("direction") == "out" and item.get("text"):
            by_text.setdefault(item["text"], kind_and_version(item.get("id", "")))
    return [by_text.get(text) for text in sms_texts]


def across_channels(
    by_channel: Mapping[str, Iterable[tuple[str, int] | None]],
) -> list[tuple[str, int] | None]:
    """What one member got, channel by channel (channel -> attributed messages), as one list: a message counts as
    many times as the channel that carried it most often did. The router's one fallback (a template refused, or
    no receipt in time) may carry a message on a second channel -- that is not a duplicate; twice on one channel
    is. Unexplained messages (None) all count."""
    counts: dict[tuple[str, int] | None, int] = {}
    unexplained = 0
    for messages in by_channel.values():
        seen = Counter(messages)
        unexplained += seen.pop(None, 0)
        for message, n in seen.items():
            counts[message] = max(counts.get(message, 0), n)
    return [m for m, n in counts.items() for _ in range(n)] + [None] * unexplained


@dataclass
class Verdict:
    expected: int = 0
    delivered: int = 0  # expected messages that arrived (once)
    duplicates: int = 0  # extra copies of an expected message
    stale: int = 0  # messages that should not have been sent at all (old slot, cancelled, unexplained)
    lost: int = 0  # expected messages that never arrived
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.duplicates == 0 and self.stale == 0 and self.lost == 0


def check(expected: Mapping[str, Expected], sent: Mapping[str, list[tuple[str, int] | None]]) -> Verdict:
    """Compare, booking by booking, what should have been sent with what the provider sent."""
    verdict = Verdict()
    for booking_id in sorted(set(expected) | set(sent)):
        want = expected.get(booking_id, frozenset())
        got = Counter(sent.get(booking_id, []))
        verdict.expected += len(want)
        for message, count in got.items():
            if message in want:
                verdict.delivered += 1
                if count > 1:
                    verdict.duplicates += count - 1
                    verdict.problems.append(f"{booking_id}: {message} sent {count} times")
            else:
                verdict.stale += count
                verdict.problems.append(
                    f"{booking_id}: {message or 'an unexplained SMS'} should not have been sent"
                )
        for message in sorted(want - set(got)):
            verdict.lost += 1
            verdict.problems.append(f"{booking_id}: {message} never sent")
    return verdict


# --- double bookings (issue 14) ---------------------------------------------------------------------------
HOLDING = (
    "booked",
    "confirmed",
    "checked_in",
    "completed",
)  # a booking that holds (or held) its stylist's time


def double_bookings(rows: Iterable[Mapping]) -> int:
    """Pairs of bookings of one stylist whose times overlap while both hold them, from the staff day view's
    bookings (`id`, `status`, `start` with its offset, `duration_minutes`, `buffer_minutes`, `stylist.id`),
    whatever made them: a booking holds its service and its buffer.
    Times that merely touch (one ends as the next starts) do not overlap."""
    from datetime import datetime, timedelta

    seen: dict[str, Mapping] = {}
    for row in rows:
        if row.get("status") in HOLDING:
            seen[row["id"]] = row
    by_stylist: dict[str, list[tuple[datetime, datetime]]] = {}
    for row in seen.values():
        start = datetime.fromisoformat(row["start"])
        by_stylist.setdefault(row["stylist"]["id"], []).append(
            (
                start,
                start + timedelta(minutes=int(row["duration_minutes"]) + int(row.get("buffer_minutes") or 0)),
            )
        )
    pairs = 0
    for spans in by_stylist.values():
        spans.sort()
        for i, (_, end) in enumerate(spans):
            for later_start, _ in spans[i + 1 :]:
                if later_start >= end:
                    break
                pairs += 1
    return pairs
