"""WeChat's subscribe button on the member's booking page (issue 15 §2: subscription messages, 服务号订阅通知).

A follower's service follow-ups (feedback request, first-visit follow-up, one-month check-in) go by subscription
message only after she allowed the store's template in WeChat's subscribe pop-up (channels/wechat/grants.py).
Inside WeChat's browser the booking page shows that pop-up's button, WeChat's own `<wx-open-subscribe>` open tag,
for the store's subscription templates. WeChat renders the tag only after the page's `wx.config(...)`, signed with
the account's JS-SDK ticket (channels/wechat/jssdk.py): this service gives the page that configuration. Her choices
then reach the account's server as `subscribe_msg_popup_event`, which the WeChat callback turns into grants.

Public, like the booking page: the configuration names the app id and a signature of the page's own address,
nothing of a member. Only the store's booking page (`<public base>/book/<store>`) is signed.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Callable
from typing import Any

from chalicelib.channels.wechat.jssdk import page_url, signature
from chalicelib.clock import Clock
from chalicelib.errors import NotFound, ProviderUnavailable, SendError, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.observability import logger
from chalicelib.services.member_sessions import WeChatNotConfigured

OPEN_TAGS = ["wx-open-subscribe"]
MAX_URL = 2048


def _nonce() -> str:
    return secrets.token_hex(8)


class WeChatPage:
    def __init__(
        self,
        stores: Any,  # services/stores.py StoreDirectory
        wechat_credentials: Callable[[str], Any],  # secrets.ChannelSecrets.wechat_credentials
        wechat_client: Callable[[str, Any], Any],  # channels/registry.py ChannelRegistry.wechat_client
        public_base: str,
        clock: Clock,
        new_nonce: Callable[[], str] = _nonce,
    ) -> None:
        self._stores = stores
        self._credentials = wechat_credentials
        self._client = wechat_client
        self._public_base = public_base.rstrip("/")
        self._clock = clock
        self._new_nonce = new_nonce

    def js_config(self, store_id: str, url: object) -> dict[str, Any]:
        """`wx.config`'s values for the store's booking page at `url`, and the subscription templates its
        subscribe button offers. 404 unknown store; 409 `wechat_not_configured` (no Official Account, or no public
        base URL); 400 `url` not this store's booking page; 503 when WeChat gives no ticket."""
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None:
            raise NotFound("no such store")
        credentials = self._credentials(store.store_id)
        if credentials is None:
            raise WeChatNotConfigured("this store has no WeChat Official Account")
        if not self._public_base:
            raise WeChatNotConfigured("WeChat's JS-SDK needs the public base URL (CHAIRSIDE_PUBLIC_BASE_URL)")
        page = self._booking_page(store.store_id, url)
        try:
            ticket = self._client(store.store_id, credentials).jsapi_ticket()
        except SendError as failure:
            logger.warning(
                "wechat js-sdk ticket unavailable", extra={"store_id": store.store_id, "reason": str(failure)}
            )
            raise ProviderUnavailable(f"WeChat gave no JS-SDK ticket: {failure}") from None
        timestamp = int(self._clock.now().timestamp())
        nonce = self._new_nonce()
        return {
            "app_id": credentials.app_id,
            "timestamp": timestamp,
            "nonce_str": nonce,
            "signature": signature(ticket, nonce, timestamp, page),
            "open_tags": OPEN_TAGS,
            "subscribe_template_ids": sorted({m.template_id for m in credentials.subscriptions.values()}),
        }

    def _booking_page(self, store_id: str, url: object) -> str:
        """`url` without its fragment, when it is this store's booking page under the public base URL."""
        wrong = ValidationFailed(
            "url must be this store's booking page", {"url": f"{self._public_base}/book/{store_id}"}
        )
        if not isinstance(url, str) or not url or len(url) > MAX_URL:
            raise wrong
        page = page_url(url)
        try:
            parts = urllib.parse.urlsplit(page)
        except ValueError:  # e.g. an unbalanced [ in the host
            raise wrong from None
        base = urllib.parse.urlsplit(self._public_base)
        same_origin = (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())
        if not same_origin or parts.path.rstrip("/") != f"{base.path}/book/{store_id}":
            raise wrong
        return page
