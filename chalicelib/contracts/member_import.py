"""One row of a members file (`python -m ops.members import FILE.csv --store S`), validated; errors name the column.

Columns: `phone` (required; any format phonenumbers reads with a country code, stored E.164), `name`, `email`,
`locale` (zh-CN / en), `birthday` (YYYY-MM-DD), `marketing_consent` (yes/no, true/false, 1/0, 是/否; empty: not
asked), `tags` (separated by `;` or `|`). Empty cells are "not given".
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints, field_validator

from chalicelib.care.profile import MAX_TAGS, TAG
from chalicelib.contracts.booking_event import optional_birthday, optional_email, optional_phone
from chalicelib.contracts.fields import Strict
from chalicelib.journeys.texts import SUPPORTED_LOCALES

YES = {"yes", "y", "true", "1", "是", "同意"}
NO = {"no", "n", "false", "0", "否", "不同意"}


class MemberRow(Strict):
    phone: str
    name: str = ""
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    locale: str | None = None
    birthday: str | None = None
    marketing_consent: bool | None = None
    tags: list[str] = []

    # The booking webhook's own rules for the fields both have (E.164 phone, email, birthday, name).
    _phone = field_validator("phone")(classmethod(lambda cls, value: optional_phone(value)))
    _email = field_validator("email")(classmethod(lambda cls, value: optional_email(value)))
    _birthday = field_validator("birthday")(classmethod(lambda cls, value: optional_birthday(value)))

    @field_validator("phone", mode="after")
    @classmethod
    def _phone_required(cls, value: str | None) -> str:
        if not value:
            raise ValueError("a phone number is required")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        from chalicelib.text_safety import clean_name

        if len(value) > 200:
            raise ValueError("at most 200 characters")
        return clean_name(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("marketing_consent", mode="before")
    @classmethod
    def _consent(cls, value: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError("yes or no (or leave it empty)")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> list[str]:
        if value is None:
            return []
        parts = value if isinstance(value, list) else re.split(r"[;|]", str(value))
        tags = [str(p).strip() for p in parts if str(p).strip()]
        if len(tags) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        for tag in tags:
            if not TAG.match(tag):
                raise ValueError(f"{tag!r}: tags are 1-40 letters, digits, '_' or '-'")
        return tags

    def contact(self) -> dict[str, object]:
        """Her profile fields (None: not given, left as they are)."""
        return {
            "name": self.name or None,
            "email": self.email,
            "locale": self.locale,
            "birthday": self.birthday,
            "marketing_consent": self.marketing_consent,
        }
