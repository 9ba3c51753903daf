"""The staff console, screen by screen, in headless Chromium against the running local stack: sign in, answer a
handed-off complaint, add a tag, mark a no-show (and a check-in), read a booking's timeline, preview and schedule
a campaign, on a desk and on a phone -- with no error in the browser's console."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from devstack.client import http
from tests.browser.conftest import DESK, PHONE
from tests.support.builders import SH_STORE, booking_event
from tests.support.stack import eventually

WAIT = 20
JSON_HEADERS = {"Content-Type": "application/json"}


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def find(driver, css: str, timeout: float = WAIT):
    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def click(driver, css: str, timeout: float = WAIT) -> None:
    WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()


def until(driver, check, timeout: float = WAIT, what: str = "condition"):
    # The console re-renders what it polls: an element found a moment ago may be replaced before it is read.
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: check(d), message=f"waiting for {what}"
    )


def route_missing(stack, method: str, path: str, body: dict | None = None) -> bool:
    """True when the API has no such route (API Gateway / chalice local: 403 without an error code)."""
    status, answer = stack.staff(method, path, body)
    return status == 403 and not (isinstance(answer, dict) and answer.get("error"))


def open_console(driver, stack, fresh: bool = True) -> None:
    if fresh:  # forget any earlier sign-in (and language) once no console page is running
        driver.get("about:blank")
        driver.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": stack.api, "storageTypes": "local_storage"}
        )
    driver.get(stack.api + "/console")
    if fresh:  # signed out now, so nothing polls: pick the language the desk uses and start again
        driver.execute_script("localStorage.setItem('chairside.locale', 'zh-CN')")
        driver.refresh()
    find(driver, "body")


def sign_in_demo(driver, stack, label: str = "demo-admin") -> None:
    open_console(driver, stack)
    click(driver, tid(f"demo-{label}"))
    find(driver, tid("tab-inbox"))


def go(driver, stack, hash_: str) -> None:
    driver.get(f"{stack.api}/console{hash_}")


@pytest.fixture(autouse=True)
def no_console_errors(driver):
    driver.set_window_size(*DESK)
    driver.get_log("browser")  # drop what earlier tests left
    yield
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def shanghai_daytime(stack) -> datetime:
    """Moves the shared stack's clock (forward only) to a Shanghai morning, 10:00, unless it is already between
    10:00 and 12:00 there: bookings a few hours ahead then fall on the same store-local day, and no message waits
    for the end of quiet hours, whatever the time of day the tests run at."""
    tz = ZoneInfo(stack.store(SH_STORE)["timezone"])
    now = stack.now().astimezone(tz)
    if 10 <= now.hour < 12:
        return now
    morning = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return stack.advance_to(morning if morning > now else morning + timedelta(days=1))


@pytest.fixture(scope="module")
def salon(stack) -> dict:
    """Today's bookings at the Shanghai store, and a member who will complain (with a booking, so a profile)."""
    shanghai_daytime(stack)  # "today" is a Shanghai day: three and four hours ahead must not cross midnight
    run = uuid.uuid4().hex[:6]
    start = (stack.now() + timedelta(hours=3)).astimezone(ZoneInfo(stack.store(SH_STORE)["timezone"]))
    start = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
    late, early = f"late-{run}", f"early-{run}"
    for member, stylist, name, offset in ((late, "sh-xiaowang", "王芳", 0), (early, "sh-amy", "Emma Li", 60)):
        status, body = stack.post_booking(
            booking_event(
                booking_id=f"bk-{member}",
                member_id=member,
                stylist=stylist,
                start=start + timedelta(minutes=offset),
                occurred_at=stack.now(),
                phone="+8613900139000",
                category="hair_cut",
                member={
                    "id": member,
                    "name": name,
                    "phone": "+8613900139000",
                    "email": None,
                    "locale": "zh-CN",
                    "birthday": "1992-03-08",
                    "wechat_openid": None,
                    "marketing_consent": True,
                },
            )
        )
        assert status == 202, body
    angry = f"angry-{run}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-{angry}",
            member_id=angry,
            stylist="sh-lina",
            start=stack.local(SH_STORE, 5, 11),
            occurred_at=stack.now(),
            phone="+8613700137000",
            category="perm",
        )
    )
    assert status == 202, body
    return {"day": start.date().isoformat(), "late": late, "early": early, "angry": angry}


