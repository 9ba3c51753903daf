"""Each store's recurring care schedule (EventBridge Scheduler), defined once and created or updated idempotently.

One schedule per store, in the care schedule group (`resources.care_schedule_group_name`), named after the store,
firing `always_on.toml [schedule] cron` in the store's own time zone. Its target is the care-ticks queue; the
input names the store and lets Scheduler fill in the scheduled time, which the tick turns into the store's
local date. `ensure` runs wherever a store is provisioned (devstack/seed.py locally, `python -m
chalicelib.care.schedules` for a deployed stage), so the local stack and AWS run the same code.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from chalicelib.care.always_on import CareTickMessage, settings
from chalicelib.resources import SCHEDULE_RETRY

_NAME_SAFE = re.compile(r"^[0-9A-Za-z_.-]{1,55}$")


def schedule_name(store_id: str) -> str:
    """`care-<store>` (Scheduler names are [0-9a-zA-Z-_.]{1,64}); other store ids get a stable hash."""
    if _NAME_SAFE.match(store_id):
        return f"care-{store_id}"
    return "care-" + hashlib.sha256(store_id.encode()).hexdigest()[:40]


class CareSchedules:
    def __init__(
        self, scheduler_client: Any, *, group: str, queue_arn: str, role_arn: str, dlq_arn: str
    ) -> None:
        self._scheduler = scheduler_client
        self._group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn
        self._dlq_arn = dlq_arn

    def definition(self, chain_id: str, store_id: str, timezone: str) -> dict[str, Any]:
        tick = CareTickMessage(
            chain_id=chain_id, store_id=store_id, scheduled_time="<aws.scheduler.scheduled-time>"
        )
        return {
            "Name": schedule_name(store_id),
            "GroupName": self._group,
            "ScheduleExpression": settings()["schedule"]["cron"],
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Description": f"always-on care for store {store_id}",
            "Target": {
                "Arn": self._queue_arn,
                "RoleArn": self._role_arn,
                "Input": tick.to_json(),
                "RetryPolicy": dict(SCHEDULE_RETRY),
                "DeadLetterConfig": {"Arn": self._dlq_arn},
            },
        }

    def ensure(self, chain_id: str, store_id: str, timezone: str) -> str:
        """Create the store's schedule, or bring it up to date (a moved store, a new hour). Returns its name."""
        wanted = self.definition(chain_id, store_id, timezone)
        try:
            self._scheduler.create_schedule(**wanted)
        except self._scheduler.exceptions.ConflictException:
            self._scheduler.update_schedule(**wanted)
        return wanted["Name"]

    def remove(self, store_id: str) -> bool:
        try:
            self._scheduler.delete_schedule(Name=schedule_name(store_id), GroupName=self._group)
        except self._scheduler.exceptions.ResourceNotFoundException:
            return False
        return True
