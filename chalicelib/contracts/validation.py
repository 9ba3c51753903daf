"""The one way a decoded body or query becomes a contract model: a 400 naming every field at fault."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from chalicelib.errors import ValidationFailed, invalid_fields


def parse[M: BaseModel](model: type[M], payload: object, message: str) -> M:
    """`payload` validated as `model`; ValidationFailed with `message` and the fields at fault."""
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_fields(message, exc) from None
