"""WeChat's subscribe button on the booking page: `GET /v1/stores/{store}/wechat/js-config?url=` signs the page's
`wx.config` with the account's JS-SDK ticket from the fake WeChat (services/wechat_page.py)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

import pytest

from chalicelib import resources
from tests.support.builders import LDN_STORE, SH_STORE

PUBLIC = "https://book.chairside.test"
PAGE = f"{PUBLIC}/book/{SH_STORE}"


@pytest.fixture
def page(provisioned, fakes, monkeypatch):
    """The stage's public base URL, set before the harness builds its settings."""
    monkeypatch.setenv("CHAIRSIDE_PUBLIC_BASE_URL", PUBLIC)


def js_config(harness, url: str | None, store: str = SH_STORE) -> tuple[int, dict]:
    query = "" if url is None else f"?url={quote(url, safe='')}"
    response = harness.client.http.get(f"/v1/stores/{store}/wechat/js-config{query}")
    return response.status_code, json.loads(response.body)


def documented_signature(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    """JS-SDK 附录1, written out again here: sha1 of the four pairs in ASCII order."""
    text = "&".join(
        f"{k}={v}"
        for k, v in sorted(
            {"jsapi_ticket": ticket, "noncestr": nonce, "timestamp": timestamp, "url": url}.items()
        )
    )
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeChat's algorithm


def test_the_booking_page_gets_a_config_signed_with_the_accounts_ticket(page, harness):
    wechat = harness.fakes["wechat"]

    status, body = js_config(harness, PAGE + "?from=menu#token=abc")

    assert status == 200, body
    assert body["app_id"] == wechat.app_id
    assert body["open_tags"] == ["wx-open-subscribe"]
    assert body["subscribe_template_ids"] == ["demo-sub-feedback", "demo-sub-follow-up"]
    assert body["timestamp"] == int(harness.clock.now().timestamp())
    # the fragment is not signed (WeChat signs the address without it)
    assert body["signature"] == documented_signature(
        wechat.tickets[-1], body["nonce_str"], body["timestamp"], PAGE + "?from=menu"
    )


def test_the_ticket_is_fetched_once_and_reused(page, harness):
    wechat = harness.fakes["wechat"]
    asked = wechat.ticket_requests

    first = js_config(harness, PAGE)[1]
    second = js_config(harness, PAGE)[1]

    assert wechat.ticket_requests == asked + 1
    assert first["nonce_str"] != second["nonce_str"]
    assert second["signature"] == documented_signature(
        wechat.tickets[-1], second["nonce_str"], second["timestamp"], PAGE
    )


def test_a_refused_access_token_is_renewed_for_the_ticket(page, harness):
    wechat = harness.fakes["wechat"]
    credentials = harness.container.channel_secrets.wechat_credentials(SH_STORE)
    harness.container.channels.wechat_client(
        SH_STORE, credentials
    ).access_token()  # the store's token in hand
    wechat.invalidate_tokens()
    tokens = wechat.token_requests

    status, body = js_config(harness, PAGE)

    assert status == 200, body
    assert wechat.token_requests == tokens + 1  # refused (40001), renewed once, asked again


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        f"{PUBLIC}/book/{LDN_STORE}",  # another store's page
        f"https://evil.example/book/{SH_STORE}",
        f"http://book.chairside.test/book/{SH_STORE}",  # not the public scheme
        f"{PUBLIC}/v1/stores/{SH_STORE}/catalog",
        f"https://[book.chairside.test/book/{SH_STORE}",
        PAGE + "/" + "x" * 2100,
    ],
)
def test_only_the_stores_own_booking_page_is_signed(page, harness, url):
    asked = harness.fakes["wechat"].ticket_requests

    status, body = js_config(harness, url)

    assert status == 400, body
    assert body["fields"] == {"url": PAGE}
    assert harness.fakes["wechat"].ticket_requests == asked


def test_a_store_without_an_official_account_says_so(page, harness):
    name = resources.channel_secret_name(harness.env["CHAIRSIDE_STAGE"], f"stores/{LDN_STORE}", "wechat")
    harness.session.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    status, body = js_config(harness, f"{PUBLIC}/book/{LDN_STORE}", store=LDN_STORE)

    assert status == 409 and body["error"] == "wechat_not_configured"


def test_an_unknown_store_is_404(page, harness):
    assert js_config(harness, f"{PUBLIC}/book/no-such-store", store="no-such-store")[0] == 404


def test_without_a_public_base_url_there_is_nothing_to_sign(harness):
    status, body = js_config(harness, PAGE)

    assert status == 409 and body["error"] == "wechat_not_configured"


def test_wechat_busy_is_503_and_the_next_ask_works(page, harness):
    wechat = harness.fakes["wechat"]
    wechat.fail_next(1, kind="busy", path="/cgi-bin/ticket/getticket")

    status, body = js_config(harness, PAGE)

    assert status == 503 and body["error"] == "temporarily_unavailable" and "WeChat" in body["message"]
    assert js_config(harness, PAGE)[0] == 200
