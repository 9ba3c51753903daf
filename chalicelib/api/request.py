"""What the edge reads from a request: JSON bodies, pydantic models, ids, the staff bearer token.

The one JSON decoder, the one pydantic-error -> `fields` mapper and the one id pattern of the API. Services get
what these return (dicts, models, a `Staff`), never a header or raw bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib.contracts.validation import parse
from chalicelib.errors import PayloadTooLarge, Unauthorized, ValidationFailed, invalid_fields
from chalicelib.ids import ID_CHARS, SAFE_ID, is_id
from chalicelib.services.auth import MAX_TOKEN_LENGTH, HS256Verifier, Staff, Verifier

if (
    TYPE_CHECKING
):  # pydantic loads with the first request that parses a model, not with the API (its cold start)
    from pydantic import BaseModel

# Containers may nest this deep in a request body; deeper is refused as "nested too deeply".
MAX_JSON_DEPTH = 64

__all__ = [
    "ID_CHARS",
    "SAFE_ID",
    "authenticate",
    "body_bytes",
    "decode",
    "decode_json",
    "invalid_fields",
    "is_id",
    "json_object",
    "limit_size",
    "parse_model",
]


def body_bytes(request: Request) -> bytes:
    """The request's raw body. Chalice types it `str | bytes`; it is bytes for every body our routes accept."""
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def decode_json(raw: bytes | None, *, detailed: bool = False) -> Any:
    """Any JSON value of a UTF-8 body; 400 otherwise. `detailed` says why (the booking webhook's integrators
    read it); the other routes answer only "not valid JSON"."""
    try:
        value = json.loads((raw or b"").decode("utf-8"))
        if _nested_deeper_than(value, MAX_JSON_DEPTH):
            raise RecursionError  # Python 3.13's parser no longer stops at the recursion limit: we do
        return value
    except UnicodeDecodeError:
        if detailed:
            raise ValidationFailed("the body must be UTF-8 JSON", {"body": "not UTF-8"}) from None
        raise ValidationFailed("the body is not valid JSON", {"body": "not valid JSON"}) from None
    except RecursionError:  # "[[[..." nests past the limit
        if detailed:
            raise ValidationFailed("the body is nested too deeply", {"body": "nested too deeply"}) from None
        raise ValidationFailed("the body is not valid JSON", {"body": "not valid JSON"}) from None
    except ValueError as exc:
        fields = {"body": f"not valid JSON: {exc}" if detailed else "not valid JSON"}
        raise ValidationFailed("the body is not valid JSON", fields) from None


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest past `limit` levels (no request of ours needs more than a handful)."""
    level = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, dict | list) for item in level)


def json_object(raw: bytes | None) -> dict[str, Any]:
    """A JSON object body (400 for anything else)."""
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    return body


def decode(raw: bytes | None) -> dict[str, Any]:
    """A staff route's JSON object body: an empty body is `{}`; text that cannot be stored is refused."""
    body = json_object(raw or b"{}")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # a lone surrogate ("\\ud800") cannot be stored
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise ValidationFailed("the body is not valid JSON", {"body": "not valid JSON"}) from None
    return body


def parse_model[M: BaseModel](model: type[M], raw: bytes, message: str) -> M:
    """A JSON object body validated as `model`; 400 naming every field at fault."""
    return parse(model, json_object(raw), message)


def limit_size(raw: bytes, max_bytes: int) -> bytes:
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is over {max_bytes} bytes")
    return raw


def authenticate(authorization: str | None, verifier: Verifier | str) -> Staff:
    """The staff member behind an `Authorization: Bearer ...` header. A plain string is an HS256 secret."""
    if isinstance(verifier, str):
        verifier = HS256Verifier(verifier)
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("a staff bearer token is required")
    token = authorization.removeprefix("Bearer ").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("the staff token is not valid")
    return verifier.verify(token)
