"""A member signs in without a password (issue 14, item 3), through the real app on moto: the SMS code read back
from moto's SNS record, its limits, the member directory's race, WeChat OAuth against the fake WeChat server, and
the "manage my booking" links of journey messages."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.dal.models import MemberClaimItem, MemberItem
from chalicelib.errors import Unauthorized
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

PUBLIC = "https://book.chairside.test"
PHONE = "+8613900139077"


@pytest.fixture
def public_url(provisioned, fakes, monkeypatch):
    """The public base URL and WeChat's authorize page (the fake's), set before the harness builds its settings
    (links are minted only with a public base URL)."""
    monkeypatch.setenv("CHAIRSIDE_PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("CHAIRSIDE_WECHAT_OAUTH_BASE", fakes["wechat"].base_url)
    return PUBLIC


@pytest.fixture
def h(public_url, harness):
    return harness


def call(h, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if method == "GET":
        response = h.client.http.get(path, headers=all_headers)
    else:
        response = h.client.http.post(path, headers=all_headers, body=json.dumps(body or {}).encode())
    text = response.body.decode() if response.body else ""
    data = json.loads(text) if text[:1] == "{" else text
    return response.status_code, data, response.headers


def start(h, phone: str = PHONE, store: str = SH_STORE):
    return call(h, "POST", f"/v1/stores/{store}/member-sessions", {"phone": phone})


def verify(h, code: str, phone: str = PHONE, store: str = SH_STORE):
    return call(h, "POST", f"/v1/stores/{store}/member-sessions/verify", {"phone": phone, "code": code})


def codes_to(h, phone: str = PHONE) -> list[str]:
    """The sign-in codes sent to `phone`, oldest first (other texts, e.g. a booking's confirmation, left out)."""
    found = [re.search(r"(?:验证码是|sign-in code is )(\d{6})", text) for to, text in h.sms() if to == phone]
    return [m.group(1) for m in found if m]


def later(h, **delta) -> None:
    h.clock.set(h.clock.now() + timedelta(**delta))


# --- SMS code --------------------------------------------------------------------------------------------


def test_a_new_member_signs_in_with_the_code_sent_by_sms(h):
    status, body, _ = start(h)

    assert status == 202 and body["sent"] is True
    [(to, text)] = [m for m in h.sms() if m[0] == PHONE]
    assert (
        text.startswith("【") and "验证码" in text and "10分钟" in text
    )  # the store's locale (zh-CN), its name
    code = codes_to(h)[0]

    status, session, headers = verify(h, code)

    assert status == 200, session
    member = h.container.member_tokens.verify(session["member_token"])
    assert (member.chain_id, member.member_id, member.booking_id) == (
        "demo-chain",
        session["member_id"],
        None,
    )
    assert headers.get("Cache-Control") == "no-store"
    profile = MemberItem.get(*MemberItem.key("demo-chain", session["member_id"]), consistent_read=True)
    assert profile.phone == PHONE and profile.primary_store_id == SH_STORE


def test_signing_in_again_finds_the_same_member(h):
    start(h)
    first = verify(h, codes_to(h)[-1])[1]
    later(h, minutes=2)
    start(h)

    second = verify(h, codes_to(h)[-1])[1]

    assert second["member_id"] == first["member_id"]


def test_a_member_known_from_her_bookings_is_found_by_her_phone(h):
    assert h.post(booking_event(member_id="m-booked", phone=PHONE))[0] == 202
    h.pump()

    start(h)
    status, session, _ = verify(h, codes_to(h)[-1])

    assert status == 200 and session["member_id"] == "m-booked"


def test_english_store_sends_the_code_in_english(h):
    start(h, phone="+447911123456", store=LDN_STORE)

    [(_, text)] = [m for m in h.sms() if m[0] == "+447911123456"]
    assert "sign-in code" in text and "10 minutes" in text


def test_the_answer_does_not_tell_whether_the_number_is_a_member(h):
    assert h.post(booking_event(member_id="m-known", phone="+8613900139001"))[0] == 202
    h.pump()

    known = start(h, phone="+8613900139001")[:2]
    unknown = start(h, phone="+8613900139002")[:2]

    assert known == unknown


def test_a_retry_within_a_minute_sends_no_second_code(h):
    start(h)
    later(h, seconds=30)

    assert start(h)[0] == 202
    assert len(codes_to(h)) == 1


def test_the_sixth_code_in_an_hour_is_refused(h):
    for _ in range(5):
        assert start(h)[0] == 202
        later(h, seconds=61)

    status, body, _ = start(h)

    assert status == 429 and body["error"] == "too_many_codes"
    assert "5 codes" in body["message"] and 0 < body["retry_after_seconds"] <= 3600
    assert len(codes_to(h)) == 5
    later(h, seconds=body["retry_after_seconds"])
    assert start(h)[0] == 202


def test_a_code_expires_after_ten_minutes(h):
    start(h)
    code = codes_to(h)[0]
    later(h, minutes=10)

    status, body, _ = verify(h, code)

    assert status == 401 and body["error"] == "code_expired"


def test_a_code_still_works_just_before_ten_minutes(h):
    start(h)
    later(h, minutes=9, seconds=59)

    assert verify(h, codes_to(h)[0])[0] == 200


def test_five_wrong_tries_kill_the_code(h):
    start(h)
    code = codes_to(h)[0]
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [verify(h, wrong)[:2] for _ in range(5)]

    assert [a[0] for a in answers] == [401, 401, 401, 401, 429]
    assert [a[1].get("tries_left") for a in answers[:4]] == [4, 3, 2, 1]
    assert answers[4][1]["error"] == "too_many_tries" and "new one" in answers[4][1]["message"]
    status, body, _ = verify(h, code)
    assert status == 429 and body["error"] == "too_many_tries"


def test_a_new_code_replaces_the_old_one(h):
    start(h)
    old = codes_to(h)[0]
    later(h, seconds=61)
    start(h)
    new = codes_to(h)[1]

    if old != new:
        assert verify(h, old)[0] == 401
    assert verify(h, new)[0] == 200


def test_a_code_works_once(h):
    start(h)
    code = codes_to(h)[0]
    assert verify(h, code)[0] == 200

    status, body, _ = verify(h, code)

    assert status == 401 and body["error"] == "code_expired" and "already used" in body["message"]


def test_codes_are_stored_hashed(h):
    start(h)
    code = codes_to(h)[0]

    items = h.session.client("dynamodb").scan(TableName=h.container.settings.main_table)["Items"]  # test only
    dump = json.dumps(items)
    assert code not in dump and PHONE not in dump.replace(
        json.dumps(PHONE), ""
    )  # (a MemberItem holds no phone yet)


def test_bad_requests_name_the_field(h):
    assert start(h, store="no-such-store")[0] == 404
    status, body, _ = start(h, phone="12345")
    assert status == 400 and "phone" in body["fields"]
    status, body, _ = verify(h, "12ab56")
    assert status == 400 and "code" in body["fields"]
    status, body, _ = call(h, "POST", f"/v1/stores/{SH_STORE}/member-sessions", {})
    assert status == 400 and "phone" in body["fields"]
    assert verify(h, "123456", store="no-such-store")[0] == 404


def test_verify_without_a_code_sent_is_401(h):
    status, body, _ = verify(h, "123456")

    assert status == 401 and body["error"] == "code_expired"


# --- the member directory: one member per address, whatever the race -------------------------------------


def test_two_sign_ins_racing_for_a_new_phone_create_one_member(h):
    directory = h.container.member_directory
    barrier = threading.Barrier(6)
    found: list[str] = []

    def sign_in() -> None:
        barrier.wait()
        found.append(directory.find_or_create("demo-chain", SH_STORE, phone="+8613900139555").member_id)

    threads = [threading.Thread(target=sign_in) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(found) == 6 and len(set(found)) == 1
    members = h.session.client("dynamodb").scan(  # test only: how many profiles exist with that phone
        TableName=h.container.settings.main_table,
        FilterExpression="phone = :p AND sk = :s",
        ExpressionAttributeValues={":p": {"S": "+8613900139555"}, ":s": {"S": "PROFILE"}},
    )["Items"]
    assert len(members) == 1


def test_a_sign_in_that_lost_the_claim_uses_the_winner(h, monkeypatch):
    directory = h.container.member_directory
    winner = directory.find_or_create("demo-chain", SH_STORE, phone="+8613900139666").member_id
    repo = h.container.member_directory_repo
    # The loser read before the winner's claim was written: it saw no claim and no lookups.
    real = repo.claimed_member
    seen = iter([None])
    monkeypatch.setattr(repo, "claimed_member", lambda *a: next(seen, None) or real(*a))
    monkeypatch.setattr(repo, "looked_up_members", lambda *a: [])

    loser = directory.find_or_create("demo-chain", SH_STORE, phone="+8613900139666")

    assert loser.member_id == winner and loser.created is False


def test_the_same_phone_in_another_chain_is_another_member(h):
    directory = h.container.member_directory
    a = directory.find_or_create("demo-chain", SH_STORE, phone="+8613900139777").member_id
    b = directory.find_or_create("other-chain", "other-store", phone="+8613900139777").member_id

    assert a != b
    assert directory.find("demo-chain", phone="+8613900139777") == a


def test_erasing_a_member_frees_her_phone(h):
    session = _signed_in(h)
    response = h.client.http.delete(
        f"/v1/stores/{SH_STORE}/members/{session['member_id']}",
        headers={"Authorization": f"Bearer {h.chain['staff_token']}"},
    )
    assert response.status_code == 200, response.body

    digest = h.container.lookup_hasher(PHONE)
    with pytest.raises(MemberClaimItem.DoesNotExist):
        MemberClaimItem.get(*MemberClaimItem.key("demo-chain", "PHONE", digest), consistent_read=True)


# --- tokens never cross ---------------------------------------------------------------------------------


def _signed_in(h, phone: str = PHONE) -> dict:
    start(h, phone=phone)
    status, session, _ = verify(h, codes_to(h, phone)[-1], phone=phone)
    assert status == 200
    return session


def test_a_member_token_is_refused_on_staff_routes(h):
    session = _signed_in(h)

    status, body = h.staff("GET", f"/v1/stores/{SH_STORE}/bookings", token=session["member_token"])

    assert status == 401


def test_a_staff_token_is_not_a_member_token(h):
    from chalicelib.api.member import member_of

    with pytest.raises(Unauthorized):
        member_of(f"Bearer {h.chain['staff_token']}")


# --- WeChat OAuth (snsapi_base) ---------------------------------------------------------------------------


def oauth_url(h, store: str = SH_STORE) -> dict:
    status, body, _ = call(h, "GET", f"/v1/stores/{store}/wechat/oauth-url")
    assert status == 200, body
    return body


def oauth(h, code: str, state: str, store: str = SH_STORE, json_answer: bool = True):
    headers = {"Accept": "application/json"} if json_answer else {"Accept": "text/html"}
    return call(h, "GET", f"/v1/stores/{store}/wechat/oauth?code={code}&state={state}", headers=headers)


def test_the_authorize_url_asks_wechat_for_snsapi_base_with_a_signed_state(h):
    body = oauth_url(h)

    parts = urlsplit(body["url"])
    query = parse_qs(parts.query)
    assert parts.path == "/connect/oauth2/authorize" and parts.fragment == "wechat_redirect"
    assert query["scope"] == ["snsapi_base"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{PUBLIC}/v1/stores/{SH_STORE}/wechat/oauth"]
    assert query["state"] == [body["state"]] and body["state"].isalnum() and len(body["state"]) <= 128
    assert query["appid"] == [h.fakes["wechat"].app_id]


def test_a_wechat_member_signs_in_with_her_openid(h):
    wechat = h.fakes["wechat"]

    status, session, _ = oauth(h, wechat.oauth_code("o-lisa"), oauth_url(h)["state"])

    assert status == 200, session
    assert h.container.member_tokens.verify(session["member_token"]).member_id == session["member_id"]
    again = oauth(h, wechat.oauth_code("o-lisa"), oauth_url(h)["state"])[1]
    assert again["member_id"] == session["member_id"]
    other = oauth(h, wechat.oauth_code("o-other"), oauth_url(h)["state"])[1]
    assert other["member_id"] != session["member_id"]
    profile = MemberItem.get(*MemberItem.key("demo-chain", session["member_id"]), consistent_read=True)
    assert profile.wechat_openid == "o-lisa"


def test_a_browser_is_sent_to_the_booking_page_with_her_token(h):
    status, _, headers = oauth(
        h, h.fakes["wechat"].oauth_code("o-page"), oauth_url(h)["state"], json_answer=False
    )

    assert status == 302
    location = headers["Location"]
    assert location.startswith(f"{PUBLIC}/book/{SH_STORE}#token=")
    token = location.split("#token=", 1)[1]
    assert h.container.member_tokens.verify(token).chain_id == "demo-chain"


def test_the_authorize_page_of_the_fake_redirects_with_a_code_we_accept(h):
    import urllib.request

    url = oauth_url(h)["url"].replace("#wechat_redirect", "") + "&openid=o-via-page"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    status, session, _ = oauth(h, query["code"][0], query["state"][0])
    assert status == 200 and session["member_id"]


def test_a_bad_wechat_code_is_401(h):
    status, body, _ = oauth(h, "not-a-code-wechat-issued", oauth_url(h)["state"])

    assert status == 401 and body["error"] == "invalid_oauth_code" and body["errcode"] == 40029


def test_a_wechat_code_works_once(h):
    code = h.fakes["wechat"].oauth_code("o-once")
    assert oauth(h, code, oauth_url(h)["state"])[0] == 200

    status, body, _ = oauth(h, code, oauth_url(h)["state"])

    assert status == 401 and body["error"] == "invalid_oauth_code"


@pytest.mark.parametrize("case", ["forged", "other_store", "expired", "reused", "missing"])
def test_a_bad_state_is_refused_before_wechat_is_asked(h, case):
    wechat = h.fakes["wechat"]
    state = oauth_url(h)["state"]
    if case == "forged":
        state = state[:-1] + ("0" if state[-1] != "0" else "1")
    elif case == "other_store":
        state = oauth_url(h, LDN_STORE)["state"]
    elif case == "expired":
        later(h, minutes=10)
    elif case == "reused":
        assert oauth(h, wechat.oauth_code("o-reuse"), state)[0] == 200
    elif case == "missing":
        state = ""
    exchanges = len(wechat.oauth_exchanges)

    status, body, _ = oauth(h, wechat.oauth_code("o-csrf"), state)

    assert status == 401 and body["error"] == "invalid_state"
    assert len(wechat.oauth_exchanges) == exchanges


def test_wechat_sign_in_at_an_unknown_store_is_404(h):
    assert call(h, "GET", "/v1/stores/no-such-store/wechat/oauth-url")[0] == 404
    assert oauth(h, "abc", "0" * 58, store="no-such-store")[0] == 404


# --- "manage my booking" links ------------------------------------------------------------------------------


def _links_in(texts: list[str]) -> list[str]:
    return [m for t in texts for m in re.findall(re.escape(PUBLIC) + r"/m/([a-z0-9]{10})", t)]


def test_journey_messages_carry_one_manage_link_that_opens_the_booking(h):
    assert h.post(booking_event(booking_id="bk-link", member_id="m-link", phone=PHONE))[0] == 202
    h.pump()
    [confirmation] = [t for to, t in h.sms() if to == PHONE]
    [code] = _links_in([confirmation])
    assert "管理预约：" in confirmation

    status, _, headers = call(h, "GET", f"/m/{code}")

    assert status == 302
    location = headers["Location"]
    assert location.startswith(f"{PUBLIC}/book/{SH_STORE}#token=")
    fragment = parse_qs(urlsplit(location).fragment)
    assert fragment["booking"] == ["bk-link"]
    member = h.container.member_tokens.verify(fragment["token"][0])
    assert (member.chain_id, member.member_id, member.booking_id) == ("demo-chain", "m-link", "bk-link")
    assert member.may_manage("bk-link") and not member.may_manage("bk-other")

    h.advance_to("2026-11-24T10:00:00+08:00")  # the day-before reminder: the same link
    texts = [t for to, t in h.sms() if to == PHONE]
    assert len(texts) == 2 and _links_in(texts) == [code, code]


def test_an_english_message_says_manage_your_booking(h):
    event = booking_event(
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-25T15:00:00+00:00",
        occurred_at="2026-11-22T10:00:00+00:00",
        locale="en",
        member_id="m-ldn",
        phone="+447911123457",
    )
    assert h.post(event)[0] == 202
    h.pump()

    [text] = [t for to, t in h.sms() if to == "+447911123457"]
    assert "Manage your booking: " + PUBLIC + "/m/" in text


def test_a_manage_link_expires_a_day_after_the_start(h):
    assert h.post(booking_event(booking_id="bk-exp", member_id="m-exp", phone=PHONE))[0] == 202
    h.pump()
    [code] = _links_in([t for to, t in h.sms() if to == PHONE])
    h.clock.set(h.clock.now().replace(year=2026, month=11, day=26, hour=6, minute=59))  # 15:00+08 +1d - 1 min
    assert call(h, "GET", f"/m/{code}")[0] == 302

    later(h, minutes=2)
    status, page, headers = call(h, "GET", f"/m/{code}")

    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert "链接已失效" in page and "expired" in page


def test_an_unknown_link_is_a_small_404_page(h):
    for code in ("abcdefghjk", "x", "ABCDEFGHJK"):
        status, page, _ = call(h, "GET", f"/m/{code}")
        assert status == 404 and "<!doctype html>" in page


def test_links_without_a_public_url_are_not_minted(harness):
    assert harness.post(booking_event(booking_id="bk-nolink", member_id="m-nolink", phone=PHONE))[0] == 202
    harness.pump()

    [text] = [t for to, t in harness.sms() if to == PHONE]
    assert "/m/" not in text and "管理预约" not in text


def test_other_parts_mint_links_with_fragment_parameters(h):
    links = h.container.member_links
    url = links.link(
        "demo-chain",
        SH_STORE,
        "m-wait",
        fragment={"claim": "wl-1", "start": "2026-11-25T15:00:00+08:00"},
        ttl=timedelta(minutes=30),
    )
    assert (
        links.link(
            "demo-chain",
            SH_STORE,
            "m-wait",
            fragment={"claim": "wl-1", "start": "2026-11-25T15:00:00+08:00"},
            ttl=timedelta(minutes=30),
        )
        == url
    )  # idempotent: the same target, the same link

    status, _, headers = call(h, "GET", urlsplit(url).path)

    assert status == 302
    fragment = parse_qs(urlsplit(headers["Location"]).fragment)
    assert fragment["claim"] == ["wl-1"] and fragment["start"] == ["2026-11-25T15:00:00+08:00"]
    assert "booking" not in fragment
    assert h.container.member_tokens.verify(fragment["token"][0]).booking_id is None
    later(h, minutes=31)
    assert call(h, "GET", urlsplit(url).path)[0] == 404


def test_a_staff_token_on_a_member_route_is_401_and_a_member_token_passes(h):
    from chalice import Blueprint, Chalice
    from chalice.test import Client

    from chalicelib.api.member import MEMBER_ROUTES, member_route

    blueprint = Blueprint("member_probe")

    @member_route(blueprint, "/probe/{store_id}/me", methods=["GET"])
    def probe(member, store_id: str):
        return {"member_id": member.member_id, "store_id": store_id}

    app = Chalice(app_name="member-probe")
    app.register_blueprint(blueprint)
    try:
        session = _signed_in(h)
        with Client(app) as client:
            staff = client.http.get(
                f"/probe/{SH_STORE}/me", headers={"Authorization": f"Bearer {h.chain['staff_token']}"}
            )
            member = client.http.get(
                f"/probe/{SH_STORE}/me", headers={"Authorization": f"Bearer {session['member_token']}"}
            )
        assert staff.status_code == 401
        assert member.status_code == 200 and json.loads(member.body)["member_id"] == session["member_id"]
    finally:
        MEMBER_ROUTES.discard(("GET", "/probe/{store_id}/me"))


def test_a_moved_booking_keeps_its_link_which_then_lives_longer(h):
    assert h.post(booking_event(booking_id="bk-move", member_id="m-move", phone=PHONE))[0] == 202
    h.pump()
    moved = booking_event(
        type="booking.rescheduled",
        booking_id="bk-move",
        member_id="m-move",
        phone=PHONE,
        start="2026-11-28T15:00:00+08:00",
        occurred_at="2026-11-22T10:30:00+08:00",
    )
    assert h.post(moved)[0] == 202
    h.pump()
    texts = [t for to, t in h.sms() if to == PHONE]
    assert len(texts) == 2 and "改到" in texts[1]
    [first, second] = _links_in(texts)
    assert first == second

    h.clock.set(h.clock.now().replace(day=27, hour=12))  # past the first start + 1 day, before the new one's
    assert call(h, "GET", f"/m/{first}")[0] == 302


def test_two_verifies_racing_with_the_right_code_make_one_session_and_one_member(h):
    start(h)
    code = codes_to(h)[0]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def verify_now() -> None:
        # The service, not the HTTP test client: Chalice's test client swaps os.environ around each request,
        # which two threads at once leave behind (the next test then sees this test's public base URL).
        from chalicelib.errors import ChairsideError

        barrier.wait()
        try:
            answers.append(
                (200, h.container.member_sessions.verify(SH_STORE, {"phone": PHONE, "code": code}))
            )
        except ChairsideError as refused:
            answers.append((refused.status, {"error": refused.code}))

    threads = [threading.Thread(target=verify_now) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(status for status, _ in answers) == [200, 401]
    profiles = h.session.client("dynamodb").scan(  # test only
        TableName=h.container.settings.main_table,
        FilterExpression="phone = :p AND sk = :s",
        ExpressionAttributeValues={":p": {"S": PHONE}, ":s": {"S": "PROFILE"}},
    )["Items"]
    assert len(profiles) == 1


def test_wechat_sign_in_needs_the_public_base_url(harness):
    response = harness.client.http.get(f"/v1/stores/{SH_STORE}/wechat/oauth-url")

    assert response.status_code == 409
    assert json.loads(response.body)["error"] == "wechat_not_configured"
