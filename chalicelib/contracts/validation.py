"""The one way a decoded body or query becomes a contract model: a 400 naming every field at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.errors import ValidationFailed, invalid_fields

if TYPE_CHECKING:  # the model given is pydantic's, so pydantic is loaded by then; importing this loads none
    from pydantic import BaseModel


def parse[M: BaseModel](
    model: type[M], payload: object, message: str, messages: dict[tuple[str, tuple], str] | None = None
) -> M:
    """`payload` validated as `model`; ValidationFailed with `message` and the fields at fault (`messages`: texts
    that replace an error's, by error type and location, as errors.invalid_fields)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    from pydantic import ValidationError

    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_fields(message, exc, messages) from None
