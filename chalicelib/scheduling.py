"""EventBridge Scheduler and SQS: where planned journey steps wait until they are due."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.contracts.step import StepMessage
from chalicelib.contracts.store_wake import StoreWake
from chalicelib.resources import SCHEDULE_RETRY


class StepScheduler:
    def __init__(
        self,
        scheduler_client: Any,
        sqs_client: Any,
        *,
        group: str,
        queue_arn: str,
        queue_url: str,
        role_arn: str,
        dlq_arn: str,
    ) -> None:
        self._scheduler = scheduler_client
        self._sqs = sqs_client
        self._group = group
        self._queue_arn = queue_arn
        self._queue_url = queue_url
        self._role_arn = role_arn
        self._dlq_arn = dlq_arn

    def schedule(self, step: StepMessage, timezone: str) -> None:
        """A one-time schedule at the step's due time, written in the store's zone. Idempotent."""
        local = datetime.fromisoformat(step.due_at).astimezone(ZoneInfo(timezone))
        try:
            self._scheduler.create_schedule(
                Name=step.schedule_name,
                GroupName=self._group,
                ScheduleExpression=f"at({local.strftime('%Y-%m-%dT%H:%M:%S')})",
                ScheduleExpressionTimezone=timezone,
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Description=f"{step.kind} for booking {step.booking_ref} v{step.version}",
                Target={
                    "Arn": self._queue_arn,
                    "RoleArn": self._role_arn,
                    "Input": step.to_json(),
                    "RetryPolicy": dict(SCHEDULE_RETRY),
                    "DeadLetterConfig": {"Arn": self._dlq_arn},
                },
            )
        except self._scheduler.exceptions.ConflictException:
            pass  # same deterministic name: a retry already created it

    def schedule_body(self, name: str, due: datetime, timezone: str, body: str, description: str) -> None:
        """A one-time schedule of any steps-queue body (issue 17: a hand-off's response alarm). Idempotent."""
        local = due.astimezone(ZoneInfo(timezone))
        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({local.strftime('%Y-%m-%dT%H:%M:%S')})",
                ScheduleExpressionTimezone=timezone,
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Description=description,
                Target={
                    "Arn": self._queue_arn,
                    "RoleArn": self._role_arn,
                    "Input": body,
                    "RetryPolicy": dict(SCHEDULE_RETRY),
                    "DeadLetterConfig": {"Arn": self._dlq_arn},
                },
            )
        except self._scheduler.exceptions.ConflictException:
            pass  # same deterministic name: a retry already created it

    def unschedule(self, name: str) -> bool:
        """Delete a schedule; False when there was none (already fired or removed). Idempotent."""
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except self._scheduler.exceptions.ResourceNotFoundException:
            return False  # already fired (ActionAfterCompletion DELETE) or already removed
        return True

    def send_now(self, steps: Iterable[StepMessage | StoreWake]) -> None:
        batch = [{"Id": str(i), "MessageBody": step.to_json()} for i, step in enumerate(steps)]
        for start in range(0, len(batch), 10):
            answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=batch[start : start + 10])
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused journey steps: {json.dumps(answer['Failed'])}")
