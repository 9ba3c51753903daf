"""The staff console in a real headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
`make browser-deps`), driven by Selenium against the running local stack (`stack`, tests/support/stack.py).

`CONSOLE_SCREENSHOTS=1` (what `make screenshots` sets) also saves each screen to docs/screenshots/.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.builders import SH_STORE, booking_event

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = ROOT / "docs" / "screenshots"
DESK = (1440, 900)
PHONE = (390, 844)
# The network is closed: without these Chromium waits on connections it will never get.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--force-device-scale-factor=1",
    "--lang=zh-CN",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    skip = pytest.mark.skip(reason="chromium/chromedriver missing: run `make browser-deps` (make test does)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def driver() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chairside-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={DESK[0]},{DESK[1]}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download one.
    service = Service(shutil.which("chromedriver") or CHROMEDRIVER)
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Shots:
    """Screenshots for the README, only when asked for (they are committed, not made on every run)."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.enabled = os.environ.get("CONSOLE_SCREENSHOTS") == "1"

    def __call__(self, name: str) -> None:
        if self.enabled:
            # A passing toast would cover part of the screen in the picture.
            self.driver.execute_script(
                "document.getElementById('toast')?.classList.remove('show');"
                "document.activeElement?.blur(); window.scrollTo(0, 0);"
            )
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(SHOTS / f"{name}.png"))


@pytest.fixture(scope="session")
def shots(driver) -> Shots:
    return Shots(driver)


# The days ahead booked_member_says books on, one each: two random days of 300 met once in a while (a 409).
_DAYS_AHEAD = itertools.count(6)


def booked_member_says(
    stack, prefix: str, text: str, *, hour: int, phone: str, **booking
) -> tuple[str, dict]:
    """A member of the Shanghai store booked with sh-lina at `hour` on a day no other test books, who then writes
    `text`: (member id, the message webhook's answer)."""
    member = f"{prefix}-{uuid.uuid4().hex[:6]}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-{member}",
            member_id=member,
            stylist="sh-lina",
            start=stack.local(SH_STORE, next(_DAYS_AHEAD), hour),
            occurred_at=stack.now(),
            phone=phone,
            **booking,
        )
    )
    assert status == 202, body
    status, body = stack.member_says(SH_STORE, member, text)
    assert status == 200, body
    return member, body
