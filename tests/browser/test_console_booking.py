"""Staff book, move and cancel for a member from the console (issue 14, item 4), in headless Chromium against the
running local stack: the front desk books (a wrong member id is shown under its field; a time taken meanwhile
offers the nearest open ones), sees the booking on the day, moves it and cancels it -- checked on screen and in
the server's day; a stylist sees none of it (and the API refuses her); the form on a phone, opened from a
member's profile."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from devstack.client import http
from tests.browser.conftest import DESK, PHONE
from tests.browser.test_console import click, find, go, shanghai_daytime, sign_in_demo, tid, until
from tests.support.builders import SH_STORE, booking_event

BOOKINGS = f"/v1/stores/{SH_STORE}/bookings"


@pytest.fixture(autouse=True)
def no_unexpected_console_errors(driver):
    driver.set_window_size(*DESK)
    driver.get_log("browser")  # drop what earlier tests left
    yield
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def expect_logged(driver, status: int) -> None:
    """The one error the browser logs is the API's own answer (a 4xx the page shows): drain it, and only it."""
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert len(logged) == 1 and "/bookings" in logged[0] and str(status) in logged[0], logged


def member_of_the_chain(stack, member: str, name: str, hour: int) -> None:
    """A member the chain knows: her first booking arrived from the booking system (a signed webhook). Her phone
    is her own (the stack is shared with the e2e tests, which read what each phone was sent)."""
    phone = f"+86136{uuid.uuid4().int % 10**8:08d}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-{member}",
            member_id=member,
            stylist="sh-lina",
            start=stack.local(SH_STORE, 12, hour),
            occurred_at=stack.now(),
            phone=phone,
            category="hair_cut",
            member={
                "id": member,
                "name": name,
                "phone": phone,
                "email": None,
                "locale": "zh-CN",
                "birthday": None,
                "wechat_openid": None,
                "marketing_consent": False,
            },
        )
    )
    assert status == 202, body


@pytest.fixture(scope="module")
def desk(stack) -> dict:
    """Two members of the chain, the day after the (fixed, daytime) store clock, and a service with open times."""
    if stack.store(SH_STORE).get("booking_mode") != "chairside":
        pytest.skip("the first demo store does not take bookings itself")
    shanghai_daytime(stack)
    tz = ZoneInfo(stack.store(SH_STORE)["timezone"])
    day = (stack.now().astimezone(tz) + timedelta(days=1)).date().isoformat()
    run = uuid.uuid4().hex[:6]
    member, rival = f"desk-{run}", f"rival-{run}"
    member_of_the_chain(stack, member, "陈静", 11)
    member_of_the_chain(stack, rival, "周敏", 14)
    status, catalog = http("GET", f"{stack.api}/v1/stores/{SH_STORE}/catalog")
    assert status == 200, catalog
    for service in catalog["services"]:
        slots = open_times(stack, service["code"], "any", day)
        stylists = {s["stylist_id"] for s in slots}
        if len(slots) >= 6 and stylists:
            stylist = sorted(stylists)[0]
            return {
                "day": day,
                "member": member,
                "rival": rival,
                "service": service["code"],
                "stylist": stylist,
            }
    pytest.skip(f"no service with open times on {day}")


def open_times(stack, service: str, stylist: str, day: str) -> list[dict]:
    status, body = http(
        "GET",
        f"{stack.api}/v1/stores/{SH_STORE}/availability?service={service}&stylist={stylist}&from={day}&days=1",
    )
    assert status == 200, body
    return [s for s in body["slots"] if s["start"].startswith(day)]


def server_day(stack, day: str) -> list[dict]:
    status, body = stack.staff("GET", f"{BOOKINGS}?date={day}")
    assert status == 200, body
    return [b for s in body["stylists"] for b in s["bookings"]]


def hhmm_id(start: str) -> str:
    return start[11:16].replace(":", "")


