"""The queries of the always-on care tick (chalicelib/care/always_on.py): Query only, never Scan.

- a store's birthdays on a day:      gsi3 `BIRTHDAY#<primary store>#<MM-DD>`
- a store's members by last visit:   gsi1 `STOREMEMBERS#<primary store>`, sort key `<last visit UTC ISO>#<member>`
  (a range of last visits for dormancy and rebook cycles; the whole partition for a holiday greeting)
- a member's future bookings:        gsi1 `MEMBERBK#<chain>#<member>`, sort key the start (UTC ISO) after now
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from chalicelib.dal.models import BookingItem, MemberItem, whole

# A booking in one of these is one she is still coming to.
UPCOMING = ("booked", "confirmed", "checked_in")


class CareDueRepository:
    def birthdays(self, store_id: str, month_day: str) -> Iterator[MemberItem]:
        return iter(
            whole(MemberItem, MemberItem.by_birthday.query(MemberItem.birthday_key(store_id, month_day)))
        )

    def members_last_seen(self, store_id: str, after: datetime, before: datetime) -> Iterator[MemberItem]:
        """Members of the store (primary store) whose last visit is in [after, before)."""
        low = after.astimezone(UTC).isoformat()
        high = before.astimezone(UTC).isoformat()  # "<iso>#..." sorts after "<iso>": before is exclusive
        return MemberItem.by_store.query(MemberItem.store_key(store_id), MemberItem.gsi1sk.between(low, high))

    def members_page(
        self, store_id: str, cursor: str | None, limit: int
    ) -> tuple[list[MemberItem], str | None]:
        """One page (up to `limit`) of the members whose primary store this is (a holiday greeting), from `cursor`
        (the previous page's); the next page's cursor, None after the last. The cursor is the Query's
        LastEvaluatedKey as JSON: it names keys only and travels on our own care-ticks queue."""
        start = json.loads(cursor) if cursor else None
        result = MemberItem.by_store.query(
            MemberItem.store_key(store_id), limit=limit, last_evaluated_key=start
        )
        members = list(result)
        following = result.last_evaluated_key
        return members, json.dumps(following, separators=(",", ":"), sort_keys=True) if following else None

    def has_future_booking(self, chain_id: str, member_id: str, now: datetime) -> bool:
        upcoming = whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id),
                BookingItem.gsi3sk > now.astimezone(UTC).isoformat(),
            ),
        )
        return any(booking.status in UPCOMING for booking in upcoming)
