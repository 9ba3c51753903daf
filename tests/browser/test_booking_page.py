"""The member's booking page (`/book/{store}`), on a phone (390×844) in headless Chromium against the running
local stack: a new member signs in with the SMS code moto recorded, books, finds it in "My bookings", moves it
and cancels it; another joins the waitlist of a full day and claims the time a cancellation frees. Each step is
checked on the screen and on the server (her `me/bookings`, `me/waitlist`), with no error in the browser."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from chalicelib.care.outreach import quiet_delay
from devstack.client import http
from tests.browser.conftest import PHONE
from tests.support.builders import SH_STORE, booking_event
from tests.support.stack import eventually

WAIT = 20
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# The offer's link: a short /m/ link (it lands on #token=…&claim=…&start=…) or, where the stage has no public base
# URL for short links, the page itself with #claim=…&start=… (her token is already on this phone).
OFFER_LINK = re.compile(r"(?:https?://[^\s（）()]+)?/(?:m/[2-9a-z]{10}|book/[\w-]+#[^\s（）()]+)")


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def find(driver, css: str, timeout: float = WAIT):
    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def click(driver, css: str, timeout: float = WAIT) -> None:
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, css))
    ).click()


def until(driver, check, timeout: float = WAIT, what: str = "condition"):
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: check(d), message=f"waiting for {what}"
    )


def page_url(stack, store_id: str) -> str:
    return stack.store(store_id).get("public_url") or f"{stack.api}/book/{store_id}"


def open_page(driver, stack, store_id: str = SH_STORE, fragment: str = "", fresh: bool = True) -> None:
    if fresh:  # a new member on this phone: no token, no language picked
        driver.get("about:blank")
        driver.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": stack.api, "storageTypes": "local_storage"}
        )
        driver.get(page_url(stack, store_id))
        # her phone speaks Chinese (headless Chromium reports en-US whatever --lang says)
        driver.execute_script("localStorage.setItem('chairside.member.locale', 'zh-CN')")
        driver.refresh()
        find(driver, tid("store-name"))
    if fragment or not fresh:
        # On the page already, a link's fragment is a same-page navigation (read on `hashchange`).
        driver.get(page_url(stack, store_id) + fragment)
        find(driver, tid("store-name"))


def member_token(driver, store_id: str = SH_STORE) -> str:
    token = driver.execute_script(f"return localStorage.getItem('chairside.member.{store_id}')")
    assert token, "the page keeps her token"
    return token


def as_member(stack, token: str, path: str) -> dict:
    status, body = http(
        "GET", f"{stack.api}/v1/stores/{SH_STORE}/{path}", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    return body


def new_phone() -> tuple[str, str]:
    """A Chinese mobile nobody in the demo chain has: as she types it, and as the API writes it (E.164)."""
    national = "139" + "".join(random.choices("0123456789", k=8))
    return national, "+86" + national


def sign_in_by_sms(driver, stack, national: str, e164: str) -> None:
    """The phone step: type the number, have the code sent, read it from moto's SNS record, verify."""
    find(driver, tid("signin-form"))
    find(driver, tid("phone-input")).send_keys(national)
    click(driver, tid("send-code"))
    find(driver, tid("code-sent"))
    sms = eventually(lambda: stack.sms_to(e164), 30, f"the code SMS to {e164}")
    code = CODE.search(sms[-1])
    assert code, sms[-1]
    find(driver, tid("code-input")).send_keys(code.group(1))
    click(driver, tid("verify"))


def visible_times(driver, within=None) -> list:
    root = within or driver
    return [b for b in root.find_elements(By.CSS_SELECTOR, '[data-testid^="time-"]') if b.is_displayed()]


def chosen_day(driver) -> str:
    day = driver.find_element(By.CSS_SELECTOR, '.days [aria-pressed="true"]')
    return day.get_attribute("data-testid").removeprefix("day-")


def choose_a_day_ahead(driver, stack) -> str:
    """Choose the first day from tomorrow on (the store's date) with open times, and answer it: a time on it can still
    be moved and cancelled online (the store's `cancel_until_minutes`) whatever the hour the test runs at, which the
    first open time of today cannot promise."""
    today = stack.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    for ahead in range(1, 8):
        day = (today + timedelta(days=ahead)).isoformat()
        tabs = driver.find_elements(By.CSS_SELECTOR, tid(f"day-{day}"))
        if not tabs:
            continue
        click(driver, tid(f"day-{day}"))
        until(driver, lambda d, day=day: chosen_day(d) == day, what=f"day {day} chosen")
        if visible_times(driver):
            return day
    raise AssertionError("no open times in the week after today")


