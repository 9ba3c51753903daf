"""The booking webhook's body, validated. Every error names the field at fault.

Read by hand (contracts/reading.py), not by pydantic: the booking webhook is the API's first request in most
containers, and pydantic's import and schema building were about a fifth of its cold start (issue 13 §8,
docs/PERFORMANCE.md). The rules are the ones the pydantic models of the other contracts apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from chalicelib.contracts.phone import e164_number
from chalicelib.contracts.reading import ID_PATTERN, NAME_MAX, TEXT_MAX, Reader
from chalicelib.errors import ValidationFailed
from chalicelib.ids import MAX_ID
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
CATEGORY_PATTERN = r"^[a-z0-9_]+$"
COUPON_PATTERN = r"^[A-Za-z0-9\-]+$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
EMAIL_MAX, LOCALE_MAX, OPENID_MAX = 254, 35, 128
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    category: str


@dataclass(frozen=True)
class Stylist:
    id: str
    name: str = ""


@dataclass(frozen=True)
class Member:
    id: str
    name: str = ""
    phone: str | None = None
    email: str | None = None
    locale: str | None = None
    birthday: str | None = None
    wechat_openid: str | None = None
    marketing_consent: bool | None = None


@dataclass(frozen=True)
class Price:
    amount: str
    currency: str


@dataclass(frozen=True)
class Booking:
    id: str
    store_id: str
    start: datetime
    duration_minutes: int
    service: Service
    stylist: Stylist
    member: Member
    # Time after the service that the stylist's calendar also holds (cleaning, a gel's setting): not part of her
    # appointment, so texts and the journey's "end" use `duration_minutes` alone. Optional; 0 when not sent.
    buffer_minutes: int = 0
    price: Price | None = None
    notes: str | None = ""
    # A member-care coupon presented with this booking (chalicelib/care/coupons.py): never a reason to refuse it.
    coupon_code: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The booking as JSON values, in the webhook's own shape (what a booking system is told)."""
        return asdict(self) | {"start": _iso(self.start)}


@dataclass(frozen=True)
class BookingEvent:
    event_id: str
    type: EventType
    occurred_at: datetime
    booking: Booking


# --- the rules of single fields, shared with the members file (contracts/member_import.py) -----------------
def optional_phone(value: str | None) -> str | None:
    """E.164, or None for no phone."""
    return None if value in (None, "") else e164_number(value)


def optional_email(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


def optional_birthday(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError as exc:
        raise ValueError("must be a date YYYY-MM-DD") from exc
    return value


def price_amount(value: object) -> str:
    """A price's amount as a decimal string ("388.00"); a JSON number is read as its decimal text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('must be a decimal string like "388.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError('must be a decimal string like "388.00"') from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("10000000"):
        raise ValueError("must be a non-negative amount")
    return str(amount)


def aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-25T15:00:00+08:00")
    if not 2000 <= value.year <= 2100:
        raise ValueError("is out of range")
    return value


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- reading ---------------------------------------------------------------------------------------------
def _id(r: Reader, data: Any, key: str, path: str) -> Any:
    return r.text(data, key, path, min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)


def _name(r: Reader, data: Any, key: str, path: str, *, required: bool = False) -> Any:
    return r.text(data, key, path, required=required, default="", max_length=NAME_MAX, then=clean_name)


def _optional(
    r: Reader, data: Any, key: str, path: str, max_length: int | None = None, then: Any = None
) -> Any:
    return r.text(data, key, path, required=False, nullable=True, max_length=max_length, then=then)


def _member(r: Reader, data: Any, path: str) -> Member:
    return Member(
        id=_id(r, data, "id", f"{path}.id"),
        name=_name(r, data, "name", f"{path}.name"),
        phone=_optional(r, data, "phone", f"{path}.phone", then=optional_phone),
        email=_optional(r, data, "email", f"{path}.email", EMAIL_MAX, optional_email),
        locale=_optional(r, data, "locale", f"{path}.locale", LOCALE_MAX),
        birthday=_optional(r, data, "birthday", f"{path}.birthday", then=optional_birthday),
        wechat_openid=_optional(r, data, "wechat_openid", f"{path}.wechat_openid", OPENID_MAX),
        marketing_consent=r.boolean(data, "marketing_consent", f"{path}.marketing_consent"),
    )


def _price(r: Reader, data: Any, path: str) -> Price | None:
    price = r.obj(data, "price", path, required=False)  # null: no price
    if price is None:
        return None
    return Price(
        amount=r.given(price, "amount", f"{path}.amount", price_amount),
        currency=r.text(price, "currency", f"{path}.currency", pattern=CURRENCY_PATTERN),
    )


def _service(r: Reader, data: Any, path: str) -> Service:
    return Service(
        code=_id(r, data, "code", f"{path}.code"),
        name=_name(r, data, "name", f"{path}.name", required=True),
        category=r.text(
            data, "category", f"{path}.category", min_length=1, max_length=64, pattern=CATEGORY_PATTERN
        ),
    )


def _stylist(r: Reader, data: Any, path: str) -> Stylist:
    return Stylist(id=_id(r, data, "id", f"{path}.id"), name=_name(r, data, "name", f"{path}.name"))


def _part[T](r: Reader, data: Any, key: str, path: str, read: Callable[[Reader, Any, str], T]) -> T | None:
    """A nested object read by `read`; None when it is missing or not an object (named in `r.errors`)."""
    part = r.obj(data, key, path)
    return None if part is None else read(r, part, path)


def _booking(r: Reader, data: Any, path: str) -> Booking:
    return Booking(
        id=_id(r, data, "id", f"{path}.id"),
        store_id=_id(r, data, "store_id", f"{path}.store_id"),
        start=r.moment(data, "start", f"{path}.start", then=aware),
        duration_minutes=r.integer(data, "duration_minutes", f"{path}.duration_minutes", ge=5, le=24 * 60),
        buffer_minutes=r.integer(
            data, "buffer_minutes", f"{path}.buffer_minutes", default=0, ge=0, le=4 * 60
        ),
        service=_part(r, data, "service", f"{path}.service", _service),  # type: ignore[arg-type]
        stylist=_part(r, data, "stylist", f"{path}.stylist", _stylist),  # type: ignore[arg-type]
        member=_part(r, data, "member", f"{path}.member", _member),  # type: ignore[arg-type]
        price=_price(r, data, f"{path}.price"),
        notes=r.text(
            data,
            "notes",
            f"{path}.notes",
            required=False,
            default="",
            nullable=True,
            max_length=TEXT_MAX,
            then=clean_text,
        ),
        coupon_code=r.text(
            data,
            "coupon_code",
            f"{path}.coupon_code",
            required=False,
            nullable=True,
            min_length=1,
            max_length=32,
            pattern=COUPON_PATTERN,
        ),
    )


def parse_booking_event(payload: object, message: str = "the booking event is not valid") -> BookingEvent:
    """Validate a decoded JSON body; raise ValidationFailed with `message`, naming every field at fault. A field
    not at fault but inside one that is may be None in what is built meanwhile: the event is only returned
    whole."""
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    r = Reader()
    event = BookingEvent(
        event_id=_id(r, payload, "event_id", "event_id"),
        type=r.choice(payload, "type", "type", EVENT_TYPES),
        occurred_at=r.moment(payload, "occurred_at", "occurred_at", then=aware),
        booking=_part(r, payload, "booking", "booking", _booking),  # type: ignore[arg-type]
    )
    r.check(message)
    return event
