"""Someone answers, fast (issue 17 part 3), in headless Chromium against the running local stack: the console says
its holder is online, a complaint handed off while the front desk is online goes to the desk, the inbox shows who
has it and how long she has waited, and the desk releases and takes it again; signing out goes offline."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.conftest import DESK, booked_member_says
from tests.browser.test_console import click, find, go, open_console, tid, until
from tests.support.builders import SH_STORE

PRESENCE = f"/v1/stores/{SH_STORE}/staff/presence"
DESK_STAFF = "demo-front-desk-sh-jingan"  # the local stack's front_desk demo token's subject


def sign_in_as(driver, stack, role: str) -> None:
    open_console(driver, stack)
    find(driver, tid("token-input")).send_keys(stack.info["role_tokens"][role])
    click(driver, tid("signin-submit"))
    find(driver, tid("tab-inbox"))


def online(stack) -> list[str]:
    status, body = stack.staff("GET", PRESENCE)
    assert status == 200, body
    return [s["staff_id"] for s in body["staff"]]


def member_complains(stack) -> str:
    # her stylist (sh-lina) is not online: the front desk gets her
    member, body = booked_member_says(stack, "ho", "烫坏了，我要投诉！", hour=16, phone="+8613600136011")
    assert body["intent"] == "complaint", body
    return member


def test_the_desk_is_online_gets_the_hand_off_and_can_release_and_take_it(driver, stack, shots):
    driver.set_window_size(
        *DESK
    )  # the list beside the conversation (an earlier test may have left a phone's size)
    driver.get_log("browser")  # drop what earlier tests left
    sign_in_as(driver, stack, "front_desk")
    until(
        driver, lambda d: DESK_STAFF in d.find_element(By.CSS_SELECTOR, tid("presence")).text, what="presence"
    )
    assert DESK_STAFF in online(stack)

    member = member_complains(stack)
    row = tid(f"assignee-{member}")
    until(
        driver,
        lambda d: DESK_STAFF in d.find_element(By.CSS_SELECTOR, row).text,
        what="the assignee in the inbox",
    )
    assert "已等待" in find(driver, tid(f"waited-{member}")).text
    shots("inbox-handoff")

    go(driver, stack, f"#/inbox/{member}")
    click(driver, tid("release"))
    until(driver, lambda d: "未分配" in d.find_element(By.CSS_SELECTOR, row).text, what="unassigned")
    click(driver, tid("take"))
    until(driver, lambda d: DESK_STAFF in d.find_element(By.CSS_SELECTOR, row).text, what="taken again")
    find(driver, tid("release"))
    _, inbox = stack.staff("GET", f"/v1/stores/{SH_STORE}/conversations?status=needs_human")
    [mine] = [c for c in inbox["items"] if c["id"] == member]
    assert mine["assignee"] == DESK_STAFF and mine["waiting_since"]

    click(driver, tid("sign-out"))
    find(driver, tid("signin-form"))
    until(driver, lambda d: DESK_STAFF not in online(stack), what="offline after sign-out")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
