"""Remembered preferences beside the chat (issue 17 §5), in headless Chromium against the running local stack: a
stylist opens a member's conversation, records her favourite stylist, style notes, liked colours and designs and
her allergy in the member panel; the allergy stands out for staff, and the API answers what the form saved."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.conftest import booked_member_says
from tests.browser.test_console import click, find, go, tid, until
from tests.browser.test_console_corrections import sign_in_as
from tests.support.builders import SH_STORE


def member_who_wrote(stack) -> str:
    member, _ = booked_member_says(
        stack, "prefs", "你好，想问下周末还有空位吗", hour=14, phone="+8613500135000", category="nail_gel"
    )
    return member


def test_a_stylist_records_preferences_beside_the_chat_and_the_allergy_stands_out(driver, stack, shots):
    member = member_who_wrote(stack)
    sign_in_as(driver, stack, "stylist")
    go(driver, stack, f"#/inbox/{member}")
    panel = find(driver, tid("preferences"))
    assert not panel.find_elements(By.CSS_SELECTOR, ".allergy-alert")  # nothing recorded yet

    click(driver, tid("prefs-edit"))
    find(driver, tid("prefs-favourite_stylist-input")).send_keys("Lina")
    find(driver, tid("prefs-style_notes-input")).send_keys("喜欢短一点的甲型")
    find(driver, tid("prefs-colours-input")).send_keys("奶茶色、裸粉")
    find(driver, tid("prefs-designs-input")).send_keys("磨砂质感")
    find(driver, tid("prefs-allergies-input")).send_keys("乳胶手套")
    click(driver, tid("prefs-save"))

    alert = until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, tid("prefs-allergies")),
        what="the allergy to show",
    )
    assert "乳胶手套" in alert.text and alert.get_attribute("role") == "alert"
    assert "仅员工可见" in alert.text
    assert find(driver, tid("prefs-designs")).text == "磨砂质感"
    assert find(driver, tid("prefs-colours")).text == "奶茶色、裸粉"
    shots("conversation-preferences")

    status, profile = stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}")
    assert status == 200
    prefs = profile["preferences"]
    assert prefs["colours"] == ["奶茶色", "裸粉"] and prefs["designs"] == ["磨砂质感"]
    assert prefs["allergies"] == ["乳胶手套"] and prefs["favourite_stylist"] == "Lina"
    assert prefs["style_notes"] == "喜欢短一点的甲型"

    driver.refresh()  # what was saved is what the panel shows after a reload
    assert "乳胶手套" in find(driver, tid("prefs-allergies")).text
