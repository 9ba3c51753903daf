"""The booking webhook's contract as pydantic models: the reference the hand reader (contracts/booking_event.py)
is held to by tests/unit/test_booking_event_reading.py. These were the contract itself until the webhook's cold
start dropped pydantic (issue 13 §8); kept as they were but for the single fields' rules (plain functions both
use), so a difference in how the two read a body shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from chalicelib.contracts.booking_event import (
    EventType,
    aware,
    optional_birthday,
    optional_email,
    optional_phone,
    price_amount,
)
from chalicelib.ids import ID_CHARS, MAX_ID
from chalicelib.text_safety import clean_name, clean_text

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=rf"^[{ID_CHARS}]+$")]
# Names and free texts lose bidi and other control characters (text_safety.py); ids have a safe alphabet.
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_name)]
Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(clean_text)]


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

    # The single fields' rules are shared (plain functions); what this reference checks is pydantic's reading.
    _phone = field_validator("phone")(classmethod(lambda cls, v: optional_phone(v)))
    _email = field_validator("email")(classmethod(lambda cls, v: optional_email(v)))
    _birthday = field_validator("birthday")(classmethod(lambda cls, v: optional_birthday(v)))


class Price(_Strict):
    amount: str
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

    _amount = field_validator("amount", mode="before")(classmethod(lambda cls, v: price_amount(v)))


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

    _start_aware = field_validator("start")(classmethod(lambda cls, v: aware(v)))


class BookingEvent(_Strict):
    event_id: Id
    type: EventType
    occurred_at: datetime
    booking: Booking

    _occurred_aware = field_validator("occurred_at")(classmethod(lambda cls, v: aware(v)))
