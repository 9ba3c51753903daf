"""A member signs in against the running local stack (`make run`), as the booking page will: the SMS code read back
from moto's record (`/moto-api/data.json` → `sns.SMS[]`), WeChat OAuth through the fake WeChat server's authorize
page, and the "manage my booking" link of a confirmation."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import eventually, http
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def location(url: str) -> tuple[int, str]:
    """(status, Location) of a GET that answers a redirect, without following it."""
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=30) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location", "")


def test_a_new_member_signs_in_with_the_sms_code(stack):
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    base = f"{stack.api}/v1/stores/{SH_STORE}/member-sessions"

    assert http("POST", base, {"phone": phone}, JSON)[0] == 202
    [text] = eventually(lambda: stack.sms_to(phone), what="the sign-in SMS")
    code = re.search(r"验证码是(\d{6})", text).group(1)
    status, session = http("POST", base + "/verify", {"phone": phone, "code": code}, JSON)

    assert status == 200 and session["member_token"] and session["member_id"]
    assert http("POST", base + "/verify", {"phone": phone, "code": code}, JSON)[0] == 401  # used once


def test_a_wechat_member_signs_in_through_the_authorize_page(stack):
    status, answer = http("GET", f"{stack.api}/v1/stores/{SH_STORE}/wechat/oauth-url")
    assert status == 200
    authorize = answer["url"].replace("#wechat_redirect", "") + "&openid=o-e2e-" + uuid.uuid4().hex[:8]

    status, back = location(authorize)  # the fake's authorize page sends her back with a code
    assert status == 302 and back.startswith(f"{stack.api}/v1/stores/{SH_STORE}/wechat/oauth?")
    status, page = location(back)

    assert status == 302 and page.startswith(f"{stack.api}/book/{SH_STORE}#token=")


def test_a_confirmation_carries_a_manage_link_that_opens_the_booking(stack):
    run = uuid.uuid4().hex[:8]
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    event = booking_event(
        booking_id=f"ml-{run}",
        member_id=f"ml-m-{run}",
        stylist=f"ml-st-{run}",
        start=stack.local(SH_STORE, 3, 15),
        occurred_at=stack.now(),
        phone=phone,
    )
    assert stack.post_booking(event)[0] == 202
    [text] = eventually(lambda: stack.sms_to(phone), what="the confirmation")
    link = re.search(re.escape(stack.api) + r"/m/[a-z0-9]{10}", text).group(0)

    status, page = location(link)

    assert status == 302 and page.startswith(f"{stack.api}/book/{SH_STORE}#token=")
    assert parse_qs(urlsplit(page).fragment)["booking"] == [f"ml-{run}"]


def test_ops_members_loads_a_file_into_the_running_stack_twice_safely(stack, tmp_path):
    import subprocess
    import sys

    from tests.support.stack import ROOT

    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    path = tmp_path / "members.csv"
    path.write_text(f"phone,name,tags\n{phone},E2E 会员,e2e\nnot-a-phone,Bad,\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "ops.members",
        "import",
        str(path),
        "--store",
        SH_STORE,
        "--local-state",
        stack.info["state_dir"],
    ]

    runs = [subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120) for _ in range(2)]

    assert [r.returncode for r in runs] == [1, 1], runs[0].stderr
    assert "1 created, 0 already members" in runs[0].stderr and "line 3: rejected: phone" in runs[0].stderr
    assert "0 created, 1 already members" in runs[1].stderr