def test_the_front_desk_books_moves_and_cancels_for_a_member(driver, stack, desk, shots):
    day, member = desk["day"], desk["member"]
    sign_in_demo(driver, stack, "front_desk")
    go(driver, stack, f"#/today/{day}")
    find(driver, tid("today-board"))
    click(driver, tid("new-booking"))
    find(driver, tid("book-form"))

    Select(find(driver, tid("book-service"))).select_by_value(desk["service"])
    Select(find(driver, tid("book-stylist"))).select_by_value(desk["stylist"])
    shown = f"{desk['service']} {desk['stylist']} {day}"  # the open times on screen are for what was picked
    find(driver, f'{tid("book-form")} [data-testid="slots"][data-for="{shown}"]')
    times = open_times(stack, desk["service"], desk["stylist"], day)
    wanted = times[len(times) // 2]
    click(driver, tid(f"slot-{hhmm_id(wanted['start'])}"))
    assert all(
        len(b.text.split(" · ")[0]) == 5 for b in driver.find_elements(By.CSS_SELECTOR, ".times .chip")
    )

    # A member id the chain does not know: the field at fault says so, nothing is booked.
    find(driver, tid("book-member")).send_keys("nobody-" + uuid.uuid4().hex[:6])
    click(driver, tid("book-submit"))
    until(
        driver, lambda d: d.find_element(By.CSS_SELECTOR, tid("err-member")).text.strip(), what="member error"
    )
    expect_logged(driver, 400)

    # The right member; but the time is taken meanwhile (the rival books it by phone): the nearest open times.
    box = find(driver, tid("book-member"))
    box.clear()
    box.send_keys(member)
    status, taken = stack.staff(
        "POST",
        BOOKINGS,
        {
            "member_id": desk["rival"],
            "service": desk["service"],
            "stylist_id": desk["stylist"],
            "start": wanted["start"],
            "idempotency_key": f"rival-{uuid.uuid4().hex[:8]}",
        },
    )
    assert status == 201, taken
    click(driver, tid("book-submit"))
    alternative = find(driver, tid("alternative-0"))
    expect_logged(driver, 409)
    assert len(driver.find_elements(By.CSS_SELECTOR, '[data-testid^="alternative-"]')) <= 3
    shots("console-book-taken")
    start = alternative.get_attribute("data-start")
    alternative.click()
    click(driver, tid("book-submit"))

    # Booked: the form closes and the day (of the time picked) shows her booking, as the server has it.
    until(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, tid("book-form")), what="the form to close")
    mine = [b for b in server_day(stack, start[:10]) if b["member"]["id"] == member]
    assert len(mine) == 1 and mine[0]["start"] == start and mine[0]["status"] == "booked", mine
    booking = mine[0]["id"]
    row = tid(f"booking-{booking}")
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, row).text.startswith(start[11:16]),
        what="the booking",
    )
    assert "陈静" in find(driver, row).text

    # Move it: another open time of her stylist that day.
    click(driver, f"{row} {tid('timeline-link')}")
    click(driver, tid("move"))
    find(driver, f'{tid("move-form")} [data-testid="slots"][data-for]:not([data-for=""])')
    later = [
        s
        for s in open_times(stack, desk["service"], mine[0]["stylist"]["id"], start[:10])
        if s["start"] != start
    ]
    assert later, "no other open time that day"
    new_start = later[-1]["start"]
    click(driver, f"{tid('move-form')} {tid('slot-' + hhmm_id(new_start))}")
    shots("console-move")
    click(driver, tid("move-submit"))
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, row).text.startswith(new_start[11:16]),
        what="the moved booking on the day",
    )
    [moved] = [b for b in server_day(stack, new_start[:10]) if b["id"] == booking]
    assert moved["start"] == new_start and moved["status"] == "booked", moved

    # Cancel it, with a reason, after a confirm step ("keep it" first: nothing changes).
    click(driver, f"{row} {tid('timeline-link')}")
    click(driver, tid("cancel"))
    click(driver, tid("cancel-keep"))
    until(
        driver,
        lambda d: not d.find_elements(By.CSS_SELECTOR, tid("cancel-form")),
        what="the confirm to close",
    )
    assert stack.staff("GET", f"{BOOKINGS}/{booking}")[1]["booking"]["status"] == "booked"
    click(driver, tid("cancel"))
    find(driver, tid("cancel-reason")).send_keys("会员来电改约其他门店")
    click(driver, tid("cancel-confirm"))
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "cancelled",
        what="the cancelled booking on the day",
    )
    assert stack.staff("GET", f"{BOOKINGS}/{booking}")[1]["booking"]["status"] == "cancelled"


