"""Campaign attribution: a booking or reply soon after her campaign message counts for that campaign, once
(the care repository's claims remember it). Its own module: the inbound worker counts every reply and needs
nothing else of campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.dal.care import CareRepository

ATTRIBUTION = timedelta(days=14)  # a booking or reply this soon after her campaign message counts for it


def attribute_bookings(
    repo: CareRepository,
    chain_id: str,
    member_id: str,
    bookings: list[Any],
    counted: Callable[[str, Any], None] | None = None,
) -> None:
    """Count each booking she made within 14 days after a campaign message, once per booking; `counted` is told
    each booking a campaign claimed (the report's campaign bookings: it counts a booking once, whatever claimed it)."""
    for sent_at, kind, occasion in repo.ledger(chain_id, member_id).recent or []:
        if kind != "campaign":
            continue
        start = datetime.fromisoformat(sent_at)
        for booking in bookings:
            if start < booking.booked_at <= start + ATTRIBUTION and repo.attribute(
                chain_id, member_id, occasion, "bookings", booking.booking_id
            ):
                repo.count(chain_id, occasion.split(":", 1)[1], {"bookings": 1})
                if counted is not None:
                    counted(chain_id, booking)


def attribute_reply(repo: CareRepository, chain_id: str, member_id: str, at: datetime) -> None:
    """Count her reply for each campaign whose message she had within 14 days before it: once per member, however
    many times she writes (the claim remembers it, so a redelivered message counts nothing more)."""
    for sent_at, kind, occasion in repo.ledger(chain_id, member_id).recent or []:
        start = datetime.fromisoformat(sent_at)
        if (
            kind == "campaign"
            and start < at <= start + ATTRIBUTION
            and repo.attribute(chain_id, member_id, occasion, "replies", "replied")
        ):
            repo.count(chain_id, occasion.split(":", 1)[1], {"replies": 1})


class ReplyAttribution:
    """What the inbound service calls on each member message: attribute_reply on this care repository."""

    def __init__(self, repo: CareRepository) -> None:
        self._repo = repo

    def count(self, chain_id: str, member_id: str, at: datetime) -> None:
        attribute_reply(self._repo, chain_id, member_id, at)
