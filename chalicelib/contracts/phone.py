"""A phone number in international format, read by phonenumbers and answered in E.164 (`+8613800138000`).

For pydantic validators: it raises ValueError with the message the `fields` of a 400 show.
"""

from __future__ import annotations


def e164_number(value: str) -> str:
    """`value` (with its +country code) as E.164; ValueError when it is not a valid phone number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number in international format (+<country code>...)") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