def send_photo(stack, member: str) -> None:
    """A member sends a photo (its URL on the API's own origin: the browser here has no other network)."""
    status, body = stack.signed(
        "/v1/webhooks/messages",
        {
            "event_id": f"e-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": member,
            "channel": "web",
            "message": {
                "id": f"p-{uuid.uuid4().hex[:8]}",
                "type": "image",
                "media_url": stack.api + "/console/favicon.svg",
            },
            "sent_at": stack.now().isoformat(),
        },
    )
    assert status == 200, body


def complain(stack, member: str, text: str = "烫完头发全是焦的，我要投诉！") -> None:
    status, body = stack.signed(
        "/v1/webhooks/messages",
        {
            "event_id": f"e-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": member,
            "channel": "sms",
            "member_name": "李女士",
            "message": {"id": f"m-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
            "sent_at": stack.now().isoformat(),
        },
    )
    assert status == 200 and body["intent"] == "complaint", body


# --- sign in ------------------------------------------------------------------------------------------------


def test_sign_in_with_a_pasted_token_and_out_again(driver, stack, shots):
    open_console(driver, stack)
    find(driver, tid("signin-form"))
    find(driver, tid("demo-demo-admin"))  # the local stack offers its demo staff
    shots("signin")

    find(driver, tid("token-input")).send_keys("not-a-token")
    click(driver, tid("signin-submit"))
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".form-error").text.strip(), what="the error")

    box = find(driver, tid("token-input"))
    box.clear()
    box.send_keys(stack.info["role_tokens"]["front_desk"])
    click(driver, tid("signin-submit"))
    find(driver, tid("tab-inbox"))
    assert "消息" in find(driver, tid("tab-inbox")).text

    click(driver, tid("sign-out"))
    find(driver, tid("signin-form"))
    assert driver.execute_script("return localStorage.getItem('chairside.staffToken')") is None


# --- inbox, conversation, member panel --------------------------------------------------------------------


def test_a_handed_off_complaint_appears_live_and_is_answered_tagged_and_resolved(driver, stack, salon, shots):
    sign_in_demo(driver, stack)
    find(driver, tid("conv-list"))
    angry = salon["angry"]

    complain(stack, angry)  # arrives while the inbox is open: it shows up without a reload
    row = find(driver, tid(f"conv-{angry}"), timeout=30)
    assert row.get_attribute("data-status") == "needs_human"
    click(driver, tid("filter-needs_human"))  # the filter keeps her; "resolved" does not list her
    find(driver, tid(f"conv-{angry}"))
    click(driver, tid("filter-resolved"))
    until(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, tid(f"conv-{angry}")), what="the filter")
    click(driver, tid("filter-all"))
    row = find(driver, tid(f"conv-{angry}"))
    first = driver.find_element(By.CSS_SELECTOR, ".conv-list .conv-row")
    assert first.get_attribute("data-status") == "needs_human"  # needs_human first
    assert row.find_element(By.CSS_SELECTOR, ".unread").text == "1"
    shots("inbox")

    row.click()
    find(driver, ".msg.in")
    assert "投诉" in find(driver, tid("messages")).text
    find(driver, tid("member-panel"))
    assert find(driver, tid("conv-status")).text == "需人工"
    until(
        driver,
        lambda d: not d.find_elements(By.CSS_SELECTOR, f"{tid(f'conv-{angry}')} .unread"),
        what="the unread count to clear once read",
    )

    click(driver, tid("quick-1"))  # a quick reply fills the box; the desk can still edit it
    text = find(driver, tid("reply-text"))
    assert text.get_attribute("value").startswith("非常抱歉")
    text.send_keys(Keys.END, "（店长 王）")
    text.send_keys(Keys.TAB)  # keyboard: the send button is next
    assert driver.switch_to.active_element.get_attribute("data-testid") == "reply-send"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    until(
        driver,
        lambda d: "店长 王" in d.find_element(By.CSS_SELECTOR, ".msg.out:last-child").text,
        what="reply",
    )
    tick = ".msg.out:last-child .tick"  # the log re-renders as it polls: read it afresh
    until(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, tick).get_attribute("aria-label") in ("已发送", "已送达", "已读")
        ),
        what="the sent tick",
    )
    status = ".msg.out:last-child [data-testid=msg-status]"  # issue 15: the status in words beside the tick
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, status).text in ("已发送", "已送达", "已读"),
        what="the sent status",
    )

    click(driver, tid("video"))  # a video consult: the invitation shows in the history
    find(driver, '.msg.out[data-kind="video_call"]')
    click(driver, tid("handback"))
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, tid("conv-status")).text == "自动处理中",
        what="handed back",
    )

    if route_missing(stack, "POST", f"/v1/stores/{SH_STORE}/members/{angry}/tags", {"add": []}):
        shots("conversation")
        click(driver, tid("resolve"))
        until(
            driver,
            lambda d: d.find_element(By.CSS_SELECTOR, tid("conv-status")).text == "已解决",
            what="resolved",
        )
        pytest.skip("tags API (issue 4, branch care) not in this build: the tag step was not driven")
    find(driver, tid("tag-input")).send_keys("烫发投诉")
    click(driver, tid("tag-add"))
    until(
        driver, lambda d: "烫发投诉" in d.find_element(By.CSS_SELECTOR, tid("tags")).text, what="the new tag"
    )
    assert "烫发投诉" in stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{angry}")[1]["tags"]
    find(driver, tid("note-input")).send_keys("烫发后发质受损，已约店长回访")
    click(driver, tid("note-add"))
    until(driver, lambda d: "店长回访" in d.find_element(By.CSS_SELECTOR, tid("notes")).text, what="the note")
    shots("conversation")

    click(driver, tid("resolve"))
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, tid("conv-status")).text == "已解决",
        what="resolved",
    )