def local_start(item: dict) -> tuple[str, str]:
    """(YYYY-MM-DD, HH:MM) of a start as the store writes it (ISO with the store's offset)."""
    start = datetime.fromisoformat(item["start"])
    return start.date().isoformat(), start.strftime("%H:%M")


@pytest.fixture(autouse=True)
def on_a_phone_with_no_browser_errors(driver):
    driver.set_window_size(*PHONE)
    driver.get_log("browser")  # drop what earlier tests left
    yield
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


# --- book, see, move, cancel -----------------------------------------------------------------------------


def test_a_new_member_books_sees_moves_and_cancels_her_booking(driver, stack, shots):
    national, e164 = new_phone()
    open_page(driver, stack)
    assert find(driver, tid("store-name")).text == stack.store(SH_STORE)["name"]
    assert find(driver, tid("tab-book")).text == "预约"
    click(driver, tid("lang-toggle"))  # her choice of language, kept for her next visit
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, tid("tab-book")).text == "Book", what="English")
    click(driver, tid("lang-toggle"))
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, tid("tab-book")).text == "预约", what="Chinese")
    find(driver, tid("service-cut-wash"))
    shots("book-service")

    click(driver, tid("service-cut-wash"))
    click(driver, tid("stylist-sh-amy"))
    find(driver, tid("screen-when"))
    until(driver, lambda d: visible_times(d), what="open times")
    day = choose_a_day_ahead(driver, stack)
    times = visible_times(driver)
    hhmm = times[0].text
    assert re.fullmatch(r"\d{2}:\d{2}", hhmm), hhmm  # 24-hour
    shots("book-time")
    times[0].click()

    sign_in_by_sms(driver, stack, national, e164)
    find(driver, tid("screen-confirm"))
    assert hhmm in find(driver, tid("confirm-time")).text
    shots("book-confirm")
    click(driver, tid("confirm"))
    done = find(driver, tid("done"))
    assert hhmm in done.text and "Amy" in done.text
    assert not driver.find_elements(By.CSS_SELECTOR, tid("wechat-subscribe-box"))  # outside WeChat: no button
    shots("book-done")

    token = member_token(driver)
    items = as_member(stack, token, "me/bookings")["items"]
    assert len(items) == 1, items
    booking = items[0]
    assert local_start(booking) == (day, hhmm) and booking["status"] in ("booked", "confirmed")
    booking_id = booking["booking_id"]

    # My bookings lists it, ready to move or cancel.
    click(driver, tid("go-mine"))
    card = find(driver, tid(f"booking-{booking_id}"))
    assert hhmm in card.find_element(By.CSS_SELECTOR, tid("booking-when")).text
    shots("my-bookings")

    # How she wants to be reached (issue 15): stored at once, tried first by the store's router.
    assert as_member(stack, token, "me/channel")["preferred_channel"] is None
    Select(find(driver, tid("my-channel"))).select_by_value("sms")
    until(
        driver,
        lambda d: as_member(stack, token, "me/channel")["preferred_channel"] == "sms",
        what="her choice",
    )

    # Move it: the picker offers her stylist's other open times; take the last one of the shown day.
    click(driver, tid(f"reschedule-{booking_id}"))
    panel = find(driver, f"{tid(f'booking-{booking_id}')} .manage")
    until(
        driver,
        lambda d: visible_times(d, panel) or d.find_elements(By.CSS_SELECTOR, ".manage .day"),
        what="picker",
    )
    if not visible_times(driver, panel):  # her day has no other time: the next day with times
        for chip in panel.find_elements(By.CSS_SELECTOR, ".day:not(.full)"):
            chip.click()
            break
    panel = find(driver, f"{tid(f'booking-{booking_id}')} .manage")
    target = visible_times(driver, panel)[-1]
    new_day, new_hhmm = chosen_day_in(panel), target.text
    assert (new_day, new_hhmm) != (day, hhmm)
    shots("my-bookings-move")
    target.click()
    until(
        driver,
        lambda d: (
            new_hhmm
            in d.find_element(By.CSS_SELECTOR, f"{tid(f'booking-{booking_id}')} {tid('booking-when')}").text
        ),
        what="the moved booking",
    )
    moved = next(b for b in as_member(stack, token, "me/bookings")["items"] if b["booking_id"] == booking_id)
    assert local_start(moved) == (new_day, new_hhmm)

    # Cancel it (asked once more first).
    click(driver, tid(f"cancel-{booking_id}"))
    click(driver, tid("cancel-yes"))
    until(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f"{tid(f'booking-{booking_id}')} {tid('booking-status')}").text
            == "已取消"
        ),
        what="the cancelled booking",
    )
    assert not driver.find_elements(By.CSS_SELECTOR, tid(f"cancel-{booking_id}"))
    cancelled = next(
        b for b in as_member(stack, token, "me/bookings")["items"] if b["booking_id"] == booking_id
    )
    assert cancelled["status"] == "cancelled"


