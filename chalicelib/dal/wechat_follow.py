"""Whether a member follows a store's WeChat Official Account, and the subscription messages she allowed: attributes
of her profile (MemberItem).

Following: one UpdateItem by key, an upsert (she may have no profile yet), conditional on the stored event time
being no later than this event's: a duplicate rewrites the same value, and a subscribe delivered after a newer
unsubscribe (or the other way round) changes nothing.

Subscription grants (订阅通知, one-time): each "accept" in WeChat's subscribe pop-up lets the account send her one
message of that template. Each is one element `"<template id> <grant id>"` of the string set `wechat_grants`,
the grant id derived from the event (sender, time, event): a duplicate delivery ADDs the same element again,
which changes nothing (and the callback claims each such event once, so a retry arriving after the grant was spent
does not bring it back: conversations/intake.py). Sending consumes one by a DELETE conditional on the element being there, so two messages
never spend one grant; turning the template off in her settings DELETEs all of that template's.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.condition import size

from chalicelib.channels.wechat.grants import template_of
from chalicelib.dal.conditions import update_if
from chalicelib.dal.models import MemberItem

# Bound on one profile's grants (its size is copied into the store index on every write): a pop-up offers a few
# templates per booking, and each grant is spent by a message.
MAX_GRANTS = 12


class WeChatFollowRepository:
    def set_following(self, chain_id: str, member_id: str, following: bool, at: datetime) -> bool:
        """Record her follow state as of `at`; False when a newer event is already recorded."""
        return update_if(
            MemberItem(*MemberItem.key(chain_id, member_id)),
            [
                MemberItem.wechat_following.set(following),
                MemberItem.wechat_following_at.set(at),
                MemberItem.chain_id.set(chain_id),
                MemberItem.member_id.set(member_id),
            ],
            MemberItem.wechat_following_at.does_not_exist() | (MemberItem.wechat_following_at <= at),
        )

    def grant(self, chain_id: str, member_id: str, elements: list[str]) -> bool:
        """Add her grants (idempotent: a set); False when she already holds the most a profile keeps."""
        if not elements:
            return True
        return update_if(
            MemberItem(*MemberItem.key(chain_id, member_id)),
            [
                MemberItem.wechat_grants.add(set(elements)),
                MemberItem.chain_id.set(chain_id),
                MemberItem.member_id.set(member_id),
            ],
            MemberItem.wechat_grants.does_not_exist()
            | (size(MemberItem.wechat_grants) <= MAX_GRANTS - len(elements)),
        )

    def revoke(self, chain_id: str, member_id: str, template_ids: set[str]) -> int:
        """Drop every grant of these templates (she turned them off); how many were dropped."""
        try:
            stored = MemberItem.get(*MemberItem.key(chain_id, member_id), consistent_read=True)
        except MemberItem.DoesNotExist:
            return 0
        held = set(stored.wechat_grants or ())
        gone = {element for element in held if template_of(element) in template_ids}
        if gone:
            member = MemberItem(*MemberItem.key(chain_id, member_id))
            member.update(actions=[MemberItem.wechat_grants.delete(gone)])
        return len(gone)

    def spend(self, chain_id: str, member_id: str, element: str) -> bool:
        """Spend one grant: True when it was there (and is now gone), False when another message spent it."""
        return update_if(
            MemberItem(*MemberItem.key(chain_id, member_id)),
            [MemberItem.wechat_grants.delete({element})],
            MemberItem.wechat_grants.contains(element),
        )

    def give_back(self, chain_id: str, member_id: str, element: str) -> None:
        """A grant spent on a send that did not go (WeChat busy): hers again."""
        member = MemberItem(*MemberItem.key(chain_id, member_id))
        member.update(actions=[MemberItem.wechat_grants.add({element})])
