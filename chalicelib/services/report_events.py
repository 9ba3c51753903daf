"""What the report counters count, called where the events happen (issue 17; docs/REPORTS.md defines each figure).

Counting once (dal/report_counters.py): a message's status and a booking's status are counted right after the
conditional write that changed them (a new booking inside its own transaction: `booking_updates`), so a duplicate,
which changes nothing, counts nothing. The other events name themselves (`once`) and are counted at most once
however often they are delivered or retried. Inside `batch()` (a worker invocation: the steps worker's SQS batch)
the counts that follow a state change are summed per counter item and written once each when the batch ends;
`once` events are still written as they happen. A count that fails is logged and dropped: a report figure is never
a reason to fail a send, a booking or a member's message.

Days are store-local dates (the store's timezone): a message counts on the day it was sent, a booking's figures on
the day of the visit, a reply, complaint, opt-out or staff answer on the day it happened, a rebooking on the day
of the earlier visit, a campaign booking on the day it was made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.dal.models import BookingItem, ConversationItem, MessageItem
from chalicelib.dal.report_counters import PendingCounts, ReportCounters, counter_items
from chalicelib.observability import logger
from chalicelib.services.report_figures import BUCKET_PREFIX, bucket_of

OUTCOMES = ("checked_in", "completed", "no_show")
ATTENDED = ("checked_in", "completed")
MADE = ("booked", "confirmed", "checked_in", "completed", "no_show")
REBOOK_WINDOW = timedelta(days=60)
# A message's status change (dal/messages.py) -> what it counts: a send that failed for good was still sent (tried);
# a failure reported by a receipt after the send counts only as failed.
MESSAGE_COUNTS = {
    "sent": ("messages_sent",),
    "failed": ("messages_sent", "messages_failed"),
    "receipt_failed": ("messages_failed",),
    "delivered": ("messages_delivered",),
    "read": ("messages_read",),
}


class ReportEvents:
    def __init__(self, counters: ReportCounters, stores: Any, clock: Clock) -> None:
        self._counters = counters
        self._stores = stores
        self._clock = clock
        # Inside batch(): what waits for its one write per item -- per thread, so that a request served beside a
        # worker in one process (the local stack) is never summed into the worker's batch.
        self._local = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Sum the counts that follow a state change (a message's status) per store-day, channel and stylist, and
        write each counter item once when the block ends, error or not. Every count is still taken only after
        the write that moved the state succeeded; a worker killed before the end loses the counts it held (the
        retry finds the states already moved and counts nothing: an undercount, never a double count). Nested:
        the outermost block writes."""
        if getattr(self._local, "pending", None) is not None:
            yield
            return
        pending = self._local.pending = PendingCounts()
        try:
            yield
        finally:
            self._local.pending = None
            self._flush(pending)

    def _flush(self, pending: PendingCounts) -> None:
        for key, counts in pending.drain():
            try:
                self._counters.add_summed(key, counts)
            except Exception:  # noqa: BLE001 - a lost count is logged, never a failed send
                logger.exception("report counter not written", extra={"counts": sorted(counts)})

    # --- messages (dal/messages.py calls it right after the write that moved the status) -----------------
    def message_status(self, message: MessageItem, status: str) -> None:
        """An outbound message moved to `status` (see MESSAGE_COUNTS)."""
        if getattr(message, "direction", None) != "out" or status not in MESSAGE_COUNTS:
            return
        if not message.chain_id or not message.store_id:
            return
        counts = dict.fromkeys(MESSAGE_COUNTS[status], 1)
        self._add(message.chain_id, message.store_id, _sort_time(message.sk), counts, channel=message.channel)

    # --- bookings (booking_events.py, booking_marks.py: written with the booking's commit) --------------------
    def booking_updates(
        self, chain_id: str, before: BookingItem | None, after: BookingItem
    ) -> list[dict[str, Any]]:
        """The counter updates of committing `after` over `before` (None: a new booking), for BookingCommit.also:
        inside the commit's transaction when it is one, else right after its conditional put."""
        try:
            counts = booking_counts(before, after)
            if not counts:
                return []
            # A no-show of a member who had confirmed is noted, so that staff correcting it to a visit later
            # also take it off the confirmed split (one GetItem, only then).
            flag = f"noshow-confirmed#{after.booking_id}"
            if counts == {"no_shows": -1} and self._counters.flagged(chain_id, flag):
                counts["no_shows_confirmed"] = -1
            updates = self._counters.updates(
                chain_id,
                after.store_id,
                self._day(after.store_id, after.start),
                counts,
                stylist=after.stylist_id,
            )
            if counts.get("no_shows_confirmed", 0) > 0:
                updates.append(self._counters.flag(chain_id, flag, self._clock.now()))
            return updates
        except Exception:  # noqa: BLE001 - a lost count is logged, never a failed booking
            logger.exception("report counter not prepared")
            return []

    def rebooked(self, chain_id: str, new: BookingItem, history: list[BookingItem]) -> None:
        """A new booking: the visit before it counts as rebooked when it was at most 60 days before she booked."""
        earlier = [
            b
            for b in history
            if b.booking_id != new.booking_id and b.status in ATTENDED and b.start <= new.booked_at
        ]
        if not earlier:
            return
        visit = max(earlier, key=lambda b: b.start)
        if new.booked_at - visit.start <= REBOOK_WINDOW:
            self._add(
                chain_id,
                visit.store_id,
                visit.start,
                {"rebooked_60d": 1},
                once=f"rebook#{visit.booking_id}",
                stylist=visit.stylist_id,
            )

    def campaign_booking(self, chain_id: str, booking: BookingItem) -> None:
        """A booking made within the attribution window after a campaign message to her (care/campaigns.py)."""
        self._add(
            chain_id,
            booking.store_id,
            booking.booked_at,
            {"campaign_bookings": 1},
            once=f"campaign#{booking.booking_id}",
            stylist=booking.stylist_id,
        )

    def feedback(self, chain_id: str, booking: BookingItem, score: int | None, negative: bool) -> None:
        """Her answer to the feedback request about `booking`: a 1-5 `score` when she gave one, and whether it was
        negative. Counted once per booking (the first answer recorded), on the visit's day and stylist."""
        counts = {
            "feedback_count": 1,
            "feedback_scored": int(score is not None),
            "feedback_score_sum": int(score or 0),
            "feedback_negative": int(negative),
        }
        self._add(
            chain_id,
            booking.store_id,
            booking.start,
            counts,
            once=f"feedback#{booking.booking_id}",
            stylist=booking.stylist_id,
        )

    # --- conversations ----------------------------------------------------------------------------
    def member_message(self, message: MessageItem, intent: str, actions: list[str]) -> None:
        """A member's message was understood and acted on: she replied (once a member a day), perhaps a complaint
        handed to staff, perhaps an opt-out."""
        at = message.created_at
        chain_id, store_id, channel = message.chain_id, message.store_id, message.channel
        day = self._day(store_id, at)
        self._add(
            chain_id,
            store_id,
            at,
            {"replies": 1},
            once=f"reply#{store_id}#{message.member_id}#{day}",
            channel=channel,
        )
        bases = {action.split(":", 1)[0] for action in actions}
        if intent == "complaint" and "needs_human" in bases:
            self._add(chain_id, store_id, at, {"complaints": 1}, once=f"complaint#{message.pk}#{message.sk}")
        if "opt_out" in bases:
            self._add(
                chain_id,
                store_id,
                at,
                {"opt_outs": 1},
                once=f"optout#{message.pk}#{message.sk}",
                channel=channel,
            )

    def email_unsubscribed(self, chain_id: str, store_id: str, at: datetime) -> None:
        """A member withdrew her marketing consent through an email's one-click unsubscribe (counted once per
        withdrawal: a repeated click changes nothing), on her primary store's day."""
        self._add(chain_id, store_id, at, {"opt_outs": 1}, channel="email")

    def staff_answered(self, conversation: ConversationItem, at: datetime) -> None:
        """Staff answered a handed-off conversation: the time since her latest message, once per that message."""
        waiting_since = conversation.last_inbound_at
        if conversation.status != "needs_human" or waiting_since is None:
            return
        seconds = max(0.0, (at - waiting_since).total_seconds())
        self._add(
            conversation.chain_id,
            conversation.store_id,
            at,
            {"first_responses": 1, f"{BUCKET_PREFIX}{bucket_of(seconds)}": 1},
            once=f"fr#{conversation.store_id}#{conversation.member_id}#{waiting_since.isoformat()}",
        )

    # ---------------------------------------------------------------------------------------------
    def _add(
        self,
        chain_id: str,
        store_id: str,
        at: datetime,
        counts: Mapping[str, int],
        *,
        once: str | None = None,
        stylist: str | None = None,
        channel: str | None = None,
    ) -> None:
        try:
            pending: PendingCounts | None = getattr(self._local, "pending", None)
            if once is None and pending is not None:
                day = self._day(store_id, at)
                pending.add(counter_items(chain_id, store_id, day, counts, stylist=stylist, channel=channel))
                return
            self._counters.add(
                chain_id,
                store_id,
                self._day(store_id, at),
                counts,
                once=once,
                now=self._clock.now(),
                stylist=stylist,
                channel=channel,
            )
        except Exception:  # noqa: BLE001 - a lost count is logged, never a failed send or booking
            logger.exception("report counter not written", extra={"counts": sorted(counts)})

    def _day(self, store_id: str, at: datetime) -> str:
        """The store-local date of `at` (UTC for a store not known here)."""
        try:
            store = self._stores.get(store_id)
        except Exception:  # noqa: BLE001 - a store served elsewhere (421): its day in UTC
            store = None
        zone = ZoneInfo(store.timezone) if store is not None and store.timezone else UTC
        return at.astimezone(zone).date().isoformat()


def booking_counts(before: BookingItem | None, after: BookingItem) -> dict[str, int]:
    """What a booking's change counts on its visit day: a new booking; its first outcome (came or not, and whether
    she had confirmed by reply before); a no-show that staff corrected to a visit."""
    was = before.status if before is not None else None
    counts: dict[str, int] = {}
    if was is None and after.status in MADE:
        counts["bookings"] = 1
    if after.status in OUTCOMES and was not in OUTCOMES:
        confirmed, no_show = was == "confirmed", after.status == "no_show"
        counts.update(
            visits_due=1,
            visits_due_confirmed=int(confirmed),
            no_shows=int(no_show),
            no_shows_confirmed=int(no_show and confirmed),
        )
    elif was == "no_show" and after.status in ATTENDED:
        counts["no_shows"] = -1
    return {name: n for name, n in counts.items() if n}


def _sort_time(sk: str) -> datetime:
    """The time a message sorts at (its sort key "MSG#<UTC time>#<id>"): when it was sent or due."""
    return datetime.strptime(sk.split("#")[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