# --- today and the booking timeline ----------------------------------------------------------------------


def test_today_marks_a_no_show_and_a_check_in_and_the_timeline_shows_the_nudge(driver, stack, salon, shots):
    sign_in_demo(driver, stack)
    go(driver, stack, f"#/today/{salon['day']}")
    late, early = tid(f"booking-bk-{salon['late']}"), tid(f"booking-bk-{salon['early']}")
    find(driver, late)
    assert find(driver, tid("stylist-sh-xiaowang")).is_displayed() and find(driver, tid("stylist-sh-lina"))
    assert driver.find_element(By.CSS_SELECTOR, late).get_attribute("data-status") == "booked"
    shots("today")

    click(driver, f"{late} {tid('noshow')}")
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, late).get_attribute("data-status") == "no_show",
        what="no-show",
    )
    click(driver, f"{early} {tid('checkin')}")
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, early).get_attribute("data-status") == "checked_in",
        what="check-in",
    )
    assert "未到店" in driver.find_element(By.CSS_SELECTOR, late).text
    status, booking = stack.staff("GET", f"/v1/stores/{SH_STORE}/bookings/bk-{salon['late']}")
    assert booking["booking"]["status"] == "no_show"

    click(driver, f"{late} {tid('timeline-link')}")
    find(driver, tid("timeline-status"))

    def nudge_shown(d):  # sent at once, or planned for the end of quiet hours (the stack runs on real time)
        if d.find_elements(
            By.CSS_SELECTOR, f"{tid('sent-no_show_followup')}, {tid('planned-no_show_followup')}"
        ):
            return True
        d.refresh()  # the timeline is a report, not a live view
        find(d, tid("timeline-status"))
        return False

    until(driver, nudge_shown, timeout=40, what="the no-show follow-up in the timeline")
    assert find(driver, tid("sent-confirmation"))
    assert find(driver, tid("timeline-status")).text == "未到店"
    shots("timeline")

    # The same page in English.
    click(driver, tid("lang-toggle"))
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, tid("tab-today")).text == "Today", what="English")
    go(driver, stack, f"#/today/{salon['day']}")
    find(driver, late)
    shots("today-en")
    click(driver, tid("lang-toggle"))


def waiting_member(stack, date: str) -> str | None:
    """A member signs in by SMS code and joins the Shanghai store's waitlist for `date`: her member id. None when
    the store does not take bookings itself (the demo seed's first store does, issue 14)."""
    if stack.store(SH_STORE).get("booking_mode") != "chairside":
        return None
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    base = f"/v1/stores/{SH_STORE}/member-sessions"
    assert http("POST", stack.api + base, {"phone": phone}, JSON_HEADERS)[0] == 202
    [text] = eventually(lambda: stack.sms_to(phone), what="the sign-in SMS")
    code = re.search(r"(\d{6})", text).group(1)
    status, session = http("POST", stack.api + base + "/verify", {"phone": phone, "code": code}, JSON_HEADERS)
    assert status == 200, session
    status, catalog = http("GET", f"{stack.api}/v1/stores/{SH_STORE}/catalog")  # the public catalogue
    assert status == 200, catalog
    service = catalog["services"][0]["code"]
    status, body = http(
        "POST",
        f"{stack.api}/v1/stores/{SH_STORE}/me/waitlist",
        {"service": service, "stylist_id": "any", "date": date, "part_of_day": "any"},
        {**JSON_HEADERS, "Authorization": f"Bearer {session['member_token']}"},
    )
    assert status == 201, body
    return body["waitlist_id"]


