"""The catalogue's bodies (issue 14): a store, one service, one stylist. Every error names the field at fault.

    PUT /v1/chains/{chain}/stores/{store}    StoreBody
    PUT /v1/stores/{store}/services/{code}   ServiceBody
    PUT /v1/stores/{store}/stylists/{stylist} StylistBody

`python -m ops.catalog import` validates its rows with the same models. A PUT sets the whole resource: a field
left out takes its default (shown below), it does not keep what was stored. Hours are store-local "HH:MM" pairs
[from, to) on a 5-minute grid, per weekday key mon..sun; a day left out is closed. What the models do not check
-- that a stylist's services are codes the store has -- the catalogue service checks against the stored store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from chalicelib.catalog.store_catalog import WEEKDAYS
from chalicelib.errors import ValidationFailed
from chalicelib.ids import ID_CHARS, MAX_ID
from chalicelib.text_safety import clean_name, clean_text

MAX_INTERVALS_PER_DAY = 6
MAX_DATES = 366
MAX_STYLIST_SERVICES = 100
MAX_LEAD_MINUTES = 14 * 24 * 60  # two weeks
MAX_SERVICE_MINUTES = 12 * 60
MAX_BUFFER_MINUTES = 120
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_AMOUNT = re.compile(r"^\d{1,8}(\.\d{1,2})?$")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=rf"^[{ID_CHARS}]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(clean_name)]
Line = Annotated[
    str, StringConstraints(max_length=300), AfterValidator(lambda v: clean_text(v, multiline=False))
]
Category = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


def _minutes(multiple_of: int = 5):
    def check(value: int) -> int:
        if value % multiple_of:
            raise ValueError(f"must be a multiple of {multiple_of} minutes")
        return value

    return AfterValidator(check)


def _hhmm(value: Any) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError('must be a 24-hour time "HH:MM", e.g. "10:00"')
    if int(value[3:]) % 5:
        raise ValueError("must be on a 5-minute grid (e.g. 10:05, not 10:03)")
    return value


Time = Annotated[str, BeforeValidator(_hhmm)]
Interval = Annotated[tuple[Time, Time], AfterValidator(lambda pair: _from_before_to(pair))]


def _from_before_to(pair: tuple[str, str]) -> tuple[str, str]:
    if pair[0] >= pair[1]:
        raise ValueError(f"{pair[0]} must be before {pair[1]}")
    return pair


def _no_overlap(intervals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    ordered = sorted(intervals)
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        if start < end:
            raise ValueError(f"the intervals overlap ({start} is before {end})")
    return ordered


DayHours = Annotated[list[Interval], Field(max_length=MAX_INTERVALS_PER_DAY), AfterValidator(_no_overlap)]
Week = dict[Weekday, DayHours]


def _in_range(value: date) -> date:
    if not 2000 <= value.year <= 2100:
        raise ValueError(f"{value.isoformat()} is out of range")
    return value


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD (pydantic alone would take a number of seconds, or a datetime's date)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


Dates = Annotated[
    list[Annotated[date, BeforeValidator(_iso_date), AfterValidator(_in_range)]],
    Field(max_length=MAX_DATES),
    AfterValidator(lambda values: sorted(set(values))),
]


@cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StoreBody(_Body):
    name: Name
    timezone: str
    locale: Literal["zh-CN", "en"] = "zh-CN"
    address: Line = ""
    phone: str = ""
    booking_mode: Literal["chairside", "external"] = "external"
    opening_hours: Week = Field(default_factory=dict)
    closed_dates: Dates = Field(default_factory=list)
    lead_minutes: Annotated[int, Field(ge=0, le=MAX_LEAD_MINUTES), _minutes()] = 60
    cancel_until_minutes: Annotated[int, Field(ge=0, le=MAX_LEAD_MINUTES), _minutes()] = 120

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError("must be an IANA time zone, e.g. Asia/Shanghai")
        return value

    @field_validator("phone")
    @classmethod
    def _phone_e164(cls, value: str) -> str:
        if value and not _E164.match(value):
            raise ValueError("must be in international format, e.g. +862162880000")
        return value


class Price(_Body):
    amount: str
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> str:
        if not isinstance(value, str) or not _AMOUNT.match(value.strip()):
            raise ValueError('must be a decimal string like "198.00"')
        try:
            return f"{Decimal(value.strip()):.2f}"
        except InvalidOperation as exc:  # pragma: no cover - the pattern already guarantees a decimal
            raise ValueError('must be a decimal string like "198.00"') from exc


class ServiceNames(_Body):
    zh_cn: Name = Field(alias="zh-CN")
    en: Name

    def as_dict(self) -> dict[str, str]:
        return {"zh-CN": self.zh_cn, "en": self.en}


class ServiceBody(_Body):
    name: ServiceNames
    category: Category
    minutes: Annotated[int, Field(ge=5, le=MAX_SERVICE_MINUTES), _minutes()]
    buffer_minutes: Annotated[int, Field(ge=0, le=MAX_BUFFER_MINUTES), _minutes()] = 0
    price: Price | None = None
    active: bool = True


def _unique_codes(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value in seen:
            raise ValueError(f"{value} is listed twice")
        seen.append(value)
    return seen


class StylistBody(_Body):
    name: Name
    services: Annotated[list[Id], Field(max_length=MAX_STYLIST_SERVICES), AfterValidator(_unique_codes)]
    working_hours: Week | None = None  # None: the store's opening hours
    days_off: Dates = Field(default_factory=list)
    active: bool = True


def week_json(week: Mapping[Any, list[tuple[str, str]]] | None) -> dict[str, list[list[str]]] | None:
    """Hours as stored and answered: weekdays in order, each a list of [from, to]."""
    if week is None:
        return None
    return {day: [list(pair) for pair in week[day]] for day in WEEKDAYS if week.get(day)}


def bad_field(field: str, reason: str, message: str = "the request is not valid") -> ValidationFailed:
    return ValidationFailed(message, {field: reason})