def chosen_day_in(panel) -> str:
    return panel.find_element(By.CSS_SELECTOR, '.day[aria-pressed="true"]').get_attribute("data-testid")[4:]


# --- a time taken meanwhile; a manage link --------------------------------------------------------------


def test_a_time_taken_meanwhile_offers_the_nearest_open_ones_and_a_manage_link_opens_her_booking(
    driver, stack, shots
):
    national, e164 = new_phone()
    open_page(driver, stack)
    click(driver, tid("service-cut-wash"))
    click(driver, tid("stylist-sh-xiaowang"))
    until(driver, lambda d: visible_times(d), what="open times")
    day = choose_a_day_ahead(
        driver, stack
    )  # her booking must stay changeable online, for the manage link below
    hhmm = visible_times(driver)[0].text
    visible_times(driver)[0].click()
    sign_in_by_sms(driver, stack, national, e164)
    find(driver, tid("screen-confirm"))

    # While she reads the summary, the front desk's booking system gives that time to someone else.
    status, body = http(
        "GET",
        f"{stack.api}/v1/stores/{SH_STORE}/availability?service=cut-wash&stylist=sh-xiaowang&from={day}&days=1",
    )
    start = next(s["start"] for s in body["slots"] if local_start(s) == (day, hhmm))
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-desk-{uuid.uuid4().hex[:8]}",
            member_id=f"walkin-{uuid.uuid4().hex[:6]}",
            stylist="sh-xiaowang",
            start=start,
            occurred_at=stack.now(),
            duration=60,
            category="hair_cut",
        )
    )
    assert status == 202, body

    click(driver, tid("confirm"))
    alternatives = find(driver, tid("alternatives"))
    # the one error the browser logs is the API's 409 itself
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert len(logged) == 1 and "/bookings" in logged[0] and "409" in logged[0], logged
    choices = alternatives.find_elements(By.CSS_SELECTOR, '[data-testid^="alternative-"]')
    assert 1 <= len(choices) <= 3
    shots("book-taken")
    picked = re.search(r"\d{2}:\d{2}", choices[0].text).group(0)
    assert picked != hhmm
    choices[0].click()
    assert picked in find(driver, tid("confirm-time")).text
    click(driver, tid("confirm"))
    assert picked in find(driver, tid("done")).text

    token = member_token(driver)
    [booking] = as_member(stack, token, "me/bookings")["items"]
    assert local_start(booking)[1] == picked
    booking_id = booking["booking_id"]

    # A "manage my booking" link on a phone that never saw her: the booking comes first, ready to manage.
    driver.get("about:blank")
    driver.execute_cdp_cmd(
        "Storage.clearDataForOrigin", {"origin": stack.api, "storageTypes": "local_storage"}
    )
    driver.get(f"{page_url(stack, SH_STORE)}#token={token}&booking={booking_id}")
    card = find(driver, tid(f"booking-{booking_id}"))
    assert "focus" in card.get_attribute("class").split()
    assert card.find_element(By.CSS_SELECTOR, tid(f"reschedule-{booking_id}")).is_displayed()
    assert driver.execute_script("return location.hash") == ""  # the token left the address bar
    assert member_token(driver) == token


# --- inside WeChat ----------------------------------------------------------------------------------------


# WeChat's JS-SDK as the page sees it inside WeChat (the real one is WeChat's own, from res.wx.qq.com): it keeps
# what wx.config was given. The page loads the SDK only when `wx` is not there yet.
WX_STUB = """
window.__wxConfigs = [];
window.wx = { config(c) { window.__wxConfigs.push(c); }, ready(f) { f(); }, error() {} };
"""


