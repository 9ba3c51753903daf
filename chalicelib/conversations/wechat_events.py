"""A WeChat Official Account's events that are not conversation messages (issue 15, §2):

- `subscribe` / `unsubscribe`: she follows the store's account or stops; recorded on her profile
  (`MemberItem.wechat_following`), which the channel router reads before choosing a WeChat template message;
- `TEMPLATESENDJOBFINISH`: a template message's delivery receipt, handed to the receipts service as a
  `ProviderReceipt` (provider "wechat", the msgid the send answered).

Both are idempotent: the follow state is written only when this event is not older than the recorded one, and a
receipt is applied by the receipts service, for which a duplicate or a backward status is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.channels.wechat.callback_xml import WeChatInbound
from chalicelib.channels.wechat.receipts import job_finish_receipt
from chalicelib.observability import logger
from chalicelib.services.receipt_sink import ReceiptSink

FOLLOW_EVENTS = {"subscribe": True, "unsubscribe": False}


class FollowStates(Protocol):
    def set_following(self, chain_id: str, member_id: str, following: bool, at: datetime) -> bool: ...


class WeChatAccountEvents:
    def __init__(self, follows: FollowStates, receipts: ReceiptSink) -> None:
        self._follows = follows
        self._receipts = receipts

    def receipt(self, message: WeChatInbound) -> str:
        """A TEMPLATESENDJOBFINISH event -> the receipts service; what it did ("ignored" for a status we do not
        know)."""
        receipt = job_finish_receipt(message)
        if receipt is None:
            logger.info("WeChat job event ignored", extra={"status": (message.job_status or "")[:40]})
            return "ignored"
        return self._receipts.apply(receipt)

    def follow(self, chain_id: str, member_id: str, message: WeChatInbound) -> bool | None:
        """A subscribe / unsubscribe event -> her follow state (True/False), None for any other event."""
        following = FOLLOW_EVENTS.get(message.event or "")
        if following is None:
            return None
        self._follows.set_following(chain_id, member_id, following, message.created_at)
        return following
