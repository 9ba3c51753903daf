"""The member's booking page (`/book/{store}`): static files shipped inside the package, served like the staff
console's (exact names only, known types, an ETag each, the same strict policy but for WeChat's JS-SDK). The page
then talks only to the public and member routes of `/v1/stores/{store}/…` (docs/BOOKING_PAGE.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalicelib.console import CSP, SECURITY_HEADERS, Asset, folder_files

HERE = Path(__file__).resolve().parent
# The console's policy, and one script from elsewhere: WeChat's JS-SDK, which wechat.js loads inside WeChat's
# browser only (WeChat's subscribe button needs it; no other page loads it).
WECHAT_JS_SDK_ORIGIN = "https://res.wx.qq.com"
BOOKING_PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": CSP.replace("script-src 'self'", f"script-src 'self' {WECHAT_JS_SDK_ORIGIN}"),
}


@cache
def _files() -> dict[str, Asset]:
    """Every servable file of this folder, read once per container."""
    return folder_files(HERE)


def asset(name: str) -> Asset | None:
    """The file `name` of the booking page, or None for anything that is not exactly one of its files."""
    return _files().get(name)
