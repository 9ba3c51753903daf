"""Which members a member of staff may reach at a store: the one rule every member route asks.

A member belongs to the stores she has dealt with: one where she has a booking, a conversation, or which is her
primary (or last) store. Store-scoped staff (stylist, front desk, store manager) reach her only through a store
she belongs to; anywhere else she is `404 no such member`, the very answer about a member nobody knows, so
neither her existence nor her stores leak. A chain_admin sees every store of the chain, and so every member.

The checks run cheapest first and stop at the first yes: the profile's stores (already read by most callers),
the conversation's `META` (GetItem), then her bookings (Query gsi3, keys only, read a page at a time). Never a
Scan. `auth.require` runs before: an unknown store is 404 and a role without the action 403, whoever the member.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.dal.membership import MembershipRepository
from chalicelib.dal.models import MemberItem
from chalicelib.errors import NotFound
from chalicelib.services import auth

_UNREAD: Any = object()  # the caller has not read her profile: read it here


class MemberAccess:
    def __init__(self, repo: MembershipRepository) -> None:
        self._repo = repo

    def require(
        self,
        staff: auth.Staff,
        store: Any,
        member_id: str,
        *,
        member: MemberItem | None = _UNREAD,
        bookings: Iterable[Any] | None = None,
    ) -> None:
        """404 `no such member` unless `staff` may reach this member at this (visible) store. `member` is her
        profile when the caller has read it (None: she has none); `bookings`, all of her bookings when read."""
        if staff.role == "chain_admin" and staff.chain_id == store.chain_id:
            return
        if not self.belongs(store.chain_id, store.store_id, member_id, member=member, bookings=bookings):
            raise NotFound("no such member")

    def belongs(
        self,
        chain_id: str,
        store_id: str,
        member_id: str,
        *,
        member: MemberItem | None = _UNREAD,
        bookings: Iterable[Any] | None = None,
    ) -> bool:
        if member is _UNREAD:
            member = self._repo.member(chain_id, member_id)
        if member is not None and store_id in (member.primary_store_id, member.last_store_id):
            return True
        if bookings is not None and any(b.store_id == store_id for b in bookings):
            return True
        if self._repo.has_conversation(store_id, member_id):
            return True
        return bookings is None and self._repo.has_booking_at(chain_id, member_id, store_id)
