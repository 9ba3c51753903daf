"""EventBridge Scheduler, played locally (moto stores schedules but never fires them).

- `ScheduleFirer` plays EventBridge Scheduler for one schedule group: one-time `at()` schedules whose
  time has come (by the injected clock) are delivered to their SQS target, retried per RetryPolicy,
  dead-lettered to `Target.DeadLetterConfig`, and deleted when `ActionAfterCompletion` is DELETE.
  Recurring `cron()`/`rate()` schedules (devstack/schedule_expressions.py) fire every occurrence once,
  in their time zone, from when the firer started watching (or their StartDate); the target input's
  context attributes (`<aws.scheduler.scheduled-time>` ...) are filled in as the service does.
- `build_firer` / `build_firers`: the firer of one schedule group / of every group of a stage.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import resources as r
from chalicelib.clock import Clock
from devstack.schedule_expressions import at_time, is_recurring, next_occurrence

log = logging.getLogger(__name__)

# EventBridge Scheduler's RetryPolicy when a schedule sets none.
DEFAULT_MAX_RETRY_ATTEMPTS = 185
# A clock moved far forward would owe a recurring schedule many occurrences at once: only the latest ones are
# fired (a year of a daily schedule would flood the queues); the older ones are logged as missed.
MAX_CATCH_UP = 31


def next_fire_time(expression: str, timezone: str | None = None) -> datetime | None:
    """When a one-time `at(yyyy-mm-ddThh:mm:ss)` expression is due, as an aware UTC datetime; None if it is
    not one (recurring schedules are evaluated with `schedule_expressions.next_occurrence`).

    The wall time is read in `timezone` (an IANA name such as "Asia/Shanghai"; UTC when empty), as
    EventBridge Scheduler reads it with `ScheduleExpressionTimezone`.
    Raises ValueError for a malformed date and KeyError (ZoneInfoNotFoundError) for an unknown zone.
    """
    return at_time(expression, timezone)


def _aws_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_context_attributes(text: str, *, scheduled_time: datetime, schedule_arn: str, attempt: int) -> str:
    """The target input as EventBridge Scheduler delivers it: its context keywords replaced."""
    for keyword, value in (
        ("scheduled-time", _aws_time(scheduled_time)),
        ("schedule-arn", schedule_arn),
        ("execution-id", uuid.uuid4().hex[:16]),
        ("attempt-number", str(attempt)),
    ):
        text = text.replace(f"<aws.scheduler.{keyword}>", value)
    return text


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def _sqs_arn_parts(arn: str) -> tuple[str, str]:
    """(account, queue name) of `arn:aws:sqs:region:account:name`."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return parts[4], parts[5]


@dataclass
class _Tracked:
    """What the firer remembers about one schedule version (CreationDate, LastModificationDate)."""

    version: tuple[Any, Any]
    due: datetime | None  # one-time: when; recurring: the next occurrence; None: nothing (more) to fire
    recurring: bool = False
    failures: int = 0  # failed deliveries of the due occurrence so far
    completed: bool = False  # delivered or dead-lettered: never fires again
    delete_pending: bool = False  # ActionAfterCompletion DELETE not yet done
    last_fired: datetime | None = None  # recurring: the last occurrence handled (kept across updates)


