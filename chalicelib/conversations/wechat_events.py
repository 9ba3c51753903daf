"""A WeChat Official Account's events that are not conversation messages (issue 15, §2):

- `subscribe` / `unsubscribe`: she follows the store's account or stops; recorded on her profile
  (`MemberItem.wechat_following`), which the channel router reads before choosing a WeChat template message;
- `TEMPLATESENDJOBFINISH`: a template message's delivery receipt, handed to the receipts service as a
  `ProviderReceipt` (provider "wechat", the msgid the send answered);
- `subscribe_msg_popup_event`: her choices in the subscribe pop-up; each "accept" is one grant of a subscription
  message of that template (channels/wechat/subscriptions.py), recorded on her profile (`wechat_grants`);
- `subscribe_msg_change_event`: a template she turned off in her settings loses its grants;
- `subscribe_msg_sent_event`: subscription messages' results, receipts under provider "wechat_subscribe".

All are idempotent: the follow state is written only when this event is not older than the recorded one, a grant
is a set element derived from the event (a duplicate adds nothing; the callback also claims a choice event once,
so a late retry cannot restore a spent grant; a grant lost to a failure only costs an SMS), and a receipt is applied by the receipts
service, for which a duplicate or a backward status is a no-op.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from chalicelib.channels.wechat.callback_xml import (
    SUBSCRIBE_CHANGE,
    SUBSCRIBE_POPUP,
    SUBSCRIBE_SENT,
    WeChatInbound,
)
from chalicelib.channels.wechat.grants import grant_element
from chalicelib.channels.wechat.receipts import job_finish_receipt, subscription_receipts
from chalicelib.observability import logger
from chalicelib.services.receipt_sink import ReceiptSink

FOLLOW_EVENTS = {"subscribe": True, "unsubscribe": False}
ACCEPT = "accept"
# WeChat's template ids: letters, digits, '-' and '_' (a grant element is "<template id> <grant id>").
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class FollowStates(Protocol):
    def set_following(self, chain_id: str, member_id: str, following: bool, at: datetime) -> bool: ...

    def grant(self, chain_id: str, member_id: str, elements: list[str]) -> bool: ...

    def revoke(self, chain_id: str, member_id: str, template_ids: set[str]) -> int: ...


class WeChatAccountEvents:
    def __init__(self, follows: FollowStates, receipts: ReceiptSink) -> None:
        self._follows = follows
        self._receipts = receipts

    def receipt(self, message: WeChatInbound) -> str:
        """A TEMPLATESENDJOBFINISH or subscribe_msg_sent_event -> the receipts service; what it did ("ignored"
        for a status we do not know)."""
        if message.event == SUBSCRIBE_SENT:
            done = [self._receipts.apply(r) for r in subscription_receipts(message)]
            return ",".join(done) or "ignored"
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

    def subscription_choices(self, chain_id: str, member_id: str, message: WeChatInbound) -> str | None:
        """Her pop-up or settings choices -> her grants: "granted" / "revoked" / "full" (she holds the most a
        profile keeps) / "none"; None for any other event."""
        if message.event not in (SUBSCRIBE_POPUP, SUBSCRIBE_CHANGE):
            return None
        choices = [(t, status) for t, status in message.subscription_choices if _TEMPLATE_ID.fullmatch(t)]
        if message.event == SUBSCRIBE_CHANGE:
            off = {t for t, status in choices if status != ACCEPT}
            return "revoked" if off and self._follows.revoke(chain_id, member_id, off) else "none"
        # one grant per accepted template of this pop-up: the event's own id makes a duplicate the same element
        grants = sorted({grant_element(t, message.msg_id) for t, status in choices if status == ACCEPT})
        if not grants:
            return "none"
        return "granted" if self._follows.grant(chain_id, member_id, grants) else "full"
