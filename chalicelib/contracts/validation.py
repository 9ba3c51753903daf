"""The one way a decoded body or query becomes a contract model: a 400 naming every field at fault."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from chalicelib.errors import ValidationFailed, invalid_fields


def parse[M: BaseModel](
    model: type[M], payload: object, message: str, messages: dict[tuple[str, tuple], str] | None = None
) -> M:
    """`payload` validated as `model`; ValidationFailed with `message` and the fields at fault (`messages`: texts
    that replace an error's, by error type and location, as errors.invalid_fields)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_fields(message, exc, messages) from None
