"""Domain exceptions. The API maps them to HTTP statuses in one place (chalicelib/api/responses.py)."""

from __future__ import annotations


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


class Unauthorized(ChairsideError):
    status, code = 401, "unauthorized"


class NotFound(ChairsideError):
    status, code = 404, "not_found"


class Conflict(ChairsideError):
    status, code = 409, "conflict"


class PayloadTooLarge(ChairsideError):
    status, code = 413, "payload_too_large"


class StylistUnavailable(Conflict):
    code = "stylist_unavailable"


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller re-reads and tries again."""


# --- sending -----------------------------------------------------------------------------------


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Worth retrying later (throttling, provider outage)."""


class PermanentSendError(SendError):
    """Retrying cannot help (invalid number, rejected address)."""


class DeliveryInProgress(TransientSendError):
    """Another worker holds the delivery's lease; try again after it expires."""