def test_inside_wechat_she_signs_in_with_wechat_and_comes_back_to_confirm(driver, stack):
    """... and the done screen offers WeChat's subscribe button for the store's subscription templates, with
    wx.config signed by the API for this page."""
    agent = driver.execute_script("return navigator.userAgent")
    driver.execute_cdp_cmd(
        "Emulation.setUserAgentOverride", {"userAgent": agent + " MicroMessenger/8.0.50.2701 NetType/WIFI"}
    )
    stub = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WX_STUB})["identifier"]
    try:
        open_page(driver, stack)
        click(driver, tid("service-gel-solid"))
        click(driver, tid("stylist-any"))
        until(driver, lambda d: visible_times(d), what="open times")
        day, hhmm = chosen_day(driver), visible_times(driver)[0].text
        visible_times(driver)[0].click()

        # WeChat's authorize page (the local fake's) sends her back with #token=…; her time waits for her.
        click(driver, tid("wechat-signin"))
        find(driver, tid("screen-confirm"))
        assert hhmm in find(driver, tid("confirm-time")).text
        assert driver.execute_script("return location.hash") == ""
        click(driver, tid("confirm"))
        assert hhmm in find(driver, tid("done")).text

        button = WebDriverWait(driver, WAIT).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, tid("wechat-subscribe")))
        )
        assert button.tag_name == "wx-open-subscribe"
        page = driver.execute_script("return location.href.split('#')[0]")
        status, signed = http(
            "GET", f"{stack.api}/v1/stores/{SH_STORE}/wechat/js-config?{urlencode({'url': page})}"
        )
        assert status == 200, signed
        assert button.get_attribute("template") == ",".join(signed["subscribe_template_ids"])
        [config] = driver.execute_script("return window.__wxConfigs")
        assert config["appId"] == signed["app_id"] and config["openTagList"] == ["wx-open-subscribe"]
        assert re.fullmatch(r"[0-9a-f]{40}", config["signature"]) and config["nonceStr"]
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": stub})
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": agent})

    [booking] = as_member(stack, member_token(driver), "me/bookings")["items"]
    assert local_start(booking) == (day, hhmm)


# --- a full day, the waitlist, a freed time, the claim -----------------------------------------------------


def fill_stylists_day(stack, stylist: str, service: str, day: date) -> tuple[str, str]:
    """Book a stylist's whole day by the booking system's webhook: from her first open start to the end of her
    last. Answers the blocking booking's (id, start)."""
    status, body = http(
        "GET",
        f"{stack.api}/v1/stores/{SH_STORE}/availability?service={service}&stylist={stylist}"
        f"&from={day.isoformat()}&days=1",
    )
    assert status == 200, body
    starts = sorted(datetime.fromisoformat(s["start"]) for s in body["slots"])
    assert starts, f"{stylist} has no open time on {day}"
    minutes = next(s["minutes"] for s in catalog(stack)["services"] if s["code"] == service)
    first, last = starts[0], starts[-1] + timedelta(minutes=minutes)
    blocker = f"bk-block-{uuid.uuid4().hex[:8]}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=blocker,
            member_id=f"walkin-{uuid.uuid4().hex[:6]}",
            stylist=stylist,
            start=first,
            occurred_at=stack.now(),
            duration=int((last - first).total_seconds() // 60),
            phone="+8613600136000",
        )
    )
    assert status == 202, body
    return blocker, first.isoformat()


def catalog(stack) -> dict:
    status, body = http("GET", f"{stack.api}/v1/stores/{SH_STORE}/catalog")
    assert status == 200, body
    return body


