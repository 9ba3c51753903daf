"""A decoded JSON object read field by field into typed values, every error collected under its dotted path.

For the one contract on a cold path, the booking webhook (contracts/booking_event.py): importing pydantic and
building its schemas was about a fifth of the API's cold start (docs/PERFORMANCE.md, issue 13 §8). The rules
are those of the pydantic models the other contracts use: surrounding whitespace stripped from strings, unknown
keys ignored, numbers given as numbers or numeric strings, booleans as JSON booleans, 0/1 or the usual words,
times as ISO 8601 (or Unix seconds), each error's text in pydantic's words, so a 400 reads the same
whichever contract answered it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from chalicelib.errors import ValidationFailed
from chalicelib.ids import ID_CHARS

ID_PATTERN = rf"^[{ID_CHARS}]+$"
NAME_MAX = 200  # a person's, a service's or a stylist's name
TEXT_MAX = 2000  # a free text (a booking's notes)

_MISSING: Any = object()
# What pydantic strips from a string: Unicode's White_Space (Python's str.strip() also takes \x1c-\x1f).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
# A date-time as pydantic reads one: RFC 3339 with "T", "t", "_" or a space, seconds and a fraction optional
# (digits past microseconds dropped), the offset as Z or +hh:mm / +hhmm; or Unix seconds.
_MOMENT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt_ ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?")  # pydantic's: "+5", "1_000", "90.0"


class Reader:
    """Reads fields of nested objects; `errors` maps each field at fault (dotted path) to its first error."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path or "body", message)

    def check(self, message: str) -> None:
        """Raise ValidationFailed(message) naming every field at fault, if any is."""
        if self.errors:
            raise ValidationFailed(message, dict(self.errors))

    def _value(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> Any:
        value = data.get(key, _MISSING)
        if value is _MISSING and required:
            self.fail(path, "Field required")
        return value

    def obj(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> Mapping[str, Any] | None:
        """A nested object (None: missing, null where allowed by the caller, or at fault)."""
        value = self._value(data, key, path, required)
        if value is _MISSING or value is None:
            if value is None and required:
                self.fail(path, "Input should be an object")
            return None
        if not isinstance(value, dict):
            self.fail(path, "Input should be an object")
            return None
        return value

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        default: Any = None,
        nullable: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
        then: Callable[[str], Any] | None = None,
    ) -> Any:
        """A string, stripped, within its length and pattern, then passed through `then` (which may raise
        ValueError with the message to show)."""
        value = self._value(data, key, path, required)
        if value is _MISSING or (value is None and nullable):
            return default if value is _MISSING else None
        if not isinstance(value, str):
            self.fail(path, "Input should be a valid string")
            return default
        value = value.strip(WHITESPACE)
        if len(value) < min_length:
            self.fail(
                path, f"String should have at least {min_length} character{'s' if min_length > 1 else ''}"
            )
        elif max_length is not None and len(value) > max_length:
            self.fail(
                path, f"String should have at most {max_length} character{'s' if max_length > 1 else ''}"
            )
        elif pattern is not None and re.search(pattern, value) is None:
            self.fail(path, f"String should match pattern '{pattern}'")
        else:
            return _then(self, path, value, then)
        return default

    def given(self, data: Mapping[str, Any], key: str, path: str, then: Callable[[Any], Any]) -> Any:
        """A required value of any JSON type, read by `then` (which may raise ValueError)."""
        value = self._value(data, key, path, True)
        return None if value is _MISSING else _then(self, path, value, then)

    def choice(self, data: Mapping[str, Any], key: str, path: str, options: tuple[str, ...]) -> Any:
        value = self._value(data, key, path, True)
        if value is _MISSING:
            return None
        if value not in options:
            self.fail(path, "must be one of " + ", ".join(options))
            return None
        return value

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING, ge: int, le: int
    ) -> Any:
        value = self._value(data, key, path, default is _MISSING)
        if value is _MISSING:
            return None if default is _MISSING else default
        number = _as_integer(value)
        if number is None:
            self.fail(path, "Input should be a valid integer")
        elif number < ge:
            self.fail(path, f"Input should be greater than or equal to {ge}")
        elif number > le:
            self.fail(path, f"Input should be less than or equal to {le}")
        else:
            return number
        return None

    def boolean(self, data: Mapping[str, Any], key: str, path: str) -> bool | None:
        """An optional boolean (missing or null: None)."""
        value = data.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        self.fail(path, "Input should be a valid boolean")
        return None

    def moment(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        then: Callable[[datetime], datetime] | None = None,
    ) -> Any:
        """A date and time: an ISO 8601 string or Unix seconds (milliseconds above 2e10, as pydantic reads)."""
        value = self._value(data, key, path, True)
        if value is _MISSING:
            return None
        moment = _as_moment(value)
        if moment is None:
            self.fail(path, "Input should be a valid datetime")
            return None
        return _then(self, path, moment, then)


def _then(reader: Reader, path: str, value: Any, then: Callable[[Any], Any] | None) -> Any:
    if then is None:
        return value
    try:
        return then(value)
    except ValueError as exc:
        reader.fail(path, str(exc))
        return None


def _as_integer(value: Any) -> int | None:
    if isinstance(value, int):  # a bool too, as pydantic reads it
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and len(value) <= 40 and _INTEGER.fullmatch(value.strip(WHITESPACE)):
        return int(value.strip(WHITESPACE).partition(".")[0])
    return None


def _as_moment(value: Any) -> datetime | None:
    """An RFC 3339 date-time (a date alone: midnight, no offset), or Unix seconds as a number or numeric text."""
    if isinstance(value, str) and len(value) <= 64:
        if _NUMBER.fullmatch(value):
            return _from_unix(float(value))
        found = _MOMENT.fullmatch(value)
        if found is None:
            return None
        year, month, day, hour, minute, second, fraction, zone = found.groups()
        try:
            offset = None if zone is None else _zone(zone)
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0")[:6].ljust(6, "0")),
                offset,
            )
        except ValueError:
            return None
    if isinstance(value, int | float):
        return _from_unix(float(value))
    return None


def _from_unix(seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds / 1000 if abs(seconds) > 2e10 else seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _zone(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    minutes = int(text[1:3]) * 60 + int(text[-2:])
    if minutes >= 24 * 60:
        raise ValueError(text)
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))
