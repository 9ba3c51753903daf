"""The booking webhook's body, validated. Every error names the field at fault."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from chalicelib.contracts.phone import e164_number
from chalicelib.contracts.validation import parse
from chalicelib.ids import ID_CHARS, MAX_ID
from chalicelib.text_safety import clean_name, clean_text

EVENT_TYPES = (
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.checked_in",
    "booking.completed",
    "booking.no_show",
)
EventType = Literal[
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.checked_in",
    "booking.completed",
    "booking.no_show",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=rf"^[{ID_CHARS}]+$")]
# Names and free texts lose bidi and other control characters (text_safety.py); ids have a safe alphabet.
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_name)]
Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(clean_text)]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Service(_Strict):
    code: Id
    name: Name
    category: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class Stylist(_Strict):
    id: Id
    name: Name = ""


class Member(_Strict):
    id: Id
    name: Name = ""
    phone: str | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None
    birthday: str | None = None
    wechat_openid: Annotated[str, StringConstraints(max_length=128)] | None = None
    marketing_consent: bool | None = None

    @field_validator("phone")
    @classmethod
    def _phone_e164(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        return e164_number(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @field_validator("birthday")
    @classmethod
    def _birthday(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError as exc:
            raise ValueError("must be a date YYYY-MM-DD") from exc
        return value


class Price(_Strict):
    amount: str
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError('must be a decimal string like "388.00"')
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError('must be a decimal string like "388.00"') from exc
        if not amount.is_finite() or amount < 0 or amount > Decimal("10000000"):
            raise ValueError("must be a non-negative amount")
        return str(amount)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-25T15:00:00+08:00")
    if not 2000 <= value.year <= 2100:
        raise ValueError("is out of range")
    return value


class Booking(_Strict):
    id: Id
    store_id: Id
    start: datetime
    duration_minutes: int = Field(ge=5, le=24 * 60)
    # Time after the service that the stylist's calendar also holds (cleaning, a gel's setting): not part of her
    # appointment, so texts and the journey's "end" use `duration_minutes` alone. Optional; 0 when not sent.
    buffer_minutes: int = Field(default=0, ge=0, le=4 * 60)
    service: Service
    stylist: Stylist
    member: Member
    price: Price | None = None
    notes: Text | None = ""
    # A member-care coupon presented with this booking (chalicelib/care/coupons.py): never a reason to refuse it.
    coupon_code: (
        Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")] | None
    ) = None

    _start_aware = field_validator("start")(classmethod(lambda cls, v: _aware(v)))


class BookingEvent(_Strict):
    event_id: Id
    type: EventType
    occurred_at: datetime
    booking: Booking

    _occurred_aware = field_validator("occurred_at")(classmethod(lambda cls, v: _aware(v)))


def parse_booking_event(payload: object) -> BookingEvent:
    """Validate a decoded JSON body; raise ValidationFailed naming every field at fault."""
    return parse(
        BookingEvent,
        payload,
        "the booking event is not valid",
        {("literal_error", ("type",)): "must be one of " + ", ".join(EVENT_TYPES)},
    )