def test_a_member_waits_for_a_full_day_and_claims_the_time_a_cancellation_frees(driver, stack, shots):
    service = "gel-solid"
    stylist = next(s["id"] for s in catalog(stack)["stylists"] if service in s["services"])
    day = stack.now().date() + timedelta(days=3)
    blocker, freed_start = fill_stylists_day(stack, stylist, service, day)
    national, e164 = new_phone()

    # Her day is full: the page offers the waitlist instead of times.
    open_page(driver, stack)
    click(driver, tid(f"service-{service}"))
    click(driver, tid(f"stylist-{stylist}"))
    click(driver, tid(f"day-{day.isoformat()}"))
    offer = find(driver, tid("waitlist-offer"))
    assert not visible_times(driver)
    shots("waitlist-offer")
    click(driver, tid("part-any"))
    assert offer.find_element(By.CSS_SELECTOR, tid("part-any")).get_attribute("aria-pressed") == "true"
    click(driver, tid("waitlist-join"))
    sign_in_by_sms(driver, stack, national, e164)
    find(driver, tid("waitlist-joined"))
    token = member_token(driver)
    entries = as_member(stack, token, "me/waitlist")["items"]
    assert [(e["date"], e["part_of_day"], e["status"]) for e in entries] == [
        (day.isoformat(), "any", "waiting")
    ]
    waitlist_id = entries[0]["waitlist_id"]

    # The booking system cancels the booking that filled the day: the time goes to her, with a claim link.
    cancel = booking_event(
        type="booking.cancelled",
        booking_id=blocker,
        stylist=stylist,
        start=freed_start,
        occurred_at=stack.now(),
    )
    status, body = stack.post_booking(cancel)
    assert status == 202, body
    quiet = quiet_delay(stack.now(), stack.store(SH_STORE)["timezone"])
    if quiet:  # at night the offer waits for the morning (the freed time is days away): make it morning
        stack.advance(quiet + 60)
    offered = eventually(
        lambda: next((e for e in as_member(stack, token, "me/waitlist")["items"] if e.get("offer")), None),
        60,
        "the offer",
    )
    assert offered["waitlist_id"] == waitlist_id
    assert datetime.fromisoformat(offered["offer"]["start"]) == datetime.fromisoformat(freed_start)

    # She opens the offer's link from her SMS.
    link = eventually(
        lambda: next((m.group(0) for m in map(OFFER_LINK.search, reversed(stack.sms_to(e164))) if m), None),
        30,
        "the offer's SMS",
    )
    driver.get(link if link.startswith("http") else stack.api + link)
    claim = find(driver, tid("claim"))
    assert freed_start[11:16] in claim.find_element(By.CSS_SELECTOR, tid("claim-time")).text
    service_name = next(s["name"]["zh-CN"] for s in catalog(stack)["services"] if s["code"] == service)
    until(
        driver,
        lambda d: service_name in d.find_element(By.CSS_SELECTOR, tid("claim-what")).text,
        what="service",
    )
    shots("waitlist-claim")
    click(driver, tid("claim-submit"))
    done = find(driver, tid("done"))
    assert freed_start[11:16] in done.text

    items = as_member(stack, token, "me/bookings")["items"]
    assert [(datetime.fromisoformat(b["start"]), b["status"]) for b in items] == [
        (datetime.fromisoformat(freed_start), "booked")
    ]
    assert {e["waitlist_id"]: e["status"] for e in as_member(stack, token, "me/waitlist")["items"]} == {
        waitlist_id: "booked"
    }


def test_a_store_that_books_elsewhere_shows_its_phone_instead_of_the_flow(driver, stack):
    external = [s for s in stack.info["stores"] if s.get("booking_mode") == "external"]
    assert external, "the demo chain has a store whose booking system takes its bookings"
    open_page(driver, stack, external[0]["id"])
    notice = find(driver, tid("external"))
    assert notice.find_element(By.CSS_SELECTOR, tid("store-phone")).text
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid^="service-"]')


def sign_in_by_api(stack, e164: str) -> str:
    base = f"{stack.api}/v1/stores/{SH_STORE}/member-sessions"
    status, body = http("POST", base, {"phone": e164}, {"Content-Type": "application/json"})
    assert status == 202, body
    code = CODE.search(eventually(lambda: stack.sms_to(e164), 30, "the code SMS")[-1]).group(1)
    status, body = http(
        "POST", base + "/verify", {"phone": e164, "code": code}, {"Content-Type": "application/json"}
    )
    assert status == 200, body
    return body["member_token"]


def test_too_close_to_cancel_online_shows_the_store_phone(driver, stack):
    """Last in this file: it moves the stack's clock to an hour and a half before her booking."""
    _, e164 = new_phone()
    token = sign_in_by_api(stack, e164)
    status, body = http(
        "GET",
        f"{stack.api}/v1/stores/{SH_STORE}/availability?service=cut-wash&stylist=any"
        f"&from={stack.now().astimezone(ZoneInfo('Asia/Shanghai')).date().isoformat()}&days=14",
    )
    assert status == 200, body
    slot = body["slots"][0]
    start = datetime.fromisoformat(slot["start"])
    status, body = http(
        "POST",
        f"{stack.api}/v1/stores/{SH_STORE}/bookings",
        {
            "service": "cut-wash",
            "stylist_id": slot["stylist_id"],
            "start": slot["start"],
            "idempotency_key": uuid.uuid4().hex,
        },
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 201, body
    booking_id = body["booking_id"]
    # The Shanghai store takes cancellations online until 2 hours before (cancel_until_minutes: 120).
    stack.advance_to(start - timedelta(minutes=90))

    [booking] = as_member(stack, token, "me/bookings")["items"]
    assert booking["can_cancel"] is False

    # Her manage link: no cancel button, the store's number instead.
    open_page(driver, stack, fragment=f"#token={token}&booking={booking_id}")
    card = find(driver, tid(f"booking-{booking_id}"))
    notice = card.find_element(By.CSS_SELECTOR, tid("too-late"))
    assert notice.find_element(By.CSS_SELECTOR, tid("store-phone")).text == catalog(stack)["store"]["phone"]
    assert not card.find_elements(By.CSS_SELECTOR, tid(f"cancel-{booking_id}"))
    assert card.find_element(By.CSS_SELECTOR, tid("booking-status")).text == "已预约"
