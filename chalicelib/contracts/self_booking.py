"""The bodies and query of the self-booking routes (members' and staff's), validated. Every error names the field
at fault; whether a time is open is the service's to say (services/self_booking.py)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from chalicelib.contracts.booking_event import aware
from chalicelib.contracts.fields import Id, Strict, Text

MAX_DAYS = 14
DEFAULT_DAYS = 7
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_text(value: Any) -> Any:
    """Only an ISO 8601 text is a time here (pydantic would also take a number as epoch seconds); a service
    calling another (chat, waitlist) may hand an aware datetime."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 time with a UTC offset, e.g. 2026-11-25T15:00:00+08:00")
    return value


class BookRequest(Strict):
    service: Id
    stylist_id: Id  # or "any"
    start: datetime
    notes: Text | None = None
    idempotency_key: IdempotencyKey
    member_id: Id | None = None  # staff only: whom they book for

    _start_text = field_validator("start", mode="before")(classmethod(lambda cls, v: _iso_text(v)))
    _start_aware = field_validator("start")(classmethod(lambda cls, v: aware(v)))


class RescheduleRequest(Strict):
    start: datetime
    stylist_id: Id | None = None

    _start_text = field_validator("start", mode="before")(classmethod(lambda cls, v: _iso_text(v)))
    _start_aware = field_validator("start")(classmethod(lambda cls, v: aware(v)))


class CancelRequest(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class AvailabilityQuery(Strict):
    service: Id
    stylist: Id = "any"
    first_day: date | None = Field(default=None, alias="from")
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS)

    _day_text = field_validator("first_day", mode="before")(classmethod(lambda cls, v: _date_text(v)))


def _date_text(value: Any) -> Any:
    """Only `YYYY-MM-DD` is a day here (pydantic would also take a number or another date form)."""
    if value is not None and not (isinstance(value, str) and _DAY.match(value)):
        raise ValueError("must be a date YYYY-MM-DD")
    return value