def _when(value: Any) -> datetime | None:
    """StartDate/EndDate as boto3 gives them (datetime) or as moto stores them (epoch seconds)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromtimestamp(float(value), UTC)


class ScheduleFirer:
    """Fires the due schedules of one schedule group into their SQS targets."""

    def __init__(
        self, scheduler_client: Any, sqs_client: Any, group_name: str, clock: Clock, relist_seconds: float = 0
    ) -> None:
        self.scheduler = scheduler_client
        self.sqs = sqs_client
        self.group_name = group_name
        self.clock = clock
        # Recurring schedules fire the occurrences after this (or after their StartDate): what was due before
        # the firer watched is not owed.
        self.watching_since = clock.now()
        # Listing thousands of schedules takes seconds on moto: between lists (at most every relist_seconds
        # of wall time, and at once when the domain clock jumps), fire from what the last list showed.
        self.relist_seconds = relist_seconds
        self._listed_at: tuple[datetime, float] | None = None  # (domain, monotonic wall) of the last list
        self._summaries: dict[str, dict[str, Any]] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._queue_urls: dict[str, str] = {}

    def tick(self) -> int:
        """Fire every schedule that is due; return how many were delivered to their target."""
        now, wall = self.clock.now(), time.monotonic()
        relist = self._relist_due(now, wall)
        if relist:
            self._summaries = {s["Name"]: s for s in self._list()}
            self._listed_at = (now, wall)
            summaries = list(self._summaries.values())
        else:
            summaries = [
                self._summaries[name]
                for name, t in self._tracked.items()
                if name in self._summaries
                and (t.delete_pending or (not t.completed and t.due and t.due <= now))
            ]
        fired = 0
        for summary in summaries:
            try:
                fired += self._consider(summary, now)
            except (ClientError, BotoCoreError):
                log.exception("schedule %s/%s: not handled this tick", self.group_name, summary.get("Name"))
        if relist:  # forget schedules that are gone, so the memory does not grow without end
            for name in [n for n in self._tracked if n not in self._summaries]:
                del self._tracked[name]
        return fired

    def _relist_due(self, now: datetime, wall: float) -> bool:
        if self._listed_at is None or self.relist_seconds <= 0:
            return True
        listed_now, listed_wall = self._listed_at
        jumped = (now - listed_now).total_seconds() > (wall - listed_wall) + 1
        return jumped or wall - listed_wall >= self.relist_seconds

    def _list(self) -> list[dict[str, Any]]:
        # Collect every page first: firing deletes schedules, which could shift later pages.
        paginator = self.scheduler.get_paginator("list_schedules")
        return [
            s for page in paginator.paginate(GroupName=self.group_name) for s in page.get("Schedules", [])
        ]

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.scheduler.get_schedule(Name=name, GroupName=self.group_name)
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def _due(self, detail: dict[str, Any], last_fired: datetime | None = None) -> datetime | None:
        """A one-time schedule's time, or a recurring one's next occurrence after `last_fired`."""
        expression = detail.get("ScheduleExpression", "")
        timezone = detail.get("ScheduleExpressionTimezone") or "UTC"
        try:
            if is_recurring(expression):
                # A rate counts from its StartDate, else from when the firer started watching (CreationDate is
                # wall-clock time, which the domain clock of tests and the local stack does not follow).
                start = _when(detail.get("StartDate"))
                if start is None and expression.lstrip().startswith("rate"):
                    start = self.watching_since
                return next_occurrence(
                    expression,
                    timezone,
                    last_fired or self.watching_since,
                    start=start,
                    end=_when(detail.get("EndDate")),
                )
            due = next_fire_time(expression, timezone)
        except (ValueError, KeyError) as exc:
            log.warning(
                "schedule %s: cannot use %r in %s (%s); ignored",
                detail.get("Name"),
                expression,
                timezone,
                exc,
            )
            return None
        if due is None:
            log.warning(
                "schedule %s: %r is not a schedule expression; ignored", detail.get("Name"), expression
            )
        return due

    def _consider(self, summary: dict[str, Any], now: datetime) -> int:
        name = summary["Name"]
        version = (summary.get("CreationDate"), summary.get("LastModificationDate"))
        tracked = self._tracked.get(name)
        if tracked is None or tracked.version != version:
            # ListSchedules gives summaries only: read the expression once per version of the schedule.
            detail = self._get(name)
            if detail is None:
                return 0
            last_fired = tracked.last_fired if tracked else None  # an update does not re-fire what was fired
            tracked = _Tracked(
                version=version,
                due=self._due(detail, last_fired),
                recurring=is_recurring(detail.get("ScheduleExpression", "")),
                last_fired=last_fired,
            )
            self._tracked[name] = tracked
        if tracked.delete_pending:
            self._delete(name, tracked)
            return 0
        if tracked.completed or tracked.due is None or tracked.due > now:
            return 0
        if summary.get("State") == "DISABLED":
            return 0
        # Read it again right before firing: it may have been deleted, disabled or moved since listed.
        detail = self._get(name)
        if detail is None:
            self._tracked.pop(name, None)
            return 0
        if detail.get("State") == "DISABLED":
            return 0
        if not tracked.recurring:
            due = self._due(detail)
            if due is None or due > now:
                return 0
            return self._fire(name, tracked, detail, due)
        return self._fire_recurring(name, tracked, detail, now)

    def _fire_recurring(self, name: str, tracked: _Tracked, detail: dict[str, Any], now: datetime) -> int:
        """Every occurrence up to `now`, oldest first, each once; a failed one is retried on later ticks."""
        owed: list[datetime] = []
        due = tracked.due
        while due is not None and due <= now:
            owed.append(due)
            due = self._due(detail, due)
        if len(owed) > MAX_CATCH_UP:
            log.warning(
                "schedule %s: the clock jumped past %d occurrences; firing the last %d",
                name,
                len(owed),
                MAX_CATCH_UP,
            )
            tracked.last_fired, owed = owed[-MAX_CATCH_UP - 1], owed[-MAX_CATCH_UP:]
        fired = 0
        for occurrence in owed:
            tracked.due = occurrence
            delivered = self._fire(name, tracked, detail, occurrence)
            if not tracked.completed:  # a failure to retry later: stop at this occurrence
                return fired + delivered
            fired += delivered
            tracked.completed, tracked.failures, tracked.last_fired = False, 0, occurrence
        tracked.due = self._due(detail, tracked.last_fired)
        if tracked.due is None:  # past its EndDate: done
            self._complete(name, tracked, detail)
        return fired

    def _fire(self, name: str, tracked: _Tracked, detail: dict[str, Any], scheduled: datetime) -> int:
        target = detail.get("Target", {})
        body = with_context_attributes(
            target.get("Input", "{}"),
            scheduled_time=scheduled,
            schedule_arn=detail.get("Arn", ""),
            attempt=tracked.failures + 1,
        )
        try:
            self._send(target.get("Arn", ""), body, target.get("SqsParameters"))
        except (ClientError, BotoCoreError, ValueError) as exc:
            tracked.failures += 1
            max_retries = int(
                target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)
            )
            if tracked.failures <= max_retries:
                log.warning(
                    "schedule %s: delivery failed (%s), retry %d of %d on a later tick",
                    name,
                    _error_code(exc),
                    tracked.failures,
                    max_retries,
                )
                return 0
            self._dead_letter(detail, exc, retries=tracked.failures - 1, body=body)
            self._complete(name, tracked, detail)
            return 0
        log.info("schedule %s/%s fired into %s", self.group_name, name, target.get("Arn"))
        self._complete(name, tracked, detail)
        return 1

    def _queue_url(self, arn: str) -> str:
        url = self._queue_urls.get(arn)
        if url is None:
            account, queue_name = _sqs_arn_parts(arn)
            url = self.sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[arn] = url
        return url

    def _send(
        self,
        arn: str,
        body: str,
        sqs_parameters: dict[str, Any] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        params: dict[str, Any] = {"QueueUrl": self._queue_url(arn), "MessageBody": body}
        if sqs_parameters and sqs_parameters.get("MessageGroupId"):
            params["MessageGroupId"] = sqs_parameters["MessageGroupId"]
        if attributes:
            params["MessageAttributes"] = attributes
        self.sqs.send_message(**params)

    def _dead_letter(self, detail: dict[str, Any], exc: BaseException, *, retries: int, body: str) -> None:
        target = detail.get("Target", {})
        dlq_arn = target.get("DeadLetterConfig", {}).get("Arn")
        name = detail.get("Name")
        if not dlq_arn:
            log.error(
                "schedule %s: retries exhausted (%s) and no dead-letter queue: dropped",
                name,
                _error_code(exc),
            )
            return

        def text(value: Any) -> dict[str, str]:
            return {"DataType": "String", "StringValue": str(value)[:1024] or "-"}

        # The attribute names EventBridge Scheduler puts on its dead-letter messages.
        attributes = {
            "ERROR_CODE": text(_error_code(exc)),
            "ERROR_MESSAGE": text(exc),
            "EXHAUSTED_RETRY_CONDITION": text("MaximumRetryAttempts"),
            "RETRY_ATTEMPTS": text(retries),
            "SCHEDULE_ARN": text(detail.get("Arn", "")),
            "TARGET_ARN": text(target.get("Arn", "")),
        }
        try:
            self._send(dlq_arn, body, attributes=attributes)
            log.warning("schedule %s: retries exhausted (%s), sent to %s", name, _error_code(exc), dlq_arn)
        except (ClientError, BotoCoreError, ValueError):
            log.exception(
                "schedule %s: could not deliver to its dead-letter queue %s: dropped", name, dlq_arn
            )

    def _complete(self, name: str, tracked: _Tracked, detail: dict[str, Any]) -> None:
        tracked.completed = True
        if tracked.recurring and tracked.due is not None:
            return  # one occurrence is done, not the schedule
        if detail.get("ActionAfterCompletion") == "DELETE":
            tracked.delete_pending = True
            self._delete(name, tracked)

    def _delete(self, name: str, tracked: _Tracked) -> None:
        try:
            self.scheduler.delete_schedule(Name=name, GroupName=self.group_name)
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                log.warning("schedule %s: delete failed (%s), retrying next tick", name, _error_code(exc))
                return
        tracked.delete_pending = False


def build_firer(
    session: boto3.session.Session,
    stage: str,
    endpoint_url: str | None,
    region: str,
    clock: Clock,
    group: str | None = None,
    relist_seconds: float = 0,
) -> ScheduleFirer:
    """The firer of one schedule group of the stage (default: `resources.schedule_group_name`)."""
    return ScheduleFirer(
        session.client("scheduler", endpoint_url=endpoint_url, region_name=region),
        session.client("sqs", endpoint_url=endpoint_url, region_name=region),
        group or r.schedule_group_name(stage),
        clock,
        relist_seconds,
    )


def build_firers(
    session: boto3.session.Session,
    stage: str,
    endpoint_url: str | None,
    region: str,
    clock: Clock,
    relist_seconds: float = 0,
) -> list[ScheduleFirer]:
    """A firer for each schedule group of the stage: the journeys' one-time steps and the stores' care ticks."""
    return [
        build_firer(session, stage, endpoint_url, region, clock, group, relist_seconds)
        for group in (r.schedule_group_name(stage), r.care_schedule_group_name(stage))
    ]