def test_today_shows_the_days_waitlist(driver, stack, salon, shots):
    entry = waiting_member(stack, salon["day"])
    status, listed = stack.staff("GET", f"/v1/stores/{SH_STORE}/waitlist?date={salon['day']}")
    assert status == 200, listed
    sign_in_demo(driver, stack)
    go(driver, stack, f"#/today/{salon['day']}")

    until(
        driver,
        lambda d: "今日候补" in d.find_element(By.CSS_SELECTOR, tid("waitlist")).text,
        what="the waitlist",
    )
    if entry is not None:
        row = find(driver, tid(f"waitlist-{entry}"))
        assert row.get_attribute("data-status") == "waiting" and "候补中" in row.text
    shots("today-waitlist")


# --- campaigns -------------------------------------------------------------------------------------------


def test_a_campaign_is_previewed_and_scheduled(driver, stack, salon, shots):
    sign_in_demo(driver, stack)
    go(driver, stack, "#/campaigns")
    find(driver, tid("camp-form"))
    find(driver, tid("camp-zh")).send_keys("{{ member.name }}，新年快乐！本月烫染八折，欢迎回来坐坐。")
    find(driver, tid("camp-en")).send_keys("Happy New Year, {{ member.name }}! 20% off colour this month.")
    find(driver, tid("camp-name")).send_keys("新年回访")
    chain = stack.info["chain_id"]
    preview = {"segment": {"store_ids": [SH_STORE]}, "template": {"zh-CN": "hi", "en": "hi"}}
    if route_missing(stack, "POST", f"/v1/chains/{chain}/campaigns/preview", preview):
        shots("campaigns")
        pytest.skip(
            "campaigns API (issue 4, branch care) not in this build: preview and schedule were not driven"
        )
    click(driver, tid("camp-preview-btn"))
    targeted = find(driver, tid("camp-preview-targeted"))
    assert any(ch.isdigit() for ch in targeted.text)
    click(driver, tid("camp-schedule-btn"))
    find(driver, tid("camp-status"))
    # The page polls the campaign while the local stack's workers fan it out and send it.
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, tid("camp-status")).text == "已完成",
        timeout=90,
        what="the campaign done",
    )
    # The salon's two consenting members; the complaining one has no marketing consent.
    targeted, sent = until(
        driver,
        lambda d: [d.find_element(By.CSS_SELECTOR, tid(f"camp-{n}")).text for n in ("targeted", "sent")],
        what="the campaign's counts",
    )
    assert int(targeted) >= 2 and int(sent) >= 2
    shots("campaigns")


# --- a phone-sized screen --------------------------------------------------------------------------------


def test_on_a_phone_one_pane_at_a_time(driver, stack, salon, shots):
    driver.set_window_size(*PHONE)
    sign_in_demo(driver, stack)
    if not stack.staff("GET", f"/v1/stores/{SH_STORE}/conversations")[1]["items"]:
        complain(stack, salon["angry"])  # this test alone: give the inbox something to show
    send_photo(stack, salon["angry"])
    find(driver, ".conv-row")
    shots("phone-inbox")
    go(driver, stack, f"#/inbox/{salon['angry']}")  # her conversation (the shared stack holds others too)
    back = find(driver, ".conv-pane .back")
    assert not driver.find_element(By.CSS_SELECTOR, ".list-pane").is_displayed()
    find(driver, tid("messages"))
    photo = find(driver, ".msg.in img.msg-image")
    until(
        driver,
        lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", photo),
        what="the member's photo to load",
    )
    find(driver, tid("member-panel"))
    shots("phone-conversation")
    back.click()
    find(driver, ".list-pane")
    go(driver, stack, f"#/today/{salon['day']}")
    find(driver, tid(f"booking-bk-{salon['late']}"))
    shots("phone-today")
