"""A member's own choice of channel (issue 15 §1), set by her from the booking page or the salon's app.

    mine    GET /v1/stores/{store}/me/channel   her choice, and what she may choose
    choose  PUT /v1/stores/{store}/me/channel   ChannelChoice (contracts/member_channel.py)

The channel router (services/channel_router.py) tries her choice first where it can carry the message now (WeChat
only to a follower or inside its window, never marketing by template; SMS only with a phone) and where the store's
routing lets a member choose (`prefer_member_choice`); otherwise the store's order stands. A manage link's token
(one booking) may not set it, nor may a token of another chain's store: 404, as for her messages.
"""

from __future__ import annotations

from typing import Any

from chalicelib.dal.care import CareRepository
from chalicelib.dal.models import MemberItem
from chalicelib.errors import NotFound
from chalicelib.ids import is_id
from chalicelib.services.channel_router import MEMBER_CHOICES
from chalicelib.services.member_tokens import Member


class MemberChannel:
    def __init__(self, stores: Any, repo: CareRepository) -> None:
        self._stores = stores
        self._repo = repo

    def mine(self, member: Member, store_id: str) -> dict[str, Any]:
        return _view(self._her_profile(member, store_id))

    def choose(self, member: Member, store_id: str, body: Any) -> dict[str, Any]:
        from chalicelib.contracts.member_channel import ChannelChoice
        from chalicelib.contracts.validation import parse

        # authorised first: another chain's store is 404 whatever the body
        profile = self._her_profile(member, store_id)
        choice = parse(ChannelChoice, body, "the channel choice is not valid")
        if not self._repo.set_preferred_channel(profile, choice.preferred_channel):
            raise NotFound("no such member")  # erased meanwhile
        return _view(profile)

    def _her_profile(self, member: Member, store_id: str) -> MemberItem:
        store = self._stores.of_chain(store_id, member.chain_id) if is_id(store_id) else None
        if store is None or member.booking_id is not None:
            raise NotFound("no such store")
        profile = self._repo.member(member.chain_id, member.member_id, consistent=True)
        if profile is None:
            raise NotFound("no such member")
        return profile


def _view(profile: MemberItem) -> dict[str, Any]:
    return {"preferred_channel": profile.preferred_channel or None, "choices": list(MEMBER_CHOICES)}
