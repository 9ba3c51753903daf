"""The member's booking page, served by the API like the staff console: exact names only, the right types, a
strict policy, revalidation; and a page that talks only to the public and member routes of its store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "chalicelib" / "booking_page"


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/book/sh-jingan", "text/html"),
        ("/book/ldn-soho", "text/html"),
        ("/book/assets/app.js", "text/javascript"),
        ("/book/assets/api.js", "text/javascript"),
        ("/book/assets/i18n.js", "text/javascript"),
        ("/book/assets/wechat.js", "text/javascript"),
        ("/book/assets/booking.css", "text/css"),
        ("/book/assets/favicon.svg", "image/svg+xml"),
    ],
)
def test_page_files_are_served_with_their_type_and_a_strict_policy(harness, path, content_type):
    response = harness.client.http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self'" in csp
    # one script from elsewhere: WeChat's JS-SDK (wechat.js loads it inside WeChat only); nothing else
    assert re.search(r"script-src 'self' https://res\.wx\.qq\.com;", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-cache"
    again = harness.client.http.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.body in (b"", "")


def test_a_changed_file_is_not_answered_with_not_modified(harness):
    response = harness.client.http.get("/book/assets/app.js", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200 and b"api.js" in response.body


def test_the_page_runs_no_inline_script_and_loads_its_files_relative_to_the_store(harness):
    page = harness.client.http.get("/book/sh-jingan").body.decode()

    # /book/{store} + "assets/app.js" = /book/assets/app.js, under any stage prefix
    assert '<script type="module" src="assets/app.js"></script>' in page
    assert '<link rel="stylesheet" href="assets/booking.css">' in page
    assert "<script>" not in page and " on" + "click=" not in page and "<style" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/book/assets/__init__.py",
        "/book/assets/missing.js",
        "/book/assets/..",
        "/book/assets/%2e%2e%2fapp.py",
        "/book/assets/index.htm",
        "/book/has%20space",
    ],
)
def test_anything_but_a_page_file_is_not_found(harness, path):
    response = harness.client.http.get(path)
    assert response.status_code == 404 and json.loads(response.body)["error"] == "not_found"


def _fetched_paths() -> set[str]:
    """Every path the page's scripts put together for a request (api.js is the only module that fetches)."""
    scripts = {p.name: p.read_text(encoding="utf-8") for p in PAGE.glob("*.js")}
    fetchers = [name for name, text in scripts.items() if "fetch(" in text]
    assert fetchers == ["api.js"], fetchers
    return set(re.findall(r'call\("(?:GET|POST|DELETE|PUT)", `?"?([^`",?]+)', scripts["api.js"]))


def test_the_page_calls_only_its_stores_public_and_member_routes():
    api = (PAGE / "api.js").read_text(encoding="utf-8")
    # One place builds every URL: the API base, then /v1/stores/{store}/, then the route.
    assert "fetch(API_BASE + storePath(rest)" in api
    assert "const storePath = (rest) => `/v1/stores/${encodeURIComponent(STORE)}/${rest}`;" in api
    public = {
        "catalog",
        "availability",
        "member-sessions",
        "member-sessions/verify",
        "wechat/oauth-url",
        "wechat/js-config",
    }
    member = {
        "bookings",
        "me/bookings",
        "me/bookings/${id(booking)}/reschedule",
        "me/bookings/${id(booking)}/cancel",
        "me/waitlist",
        "me/waitlist/${id(entry)}",
        "me/waitlist/${id(entry)}/claim",
        "me/channel",
    }
    assert _fetched_paths() == public | member
    for script in PAGE.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert "XMLHttpRequest" not in text and "sendBeacon" not in text and "WebSocket" not in text
        assert "/console" not in text and "_local" not in text
        # the only address outside the API: WeChat's JS-SDK, the one the policy lets in
        assert set(re.findall(r"https?://[^\s\"'`]+", text)) <= {
            "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
        }
