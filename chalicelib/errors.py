"""Domain exceptions. The API maps them to HTTP statuses in one place (chalicelib/api/responses.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.pii import mask_text


class ChairsideError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict:
        body: dict = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class ValidationFailed(ChairsideError):
    status, code = 400, "invalid_request"


def invalid_fields(
    message: str, exc: Any, messages: dict[tuple[str, tuple], str] | None = None
) -> ValidationFailed:
    """The one mapping of a pydantic ValidationError to `fields` (a dotted path -> its first message).

    `messages` replaces the text of an error by (error type, location). chalicelib/api/request.py re-exports
    this for the edge; domain parsers (models/booking_event.py) use it from here."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        text = (messages or {}).get((error["type"], tuple(error["loc"])))
        path = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(path, text or error["msg"].removeprefix("Value error, "))
    return ValidationFailed(message, fields)


class Unauthorized(ChairsideError):
    status, code = 401, "unauthorized"


class Forbidden(ChairsideError):
    """The store is visible to the caller, but the caller's role may not do this there."""

    status, code = 403, "forbidden"

    def __init__(self, message: str, action: str) -> None:
        super().__init__(message)
        self.action = action

    def body(self) -> dict:
        return super().body() | {"action": self.action}


class NotFound(ChairsideError):
    status, code = 404, "not_found"


class Conflict(ChairsideError):
    status, code = 409, "conflict"


class PayloadTooLarge(ChairsideError):
    status, code = 413, "payload_too_large"


class Misdirected(ValidationFailed):
    """The store is served by another region (docs/REGIONS.md): ask that region's API, not this one.

    421 Misdirected Request, answered before anything is read or written for the request; the body says only
    where the store is served -- never a member's data, and nothing is forwarded. A worker that meets it
    drops the record like any other invalid one (a ValidationFailed): retrying here cannot help."""

    status, code = 421, "misdirected"

    def __init__(self, store_id: str, region: str, endpoint: str, chain_id: str | None = None) -> None:
        super().__init__(f"store {store_id} is served in {region}")
        self.store_id = store_id
        self.region = region
        self.endpoint = endpoint
        # Whose store it is: a caller that knows the chain refuses another chain's store as unknown.
        self.chain_id = chain_id

    def body(self) -> dict:
        return {"error": self.code, "region": self.region, "endpoint": self.endpoint}


class TooManyRequests(ChairsideError):
    """A limit was reached (sign-in codes an hour, wrong codes); `code` says which, `retry_after` when to ask again."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after

    def body(self) -> dict:
        body = super().body()
        if self.retry_after is not None:
            body["retry_after_seconds"] = self.retry_after
        return body


class CodedUnauthorized(Unauthorized):
    """401 with a code that says why (`invalid_code`, `code_expired`, `invalid_state`...) and details."""

    def __init__(self, message: str, code: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details

    def body(self) -> dict:
        return super().body() | self.details


class StylistUnavailable(Conflict):
    code = "stylist_unavailable"


class ProviderUnavailable(ChairsideError):
    """A provider the answer needs (e.g. WeChat's API) did not answer usefully: the same request may be retried
    (the API's 503 `temporarily_unavailable`, with a message that names the provider)."""

    status, code = 503, "temporarily_unavailable"


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller re-reads and tries again."""


# --- sending -----------------------------------------------------------------------------------


class SendError(Exception):
    """`reason` is masked (privacy.mask_text): providers echo the number or address they refused, and the
    reason is logged, stored on the message and put on the dead-letter queue."""

    def __init__(self, reason: str) -> None:
        reason = mask_text(reason)
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Worth retrying later (throttling, provider outage)."""


class PermanentSendError(SendError):
    """Retrying cannot help (invalid number, rejected address)."""


class DeliveryInProgress(TransientSendError):
    """Another worker holds the delivery's lease; try again after it expires."""


# --- self-booking (issue 14) ---------------------------------------------------------------------


class SlotTaken(Conflict):
    """The time asked for is not open (taken meanwhile, or never free); `alternatives` are the nearest open."""

    code = "slot_taken"

    def __init__(self, message: str, alternatives: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.alternatives = alternatives

    def body(self) -> dict:
        return super().body() | {"alternatives": self.alternatives}


class TooLate(Conflict):
    """Too close to the start for the member to cancel or move it herself: she calls the store."""

    code = "too_late"

    def __init__(self, message: str, store_phone: str) -> None:
        super().__init__(message)
        self.store_phone = store_phone

    def body(self) -> dict:
        return super().body() | {"store_phone": self.store_phone}


class ManagedElsewhere(Conflict):
    """The store's bookings are kept by the chain's own booking system (`booking_mode = "external"`)."""

    code = "booking_managed_elsewhere"
