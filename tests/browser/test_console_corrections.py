"""Staff correct what a member's message meant, in one click (issue 16 §4), in headless Chromium against the
running local stack: the front desk picks the right intent beside the message, the message shows it as corrected,
and the API answers the same; a stylist sees the reading but cannot change it."""

from __future__ import annotations

import re
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import booked_member_says
from tests.browser.test_console import click, find, go, open_console, tid, until
from tests.support.builders import SH_STORE


def sign_in_as(driver, stack, role: str) -> None:
    open_console(driver, stack)
    find(driver, tid("token-input")).send_keys(stack.info["role_tokens"][role])
    click(driver, tid("signin-submit"))
    find(driver, tid("tab-inbox"))


def member_asks_for_her_card_back(stack) -> tuple[str, str, str]:
    """A member with a booking writes "以后还是去别家看看" (a quiet complaint; when this was written the classifier
    read it as praise, and what it reads changes as its model learns): (member, message id, the intent it read)."""
    member, body = booked_member_says(stack, "refund", "以后还是去别家看看", hour=15, phone="+8613600136000")
    status, page = stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}/messages")
    assert status == 200, page
    [message] = [m for m in page["items"] if m["direction"] == "in"]
    return member, message["id"], message["intent"]


def correction_of(read_as: str) -> str:
    """What the front desk corrects it to: a complaint, unless the model has learned to read it as one."""
    return "complaint" if read_as != "complaint" else "other"


def console_label(intent: str) -> str:
    """The console's Chinese name of an intent (chalicelib/console/i18n.js `intent.<name>`)."""
    source = (Path(__file__).resolve().parents[2] / "chalicelib" / "console" / "i18n.js").read_text("utf-8")
    [label] = re.findall(rf'"intent\.{intent}":\s*"([^"]+)"', source)[:1]
    return label


def test_the_front_desk_corrects_a_misread_message_in_one_click(driver, stack, shots):
    member, message_id, read_as = member_asks_for_her_card_back(stack)
    sign_in_as(driver, stack, "front_desk")
    go(driver, stack, f"#/inbox/{member}")
    picker = tid(f"intent-{message_id}")
    assert Select(find(driver, picker)).first_selected_option.get_attribute("value") == read_as

    corrected = correction_of(read_as)
    Select(find(driver, picker)).select_by_value(corrected)  # the one click

    until(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, picker).get_attribute("data-corrected") == "true",
        what="the message to show the correction",
    )
    assert Select(find(driver, picker)).first_selected_option.get_attribute("value") == corrected
    assert "已更正" in find(driver, f"{tid(f'msg-{message_id}')}").text
    shots("conversation-correction")
    _, page = stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}/messages")
    [shown] = [m for m in page["items"] if m["id"] == message_id]
    assert shown["intent"] == corrected and shown["intent_corrected"] is True


def test_a_stylist_sees_the_reading_but_cannot_correct_it(driver, stack):
    member, message_id, read_as = member_asks_for_her_card_back(stack)
    sign_in_as(driver, stack, "stylist")
    go(driver, stack, f"#/inbox/{member}")

    tag = find(driver, tid(f"intent-{message_id}"))

    assert tag.tag_name == "span" and console_label(read_as) in tag.text
