"""Always-on care as data: the holiday calendar per chain, dormancy thresholds, the tick message, the schedule."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.care.always_on import (
    CareTickMessage,
    dormant_after_days,
    holiday_on,
    holidays,
    settings,
)
from chalicelib.care.schedules import CareSchedules, schedule_name
from chalicelib.dal.models import MemberItem
from chalicelib.errors import ValidationFailed
from devstack.schedule_expressions import parse_cron


def test_the_calendar_has_lunar_and_fixed_holidays_and_a_chain_may_change_it():
    default = holidays("another-chain")
    assert holiday_on(default["spring_festival"], 2027) == date(2027, 2, 6)
    assert holiday_on(default["mid_autumn"], 2026) == date(2026, 9, 25)
    assert holiday_on(default["christmas"], 2026) == date(2026, 12, 25)
    assert holiday_on(default["spring_festival"], 2031) == date(2031, 1, 23)  # computed, not typed
    assert default["christmas"].get("days_ahead", 0) == 0
    demo = holidays("demo-chain")
    assert "qixi" in default and "qixi" not in demo  # disabled
    assert demo["christmas"]["days_ahead"] == 2  # replaced
    for holiday in default.values():
        assert set(holiday["name"]) == {"zh-CN", "en"}


# The published dates (Hong Kong Observatory / Purple Mountain Observatory tables), typed here as the oracle.
SPRING_FESTIVAL = """2026-02-17 2027-02-06 2028-01-26 2029-02-13 2030-02-03 2031-01-23 2032-02-11 2033-01-31
    2034-02-19 2035-02-08 2036-01-28 2037-02-15 2038-02-04 2039-01-24 2040-02-12"""
QIXI = """2026-08-19 2027-08-08 2028-08-26 2029-08-16 2030-08-05 2031-08-24 2032-08-12 2033-08-01 2034-08-20
    2035-08-10 2036-08-28 2037-08-17 2038-08-07 2039-08-26 2040-08-14"""
MID_AUTUMN = """2026-09-25 2027-09-15 2028-10-03 2029-09-22 2030-09-12 2031-10-01 2032-09-19 2033-09-08
    2034-09-27 2035-09-16 2036-10-04 2037-09-24 2038-09-13 2039-10-02 2040-09-20"""


@pytest.mark.parametrize(
    ("key", "table"), [("spring_festival", SPRING_FESTIVAL), ("qixi", QIXI), ("mid_autumn", MID_AUTUMN)]
)
def test_lunar_holidays_are_right_every_year_2026_to_2040(key, table):
    expected = [date.fromisoformat(day) for day in table.split()]
    holiday = holidays("another-chain")[key]

    assert [holiday_on(holiday, year) for year in range(2026, 2041)] == expected


def test_a_lunar_day_late_in_the_lunar_year_is_found_in_the_gregorian_year_it_falls_in():
    from chalicelib.care.holiday_dates import lunar_on

    assert lunar_on(12, 8, 2027) == date(2027, 1, 15)  # 腊八 of lunar 2026 falls in January 2027
    assert lunar_on(1, 1, 2100) is None  # outside the convertible range: no greeting, never a wrong day


def test_public_holidays_come_from_the_library_and_only_for_stores_in_that_country():
    from chalicelib.care.holiday_dates import applies_to, country_of

    thanksgiving = holidays("another-chain")["thanksgiving"]
    assert [holiday_on(thanksgiving, year) for year in (2026, 2027, 2030)] == [
        date(2026, 11, 26),
        date(2027, 11, 25),
        date(2030, 11, 28),
    ]
    assert thanksgiving["coupon"]["valid_days"] == 14
    assert country_of("America/New_York") == "US" and country_of("Asia/Shanghai") == "CN"
    assert applies_to(thanksgiving, "en", "America/New_York")
    assert not applies_to(thanksgiving, "en", "Europe/London")
    assert not applies_to(thanksgiving, "zh-CN", "Asia/Shanghai")
    national_day = {"name": {}, "public": {"country": "CN", "holiday": "National Day"}}
    assert holiday_on(national_day, 2031) == date(2031, 10, 1)  # shared with 中秋 that year: still found
    assert applies_to(holidays("another-chain")["qixi"], "zh-CN", "Asia/Shanghai")
    assert not applies_to(holidays("another-chain")["qixi"], "en", "Europe/London")


def _member(**attrs) -> MemberItem:
    return MemberItem(*MemberItem.key("c", "m"), chain_id="c", member_id="m", **attrs)


def test_dormant_after_ninety_days_or_her_own_interval_once_she_has_three_visits():
    rules = settings()["reactivation"]
    assert dormant_after_days(_member(), rules) == 90
    assert dormant_after_days(_member(visits=2, avg_interval_days=30), rules) == 90
    assert dormant_after_days(_member(visits=3, avg_interval_days=30), rules) == 30
    assert dormant_after_days(_member(visits=5, avg_interval_days=7), rules) == rules["min_days"]
    assert dormant_after_days(_member(visits=5, avg_interval_days=900), rules) == rules["max_days"]


def test_a_tick_message_is_read_strictly():
    tick = CareTickMessage.from_json(
        '{"type": "care_tick", "chain_id": "c", "store_id": "s", "scheduled_time": "2026-11-23T02:00:00Z"}'
    )
    assert tick.scheduled_at().isoformat() == "2026-11-23T02:00:00+00:00"
    for body in (
        "{",
        "[]",
        '{"type": "care"}',
        '{"type": "care_tick", "chain_id": "c", "store_id": "s"}',
        '{"type": "care_tick", "chain_id": "c", "store_id": "s", "scheduled_time": "tomorrow"}',
        '{"type": "care_tick", "chain_id": "c", "store_id": "s", "scheduled_time": "2026-11-23T02:00:00"}',
    ):
        with pytest.raises(ValidationFailed):
            CareTickMessage.from_json(body)


def test_each_store_has_one_schedule_in_its_own_zone_that_names_the_store():
    schedules = CareSchedules(
        None,
        group="chairside-test-care",
        queue_arn="arn:aws:sqs:r:1:q",
        role_arn="arn:aws:iam::1:role/s",
        dlq_arn="arn:aws:sqs:r:1:dlq",
    )
    definition = schedules.definition("demo-chain", "ldn-soho", "Europe/London")
    assert definition["Name"] == "care-ldn-soho" and definition["GroupName"] == "chairside-test-care"
    assert definition["ScheduleExpressionTimezone"] == "Europe/London"
    cron = parse_cron(definition["ScheduleExpression"])  # the local scheduler can fire what is configured
    assert cron.hours == {10} and cron.minutes == {0}
    assert json.loads(definition["Target"]["Input"]) == {
        "type": "care_tick",
        "chain_id": "demo-chain",
        "store_id": "ldn-soho",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    assert (
        schedule_name("store:with@odd") == schedule_name("store:with@odd") != schedule_name("store:with@odd2")
    )
    assert len(schedule_name("x" * 128)) <= 64


def test_the_we_miss_you_coupon_is_the_chains_own_else_the_default():
    from chalicelib.care.always_on import reactivation_offer

    assert reactivation_offer("demo-chain")["offer_en"] == "Welcome back: 15% off any treatment"
    assert reactivation_offer("another-chain") == settings()["reactivation"]["coupon"]
