"""One-click unsubscribe from marketing email (RFC 8058), through the app on mock_aws."""

from __future__ import annotations

import json

from chalicelib.dal.models import MemberItem
from tests.support.builders import booking_event

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _member(member_id: str = "m-1") -> MemberItem:
    return MemberItem.get(*MemberItem.key("demo-chain", member_id))


def _known_member(harness, member_id: str = "m-1") -> None:
    """Given a member the chain knows (her booking wrote her profile), with marketing consent."""
    event = booking_event(member_id=member_id)
    event["booking"]["member"]["marketing_consent"] = True
    status, _ = harness.post(event)
    assert status in (200, 201, 202)
    assert _member(member_id).marketing_consent is True


def _url(harness, member_id: str = "m-1") -> str:
    token = harness.container.unsubscribe_links.token("demo-chain", member_id)
    return f"/v1/unsubscribe/{token}"


def test_the_one_click_post_opts_the_member_out(harness):
    _known_member(harness)

    response = harness.client.http.post(_url(harness), headers=FORM, body=b"List-Unsubscribe=One-Click")

    assert response.status_code == 200
    assert json.loads(response.body) == {"result": "unsubscribed"}
    member = _member()
    assert member.opted_out_at == harness.clock.now()
    assert member.marketing_consent is False


def test_posting_again_changes_nothing(harness):
    _known_member(harness)
    harness.client.http.post(_url(harness), headers=FORM, body=b"List-Unsubscribe=One-Click")
    first = _member().opted_out_at
    harness.clock.set(harness.clock.now().replace(hour=23))

    again = harness.client.http.post(_url(harness), headers=FORM, body=b"List-Unsubscribe=One-Click")

    assert again.status_code == 200
    assert _member().opted_out_at == first  # the first opt-out's time is kept


def test_a_tampered_token_is_a_400_naming_the_token_and_changes_nothing(harness):
    _known_member(harness)
    url = _url(harness)
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    other_member = _url(harness, "m-2").rsplit(".", 1)[0] + "." + url.rsplit(".", 1)[1]

    for bad in (forged, other_member, "/v1/unsubscribe/not-a-token", "/v1/unsubscribe/a.b.c"):
        response = harness.client.http.post(bad, headers=FORM, body=b"List-Unsubscribe=One-Click")
        assert response.status_code == 400, bad
        assert json.loads(response.body)["fields"] == {"token": "unknown or altered"}
    assert _member().opted_out_at is None


def test_get_shows_a_bilingual_page_whose_button_posts_and_changes_nothing(harness):
    _known_member(harness)

    response = harness.client.http.get(_url(harness))

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert '<form method="post">' in page
    assert "确认退订" in page and "Unsubscribe" in page
    assert "预约确认和提醒仍会照常发送" in page and "Booking confirmations and reminders still arrive" in page
    assert _member().opted_out_at is None  # a GET (a link scanner) never unsubscribes


def test_get_of_a_bad_link_is_a_400_page(harness):
    response = harness.client.http.get("/v1/unsubscribe/not-a-token")

    assert response.status_code == 400
    assert "这个退订链接无效" in response.body.decode()


def test_the_pages_button_gets_a_page_back(harness):
    _known_member(harness)

    response = harness.client.http.post(
        _url(harness), headers={**FORM, "Accept": "text/html"}, body=b"List-Unsubscribe=One-Click"
    )

    assert response.status_code == 200
    assert "已为您退订营销邮件" in response.body.decode()
    assert _member().opted_out_at is not None


def test_a_member_erased_since_the_email_is_not_recreated(harness):
    response = harness.client.http.post(
        _url(harness, "m-gone"), headers=FORM, body=b"List-Unsubscribe=One-Click"
    )

    assert response.status_code == 200
    pk, sk = MemberItem.key("demo-chain", "m-gone")
    assert MemberItem.count(pk, MemberItem.sk == sk) == 0
