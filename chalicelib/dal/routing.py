"""What the channel router reads of a member at send time (issue 15 §1): her profile and her conversation with
the store. Two GetItems, eventually consistent (0.5 RRU each): a preference or a follow written a second ago
may be missed by one message, which costs nothing that matters; a WeChat window it misses falls back."""

from __future__ import annotations

from chalicelib.dal.models import ConversationItem, MemberItem


def route_inputs(
    chain_id: str, store_id: str, member_id: str
) -> tuple[MemberItem | None, ConversationItem | None]:
    try:
        member: MemberItem | None = MemberItem.get(*MemberItem.key(chain_id, member_id))
    except MemberItem.DoesNotExist:
        member = None
    try:
        conversation: ConversationItem | None = ConversationItem.get(
            *ConversationItem.key(store_id, member_id)
        )
    except ConversationItem.DoesNotExist:
        conversation = None
    return member, conversation
