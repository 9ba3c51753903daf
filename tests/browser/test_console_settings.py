"""The console's Settings tab (issue 17) in headless Chromium against the running local stack: a store manager sets
her store's review links, manager phone and hand-off limit (a bad value is named beside the form), a chain admin
also what follows the feedback request, and a stylist has no Settings tab. The API answers what the forms saved;
each test puts the shared stack's settings back as it found them."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import DESK
from tests.browser.test_console import (  # noqa: F401 - no_console_errors: autouse, no error in the browser's console
    click,
    find,
    no_console_errors,
    open_console,
    sign_in_demo,
    tid,
    until,
)
from tests.browser.test_console_corrections import sign_in_as

STORE = "ldn-soho"
STORE_SETTINGS = f"/v1/stores/{STORE}/settings"
TRIPADVISOR = "https://www.tripadvisor.co.uk/demo-ldn-soho-review"


@pytest.fixture
def ldn_settings(stack):
    status, before = stack.staff("GET", STORE_SETTINGS)
    assert status == 200, before
    yield before
    restore = {
        k: before[k] for k in ("review_links", "manager_phone", "handoff_limit_minutes", "channel_routing")
    }
    assert stack.staff("PATCH", STORE_SETTINGS, restore) == (200, before)


@pytest.fixture
def chain_settings(stack):
    path = f"/v1/chains/{stack.info['chain_id']}/settings"
    status, before = stack.staff("GET", path)
    assert status == 200, before
    yield path
    restore = {k: before[k] for k in ("feedback_settings", "channel_routing")}
    assert stack.staff("PATCH", path, restore) == (200, before)


def sign_in_as_manager(driver, stack, store: str) -> None:
    open_console(driver, stack)
    find(driver, tid("token-input")).send_keys(stack.info["store_tokens"][store])
    click(driver, tid("signin-submit"))
    find(driver, tid("tab-inbox"))


def saved(driver) -> None:
    until(
        driver,
        lambda d: "show" in d.find_element(By.ID, "toast").get_attribute("class"),
        what="the saved toast",
    )


def test_a_store_manager_sets_review_links_phone_and_limit_and_a_bad_value_is_named(
    driver, stack, shots, ldn_settings
):
    sign_in_as_manager(driver, stack, STORE)
    click(driver, tid("tab-settings"))
    form = find(driver, tid("set-store-form"))
    assert not driver.find_elements(By.CSS_SELECTOR, tid("set-chain-form"))  # the chain's is for chain admins
    assert [i.get_attribute("value") for i in form.find_elements(By.CSS_SELECTOR, tid("set-link-url"))] == [
        link["url"] for link in ldn_settings["review_links"]
    ]

    limit = find(driver, tid("set-limit"))
    limit.clear()
    limit.send_keys("0")
    click(driver, tid("set-store-save"))
    error = until(
        driver, lambda d: d.find_element(By.CSS_SELECTOR, tid("set-store-error")).text, what="the error"
    )
    assert "响应时限" in error
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert len(logged) == 1 and "/settings" in logged[0] and "400" in logged[0], (
        logged
    )  # the API's answer, only
    assert find(driver, tid("set-limit")).get_attribute("aria-invalid") == "true"
    assert stack.staff("GET", STORE_SETTINGS) == (200, ldn_settings)  # nothing was written

    limit = find(driver, tid("set-limit"))
    limit.clear()
    limit.send_keys("20")
    find(driver, tid("set-phone")).send_keys("+44 20 7946 0001")
    click(driver, tid("set-link-add"))
    find(driver, f"{tid('set-links')} li:last-child {tid('set-link-label')}").send_keys("Tripadvisor")
    find(driver, f"{tid('set-links')} li:last-child {tid('set-link-url')}").send_keys(TRIPADVISOR)
    Select(find(driver, f"{tid('set-links')} li:last-child {tid('set-link-locale')}")).select_by_value("en")
    click(driver, tid("set-store-save"))
    saved(driver)
    shots("settings-store")

    status, body = stack.staff("GET", STORE_SETTINGS)
    assert status == 200, body
    assert body["handoff_limit_minutes"] == 20 and body["manager_phone"] == "+442079460001"
    assert body["review_links"] == [
        *ldn_settings["review_links"],
        {"label": "Tripadvisor", "url": TRIPADVISOR, "locales": ["en"]},
    ]
    assert find(driver, tid("set-limit")).get_attribute("value") == "20"  # the form shows what was stored


def test_a_chain_admin_also_sets_what_follows_the_feedback_request(driver, stack, shots, chain_settings):
    driver.set_window_size(DESK[0], 1250)  # both cards in one picture
    sign_in_demo(driver, stack)
    click(driver, tid("tab-settings"))
    find(driver, tid("set-store-form"))
    Select(find(driver, tid("set-no-answer"))).select_by_value("skip")
    find(driver, tid("set-offer")).send_keys("护理八折")
    days = find(driver, tid("set-days"))
    days.clear()
    days.send_keys("14")
    shots("settings-chain")
    click(driver, tid("set-chain-save"))
    saved(driver)

    status, body = stack.staff("GET", chain_settings)
    assert status == 200, body
    assert body["feedback_settings"] == {
        "no_answer": "skip",
        "thank_you_coupon": {"offer": "护理八折", "valid_days": 14},
    }


def test_a_stylist_has_no_settings_tab(driver, stack):
    sign_in_as(driver, stack, "stylist")
    assert not driver.find_elements(By.CSS_SELECTOR, tid("tab-settings"))


def test_a_store_manager_orders_the_stores_channels_and_gives_the_choice_back_to_the_chain(
    driver, stack, shots, ldn_settings
):
    """Issue 15's channel routing: off the default, untick a channel, move one up, and save; the API stores the order
    shown. Ticking "use the chain's" again removes the store's own."""
    sign_in_as_manager(driver, stack, STORE)
    click(driver, tid("tab-settings"))
    find(driver, tid("set-store-form"))
    uses = driver.find_elements(By.CSS_SELECTOR, tid("set-store-routing-use"))
    assert all(not box.is_enabled() for box in uses)  # the default: nothing to edit until it is unticked

    click(driver, tid("set-store-routing-default"))
    rows = driver.find_elements(By.CSS_SELECTOR, f"{tid('set-store-routing-order')} li")
    assert [r.get_attribute("data-channel") for r in rows] == [
        "wechat",
        "wechat_template",
        "wechat_subscribe",
        "agora",
        "sms",
        "email",
    ]
    rows[1].find_element(By.CSS_SELECTOR, tid("set-store-routing-use")).click()  # no template messages
    rows[5].find_element(By.CSS_SELECTOR, tid("set-store-routing-up")).click()  # email before SMS
    click(driver, tid("set-store-save"))
    saved(driver)
    shots("settings-routing")

    status, body = stack.staff("GET", STORE_SETTINGS)
    assert status == 200 and body["channel_routing"] == {
        "order": ["wechat", "wechat_subscribe", "agora", "email", "sms"],
        "prefer_member_choice": True,
    }, body
    rows = driver.find_elements(
        By.CSS_SELECTOR, f"{tid('set-store-routing-order')} li"
    )  # drawn from what was stored
    assert [r.get_attribute("data-channel") for r in rows] == [
        "wechat",
        "wechat_subscribe",
        "agora",
        "email",
        "sms",
        "wechat_template",
    ]

    click(driver, tid("set-store-routing-default"))
    click(driver, tid("set-store-save"))
    saved(driver)
    until(
        driver,
        lambda d: stack.staff("GET", STORE_SETTINGS)[1]["channel_routing"] is None,
        what="the default back",
    )
