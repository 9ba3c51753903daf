"""Remembered preferences beside the chat (issue 17 §5), in headless Chromium against the running local stack: a
stylist opens a member's conversation, records her favourite stylist, style notes, liked colours and designs and
her allergy in the member panel; the allergy stands out for staff, and the API answers what the form saved."""

from __future__ import annotations

import uuid

from selenium.webdriver.common.by import By

from tests.browser.test_console import click, find, go, tid, until
from tests.browser.test_console_corrections import sign_in_as
from tests.support.builders import SH_STORE, booking_event


def member_who_wrote(stack) -> str:
    member = f"prefs-{uuid.uuid4().hex[:6]}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-{member}",
            member_id=member,
            stylist="sh-lina",
            start=stack.local(SH_STORE, 6 + uuid.uuid4().int % 300, 14),  # a day no other test books
            occurred_at=stack.now(),
            phone="+8613500135000",
            category="nail_gel",
        )
    )
    assert status == 202, body
    status, body = stack.signed(
        "/v1/webhooks/messages",
        {
            "event_id": f"e-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": member,
            "channel": "sms",
            "message": {
                "id": f"m-{uuid.uuid4().hex[:8]}",
                "type": "text",
                "text": "你好，想问下周末还有空位吗",
            },
            "sent_at": stack.now().isoformat(),
        },
    )
    assert status == 200, body
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
