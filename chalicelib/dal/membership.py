"""What says a member belongs to a store: her profile's stores, her conversation there, her bookings there.

Key lookups and Queries only (docs/ARCHITECTURE.md, access patterns 47-49): never a Scan.
"""

from __future__ import annotations

from chalicelib.dal.models import BookingItem, ConversationItem, MemberItem, whole

PAGE = (
    25  # booking keys read per Query page (then one BatchGetItem), stopping at the first booking at the store
)


class MembershipRepository:
    def member(self, chain_id: str, member_id: str) -> MemberItem | None:
        try:
            return MemberItem.get(*MemberItem.key(chain_id, member_id), consistent_read=True)
        except MemberItem.DoesNotExist:
            return None

    def has_conversation(self, store_id: str, member_id: str) -> bool:
        pk, sk = ConversationItem.key(store_id, member_id)
        try:
            ConversationItem.get(pk, sk, consistent_read=True, attributes_to_get=["pk"])
        except ConversationItem.DoesNotExist:
            return False
        return True

    def has_booking_at(self, chain_id: str, member_id: str, store_id: str) -> bool:
        """Whether one of her bookings is at this store: gsi3 (keys only) `MEMBERBK#<chain>#<member>` newest first,
        a page of keys at a time read whole; then gsi1, where bookings written before 2026-11 wait for
        `ops.reindex` (that read goes once it has run in every region)."""
        key = BookingItem.member_key(chain_id, member_id)
        page: list[BookingItem] = []
        for found in BookingItem.by_member.query(key, scan_index_forward=False, page_size=PAGE):
            page.append(found)
            if len(page) == PAGE:
                if any(b.store_id == store_id for b in whole(BookingItem, page)):
                    return True
                page = []
        if page and any(b.store_id == store_id for b in whole(BookingItem, page)):
            return True
        return any(
            b.store_id == store_id
            for b in BookingItem.by_member_before.query(key, attributes_to_get=["pk", "sk", "store_id"])
        )
