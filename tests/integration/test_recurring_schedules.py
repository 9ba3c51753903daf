"""The local scheduler fires recurring cron() schedules in their time zone, each occurrence once."""

from __future__ import annotations

import json
from datetime import datetime

from chalicelib import resources as r
from chalicelib.clock import FixedClock
from devstack.scheduler import build_firer
from tests.conftest import REGION
from tests.integration.test_plumbing import create_at_schedule, drain


def _firer(aws, env, start: str):
    clock = FixedClock(datetime.fromisoformat(start))
    return clock, build_firer(aws, env[r.ENV_STAGE], None, REGION, clock)


def _fired(aws, env) -> list[dict]:
    return [json.loads(m["Body"]) for m in drain(aws.client("sqs"), env[r.ENV_STEPS_QUEUE_URL])]


def test_a_daily_london_schedule_fires_at_ten_local_each_day_once(aws, provisioned):
    env = provisioned
    body = '{"store": "ldn", "at": "<aws.scheduler.scheduled-time>", "attempt": "<aws.scheduler.attempt-number>"}'
    create_at_schedule(
        aws,
        env,
        "care-ldn",
        expression="cron(0 10 * * ? *)",
        timezone="Europe/London",
        body=body,
        action="NONE",
    )
    clock, firer = _firer(aws, env, "2026-10-24T08:00:00+00:00")  # 09:00 BST

    assert firer.tick() == 0
    clock.set(datetime.fromisoformat("2026-10-24T09:00:30+00:00"))  # 10:00:30 BST
    assert firer.tick() == 1 and firer.tick() == 0  # a second tick (or poll) never fires it again
    assert _fired(aws, env) == [{"store": "ldn", "at": "2026-10-24T09:00:00Z", "attempt": "1"}]

    # The clocks go back on the 25th: 10:00 London is now 10:00 UTC, not 09:00.
    clock.set(datetime.fromisoformat("2026-10-25T09:30:00+00:00"))
    assert firer.tick() == 0
    clock.set(datetime.fromisoformat("2026-10-27T12:00:00+00:00"))  # a jump: the 25th, 26th and 27th are owed
    assert firer.tick() == 3
    assert [m["at"] for m in _fired(aws, env)] == [
        "2026-10-25T10:00:00Z",
        "2026-10-26T10:00:00Z",
        "2026-10-27T10:00:00Z",
    ]
    assert aws.client("scheduler").get_schedule(Name="care-ldn", GroupName=env[r.ENV_SCHEDULE_GROUP])


def test_an_updated_schedule_does_not_fire_again_what_it_fired(aws, provisioned):
    env = provisioned
    create_at_schedule(
        aws,
        env,
        "care-sh",
        expression="cron(0 10 * * ? *)",
        timezone="Asia/Shanghai",
        body='{"at": "<aws.scheduler.scheduled-time>"}',
        action="NONE",
    )
    clock, firer = _firer(aws, env, "2026-11-22T09:00:00+08:00")
    clock.set(datetime.fromisoformat("2026-11-22T10:05:00+08:00"))
    assert firer.tick() == 1
    client = aws.client("scheduler")
    current = client.get_schedule(Name="care-sh", GroupName=env[r.ENV_SCHEDULE_GROUP])
    client.update_schedule(
        Name="care-sh",
        GroupName=env[r.ENV_SCHEDULE_GROUP],
        ScheduleExpression="cron(0 11 * * ? *)",
        ScheduleExpressionTimezone="Asia/Shanghai",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=current["Target"],
    )
    assert firer.tick() == 0
    clock.set(datetime.fromisoformat("2026-11-23T11:00:00+08:00"))
    assert firer.tick() == 2  # 11:00 on the 22nd (after the update) and on the 23rd; 10:00 not again
    assert [m["at"] for m in _fired(aws, env)] == [
        "2026-11-22T02:00:00Z",
        "2026-11-22T03:00:00Z",
        "2026-11-23T03:00:00Z",
    ]


def test_a_disabled_or_unsupported_recurring_schedule_does_not_fire(aws, provisioned):
    env = provisioned
    create_at_schedule(aws, env, "off", expression="cron(0 10 * * ? *)", state="DISABLED", action="NONE")
    create_at_schedule(aws, env, "nth", expression="cron(0 10 ? * 2#1 *)", action="NONE")
    clock, firer = _firer(aws, env, "2026-11-22T00:00:00+08:00")
    clock.set(datetime.fromisoformat("2026-12-31T00:00:00+08:00"))
    assert firer.tick() == 0
    assert _fired(aws, env) == []
