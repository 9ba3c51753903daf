"""WeChat subscription messages (订阅通知) and the `wechat_subscribe` channel.

Since 2021 an Official Account may send a member a subscription message of a template she allowed: its web page
shows WeChat's subscribe button (`wx-open-subscribe`) with the account's templates, and each "accept" in that
pop-up lets the account send her one message of that template (one-time subscription). WeChat reports each
choice to the account's server (`subscribe_msg_popup_event`; a template she later turns off in her settings:
`subscribe_msg_change_event`), and each message's result (`subscribe_msg_sent_event`).

This is how a salon reaches a follower by WeChat for the service follow-ups that are not template messages'
booking notices (routing.toml `subscribable`: the feedback request, the first-visit follow-up, the one-month
check-in), instead of an SMS. Marketing never goes this way: WeChat forbids it here as in template messages.

A store maps each such kind to its subscription template in its WeChat secret, `subscriptions`, in the same
shape as `templates` (keywords typed `thing1`, `time2`, ... with the same limits: templates.py fits the values).
Her grants are on her profile (dal/wechat_follow.py); sending spends one of that template's first, atomically,
so two messages never spend one grant, and gives it back when WeChat was only busy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.channels.wechat.grants import template_of
from chalicelib.channels.wechat.receipts import SUBSCRIPTION_PROVIDER
from chalicelib.channels.wechat.templates import TemplateMapping, mapped
from chalicelib.errors import PermanentSendError, TransientSendError


class Grants(Protocol):
    def spend(self, chain_id: str, member_id: str, element: str) -> bool: ...

    def give_back(self, chain_id: str, member_id: str, element: str) -> None: ...


class WeChatSubscribeChannel:
    """Subscription messages for the kinds a store maps to its subscription templates, one grant each."""

    name = "wechat_subscribe"
    provider = SUBSCRIPTION_PROVIDER

    def __init__(self, client: Any, subscriptions: Mapping[str, TemplateMapping], grants: Grants) -> None:
        self._client = client
        self._subscriptions = dict(subscriptions)
        self._grants = grants

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.wechat_openid and contact.wechat_grants and self._subscriptions)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        raise PermanentSendError("wechat subscription: only a mapped message kind can be sent")

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        mapping, openid = mapped("subscription", self._subscriptions, contact, outgoing)
        held = sorted(e for e in contact.wechat_grants if template_of(e) == mapping.template_id)
        if not held:
            raise PermanentSendError(f"wechat subscription: she has not allowed {outgoing.kind}'s template")
        values = {"store_name": outgoing.subject, **outgoing.values, "text": outgoing.text}
        data = mapping.data(outgoing.kind, values)  # a value that cannot fit fails before a grant is spent
        chain_id, member_id = outgoing.values.get("chain_id"), outgoing.values.get("member_id")
        if not chain_id or not member_id:
            raise PermanentSendError("wechat subscription: the message names no member")
        element = next((e for e in held if self._grants.spend(chain_id, member_id, e)), None)
        if element is None:
            raise PermanentSendError("wechat subscription: her grant was spent by another message")
        try:
            msgid = self._client.send_subscription(
                openid, mapping.template_id, data, page=mapping.link(values), miniprogram=mapping.miniprogram
            )
        except TransientSendError:
            self._grants.give_back(chain_id, member_id, element)
            raise
        # No msgid in WeChat's answer: the message went, but no receipt can name it (nothing waits for one:
        # routing.toml sets no receipt wait for this channel).
        return msgid or f"wechat-sub-{uuid.uuid4().hex}"
