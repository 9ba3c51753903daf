"""WeChat's JS-SDK configuration of a page (JS-SDK 说明文档, 附录1 "JS-SDK使用权限签名算法").

A page inside WeChat's browser calls `wx.config({appId, timestamp, nonceStr, signature, jsApiList,
openTagList})` before it may use the SDK or an open tag such as `<wx-open-subscribe>`. The signature is the SHA-1
(hex) of `jsapi_ticket=<ticket>&noncestr=<nonce>&timestamp=<seconds>&url=<page URL without its #fragment>`, the
keys in that (ASCII) order, the values as they are; WeChat checks it against the page it runs in, whose domain must
be one of the account's JS interface safe domains (JS接口安全域名).
"""

from __future__ import annotations

import hashlib


def page_url(url: str) -> str:
    """The URL WeChat signs: the page's address without its fragment."""
    return url.split("#", 1)[0]


def signature(ticket: str, nonce_str: str, timestamp: int, url: str) -> str:
    signed = f"jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={page_url(url)}"
    return hashlib.sha1(signed.encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's algorithm, not our choice