def test_a_stylist_sees_no_booking_actions_and_the_api_refuses_her(driver, stack, desk):
    sign_in_demo(driver, stack, "stylist")
    go(driver, stack, f"#/today/{desk['day']}")
    find(driver, tid("today-board"))
    assert not driver.find_elements(By.CSS_SELECTOR, tid("new-booking"))
    slot = open_times(stack, desk["service"], "any", desk["day"])[0]
    status, booked = (
        stack.staff(  # the chain admin books one for her, so the stylist has a booking to look at
            "POST",
            BOOKINGS,
            {
                "member_id": desk["rival"],
                "service": desk["service"],
                "stylist_id": slot["stylist_id"],
                "start": slot["start"],
                "idempotency_key": f"admin-{uuid.uuid4().hex[:8]}",
            },
        )
    )
    assert status == 201, booked
    [booking] = [b for b in server_day(stack, desk["day"]) if b["id"] == booked["booking_id"]]
    go(driver, stack, f"#/booking/{booking['id']}")
    find(driver, tid("timeline-status"))
    assert not driver.find_elements(By.CSS_SELECTOR, f"{tid('move')}, {tid('cancel')}")
    go(driver, stack, f"#/book/{desk['member']}")  # the member link's route: the form does not open for her
    find(driver, tid("today-board"))
    assert not driver.find_elements(By.CSS_SELECTOR, tid("book-form"))

    stylist = {
        "Authorization": f"Bearer {stack.info['role_tokens']['stylist']}",
        "Content-Type": "application/json",
    }
    status, body = http("POST", f"{stack.api}{BOOKINGS}/{booking['id']}/cancel", {}, stylist)
    assert status == 403, body
    status, body = http(
        "POST",
        f"{stack.api}{BOOKINGS}",
        {
            "member_id": desk["member"],
            "service": desk["service"],
            "stylist_id": "any",
            "start": booking["start"],
            "idempotency_key": "stylist-try",
        },
        stylist,
    )
    assert status == 403, body
    assert stack.staff("GET", f"{BOOKINGS}/{booking['id']}")[1]["booking"]["status"] == "booked"


def test_on_a_phone_the_form_opens_from_a_members_profile(driver, stack, desk, shots):
    status, body = (
        stack.signed(  # she writes in, so the desk has her conversation open with her profile beside it
            "/v1/webhooks/messages",
            {
                "event_id": f"e-{uuid.uuid4().hex[:8]}",
                "store_id": SH_STORE,
                "member_id": desk["member"],
                "channel": "sms",
                "member_name": "陈静",
                "message": {
                    "id": f"m-{uuid.uuid4().hex[:8]}",
                    "type": "text",
                    "text": "你好，想问一下营业时间",
                },
                "sent_at": stack.now().isoformat(),
            },
        )
    )
    assert status == 200, body
    driver.set_window_size(*PHONE)
    sign_in_demo(driver, stack, "front_desk")
    go(driver, stack, f"#/inbox/{desk['member']}")
    find(driver, ".msg.in")
    link = find(driver, tid("member-book"))
    link.click()
    form = find(driver, tid("book-form"))
    assert find(driver, tid("book-member")).get_attribute("value") == desk["member"]
    Select(find(driver, tid("book-service"))).select_by_value(desk["service"])
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"{tid('slots')} .chip"), what="the open times")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], width  # nothing runs off the side of a phone
    assert form.size["width"] <= PHONE[0]
    shots("phone-book")
    click(driver, tid("book-close"))
    until(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, tid("book-form")), what="the form to close")

    click(driver, tid("lang-toggle"))  # the same form in English (the route reopens it, her id filled in)
    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, tid("new-booking")).text == "New booking",
        what="English",
    )
    assert "Book for a member" in find(driver, tid("book-form")).text
    assert find(driver, tid("book-member")).get_attribute("value") == desk["member"]
    click(driver, tid("lang-toggle"))
