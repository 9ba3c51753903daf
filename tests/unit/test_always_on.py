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
    assert (
        holiday_on(default["spring_festival"], 2031) is None
    )  # no date kept: no greeting, never a wrong day
    assert default["christmas"].get("days_ahead", 0) == 0
    demo = holidays("demo-chain")
    assert "qixi" in default and "qixi" not in demo  # disabled
    assert demo["christmas"]["days_ahead"] == 2  # replaced
    for holiday in default.values():
        assert set(holiday["name"]) == {"zh-CN", "en"}


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
