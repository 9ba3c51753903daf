"""Whether a member follows a store's WeChat Official Account: two attributes of her profile (MemberItem).

One UpdateItem by key, an upsert (she may have no profile yet), conditional on the stored event time being no
later than this event's: a duplicate rewrites the same value, and a subscribe delivered after a newer unsubscribe
(or the other way round) changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import MemberItem


class WeChatFollowRepository:
    def set_following(self, chain_id: str, member_id: str, following: bool, at: datetime) -> bool:
        """Record her follow state as of `at`; False when a newer event is already recorded."""
        member = MemberItem(*MemberItem.key(chain_id, member_id))
        try:
            member.update(
                actions=[
                    MemberItem.wechat_following.set(following),
                    MemberItem.wechat_following_at.set(at),
                    MemberItem.chain_id.set(chain_id),
                    MemberItem.member_id.set(member_id),
                ],
                condition=MemberItem.wechat_following_at.does_not_exist()
                | (MemberItem.wechat_following_at <= at),
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
