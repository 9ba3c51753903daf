"""The console's Reports tab (issue 17 §2) in headless Chromium against the running local stack: key figures as
tiles, weekly trend lines, bars per store, stylist and channel, each chart with its table, and the CSV links.

Two tests. The first draws a fixed answer of the reports contract (GET /v1/chains/{chain}/reports, docs/REPORTS.md)
that the page's own fetch is given in place of the API's, so every drawn number can be checked against a known
one and the screenshots show a realistic chain; the second checks the tab against the real reports API."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESK, PHONE
from tests.browser.test_console import (  # noqa: F401 - no_console_errors: autouse, no error in the browser's console
    click,
    find,
    no_console_errors,
    sign_in_demo,
    tid,
    until,
)
from tests.support.builders import SH_STORE, booking_event

FIELDS = [
    "messages_sent", "messages_delivered", "messages_read", "messages_failed", "delivery_rate", "read_rate",
    "failure_rate", "replies", "reply_rate", "bookings", "no_shows", "no_show_rate", "no_show_rate_confirmed",
    "no_show_rate_unconfirmed", "rebooked_60d", "rebook_rate_60d", "feedback_count", "feedback_avg_score",
    "feedback_negative_pct", "complaints", "first_response_median_s", "first_response_p90_s", "opt_outs",
    "campaign_bookings",
]  # fmt: skip


def row(
    key: str, label: str, sent: int, bookings: int, no_shows: int, *, confirmed_ns: float | None = 0.02
) -> dict:
    """A ROW of the contract, its rates derived from its counts as the API derives them (None: nothing to rate)."""
    delivered, read = round(sent * 0.94), round(sent * 0.61)
    failed, replies = sent - delivered, round(sent * 0.18)
    rate = lambda part, whole: round(part / whole, 4) if whole else None  # noqa: E731
    out = {
        "key": key,
        "label": label,
        "messages_sent": sent,
        "messages_delivered": delivered,
        "messages_read": read,
        "messages_failed": failed,
        "delivery_rate": rate(delivered, sent),
        "read_rate": rate(read, sent),
        "failure_rate": rate(failed, sent),
        "replies": replies,
        "reply_rate": rate(replies, sent),
        "bookings": bookings,
        "no_shows": no_shows,
        "no_show_rate": rate(no_shows, bookings),
        "no_show_rate_confirmed": confirmed_ns if bookings else None,
        "no_show_rate_unconfirmed": rate(no_shows * 2, bookings),
        "rebooked_60d": bookings // 2,
        "rebook_rate_60d": rate(bookings // 2, bookings),
        "feedback_count": bookings // 3,
        "feedback_avg_score": 4.6 if bookings else None,
        "feedback_negative_pct": 0.05 if bookings else None,
        "complaints": no_shows // 2,
        "first_response_median_s": 240 if bookings else None,
        "first_response_p90_s": 1500 if bookings else None,
        "opt_outs": sent // 150,
        "campaign_bookings": bookings // 5,
    }
    assert set(out) == {"key", "label", *FIELDS}
    return out


WEEKS = [
    row(f"2026-W{38 + i}", f"9/{14 + 7 * i}" if i < 3 else f"W{38 + i}", sent, bookings, ns)
    for i, (sent, bookings, ns) in enumerate(
        [(310, 96, 9), (342, 101, 8), (298, 92, 9), (365, 110, 7), (401, 118, 6), (388, 115, 6),
         (420, 121, 5), (452, 126, 5), (0, 0, 0), (473, 131, 4), (498, 137, 4), (515, 140, 3)]
    )
]  # fmt: skip
STORES = [
    row("sh-jingan", "静安店", 2461, 712, 35),
    row("hk-central", "中环店", 1401, 415, 21),
    row("sg-orchard", "Orchard", 800, 260, 20),
]
STYLISTS = [
    row("sh-lina", "Lina", 980, 290, 9),
    row("sh-wei", "小魏", 760, 231, 14),
    row("hk-ada", "Ada", 1101, 330, 12),
    row("sg-ken", "Ken", 640, 200, 8),
]
CHANNELS = [
    row("wechat", "wechat", 2702, 0, 0),
    row("sms", "sms", 1530, 0, 0),
    row("email", "email", 430, 0, 0),
]
TOTALS = row("total", "total", 4662, 1387, 76)


def answer(group_by: str, rows: list[dict]) -> dict:
    return {"chain_id": "demo-chain", "from": "2026-09-14", "to": "2026-12-06", "group_by": group_by, "store": None,
            "rows": rows, "totals": TOTALS}  # fmt: skip


FIXTURE = {"week": answer("week", WEEKS), "store": answer("store", STORES), "stylist": answer("stylist", STYLISTS),
           "channel": answer("channel", CHANNELS)}  # fmt: skip

# The page's fetch of a reports URL is answered from FIXTURE (and remembered); everything else goes to the API.
FAKE_REPORTS = """
(() => {
  const fixture = %s;
  const real = window.fetch.bind(window);
  window.__reports = [];
  window.fetch = (input, init) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (!/\\/v1\\/chains\\/[^/]+\\/reports$/.test(url.pathname)) return real(input, init);
    window.__reports.push(url.search);
    const csv = url.searchParams.get("format") === "csv";
    const body = csv ? "key,label,messages_sent\\n" : JSON.stringify(fixture[url.searchParams.get("group_by")]);
    const type = csv ? "text/csv" : "application/json";
    return Promise.resolve(new Response(body, { status: 200, headers: { "Content-Type": type } }));
  };
})();
"""


@pytest.fixture
def fixed_reports(driver):
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "deny"}
    )  # the CSV is fetched, not kept
    script = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": FAKE_REPORTS % json.dumps(FIXTURE, ensure_ascii=False)},
    )
    yield FIXTURE
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def values(driver, chart: str, series: str) -> list[str]:
    node = driver.find_element(By.CSS_SELECTOR, f'{tid(chart)} [data-series="{series}"]')
    return node.get_attribute("data-values").split(",")


def as_attr(value) -> str:
    return "" if value is None else format(value, "g")


def same(attr: str, value) -> bool:
    """Whether a drawn number (an attribute: JavaScript's String(value), "" for null) is the API's `value`."""
    return attr == "" if value is None else attr != "" and float(attr) == pytest.approx(value)


def bars(driver, chart: str) -> list[tuple[str, str, str]]:
    """(key, value, written value) of each bar, top to bottom."""
    return [
        (
            g.get_attribute("data-key"),
            g.get_attribute("data-value"),
            g.find_element(By.CSS_SELECTOR, ".bar-value").text,
        )
        for g in driver.find_elements(By.CSS_SELECTOR, f"{tid(chart)} g.bar")
    ]


def open_reports(driver, stack) -> None:
    sign_in_demo(driver, stack)
    click(driver, tid("tab-reports"))
    until(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, tid("tile-messages_sent")), what="the key figures"
    )


def test_the_reports_tab_draws_the_reports_numbers(driver, stack, shots, fixed_reports):
    driver.set_window_size(DESK[0], 1450)  # the whole tab in one picture
    open_reports(driver, stack)

    asked = driver.execute_script("return window.__reports")
    assert sorted(q.split("group_by=")[1].split("&")[0] for q in asked) == [
        "channel",
        "store",
        "stylist",
        "week",
    ]
    # Key figures: the period's totals, formatted.
    assert find(driver, tid("tile-messages_sent")).get_attribute("data-value") == "4662"
    assert "4,662" in find(driver, tid("tile-messages_sent")).text
    assert "94.0%" in find(driver, tid("tile-delivery_rate")).text  # 4382 / 4662
    assert "4.6" in find(driver, tid("tile-feedback_avg_score")).text
    assert "4 分钟" in find(driver, tid("tile-first_response_median_s")).text
    # Trend lines: one point per week, a gap in the rates of the week without bookings.
    for series in ("messages_sent", "messages_delivered", "messages_read"):
        assert values(driver, "chart-messages", series) == [as_attr(w[series]) for w in WEEKS]
    assert values(driver, "chart-no-shows", "no_show_rate") == [as_attr(w["no_show_rate"]) for w in WEEKS]
    assert values(driver, "chart-no-shows", "no_show_rate")[8] == ""
    assert (
        len(
            driver.find_elements(
                By.CSS_SELECTOR, f'{tid("chart-messages")} [data-series="messages_sent"] circle'
            )
        )
        == 12
    )
    # Bars, largest first, with the value written beside each.
    assert bars(driver, "chart-store") == [
        ("sh-jingan", "2461", "2,461"),
        ("hk-central", "1401", "1,401"),
        ("sg-orchard", "800", "800"),
    ]
    assert [b[0] for b in bars(driver, "chart-stylist")] == ["hk-ada", "sh-lina", "sh-wei", "sg-ken"]
    assert [b[0] for b in bars(driver, "chart-channel")] == ["wechat", "sms", "email"]
    assert "微信" in find(driver, tid("chart-channel")).text  # a channel by its name, not its key
    # Every chart has a title and its numbers as a table.
    for chart in ("chart-messages", "chart-no-shows", "chart-store", "chart-stylist", "chart-channel"):
        figure = find(driver, tid(chart))
        svg = figure.find_element(By.CSS_SELECTOR, "svg")
        assert svg.get_attribute("role") == "img"
        assert driver.find_element(By.ID, svg.get_attribute("aria-labelledby")).text
        assert figure.find_elements(By.CSS_SELECTOR, "details table tbody tr")
    shots("reports-desk")

    # Compare the stores by another figure: the bars re-sort, the numbers come from the same rows.
    driver.find_element(By.CSS_SELECTOR, f'{tid("rep-compare")} option[value="no_show_rate"]').click()
    until(driver, lambda d: bars(d, "chart-store")[0][0] == "sg-orchard", what="the bars by no-show rate")
    assert bars(driver, "chart-store")[0] == ("sg-orchard", "0.0769", "7.7%")

    # A table behind a chart opens with the exact numbers.
    find(driver, f"{tid('chart-store')} summary").click()
    assert "静安店" in find(driver, f"{tid('chart-store')} details table").text

    # The CSV link names the same report, fetched with the staff token.
    link = find(driver, tid("rep-csv-store"))
    assert "group_by=store" in link.get_attribute("href") and "format=csv" in link.get_attribute("href")
    link.click()
    until(
        driver,
        lambda d: any("format=csv" in q for q in d.execute_script("return window.__reports")),
        what="the CSV fetch",
    )

    driver.set_window_size(*PHONE)
    driver.execute_script("document.activeElement?.blur(); window.scrollTo(0, 0)")
    shots("reports-phone")


def test_the_reports_tab_shows_the_apis_own_figures(driver, stack):
    now = stack.now()
    frm, to = (now - timedelta(days=28)).date().isoformat(), (now + timedelta(days=28)).date().isoformat()
    path = f"/v1/chains/{stack.info['chain_id']}/reports?from={frm}&to={to}&group_by=week"
    status, answer = stack.staff("GET", path)
    assert status == 200, answer
    member = f"rep-{uuid.uuid4().hex[:6]}"
    status, body = stack.post_booking(
        booking_event(
            booking_id=f"bk-{member}",
            member_id=member,
            stylist="sh-lina",
            start=stack.local(SH_STORE, 2, 15),
            occurred_at=stack.now(),
            phone="+8613600136001",
        )
    )
    assert status == 202, body
    open_reports(driver, stack)
    driver.execute_script(
        "document.getElementById('rep-from').value = arguments[0];"
        "document.getElementById('rep-to').value = arguments[1];",
        frm,
        to,
    )
    click(driver, tid("rep-show"))

    status, report = stack.staff("GET", path)
    assert status == 200, report
    totals = report["totals"]
    assert totals["bookings"] >= 1, totals
    until(
        driver,
        lambda d: same(
            d.find_element(By.CSS_SELECTOR, tid("tile-bookings")).get_attribute("data-value"),
            totals["bookings"],
        ),
        what="the tiles of the chosen period",
    )
    for key in ("messages_sent", "delivery_rate", "no_show_rate", "complaints"):
        assert same(find(driver, tid(f"tile-{key}")).get_attribute("data-value"), totals[key]), key
    drawn = values(driver, "chart-messages", "messages_sent")
    assert len(drawn) == len(report["rows"])
    assert all(same(a, r["messages_sent"]) for a, r in zip(drawn, report["rows"], strict=True))
