from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from chalicelib.errors import PermanentSendError, TransientSendError

# Provider error codes that no retry can fix.
PERMANENT_CODES = {
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "MessageRejected",
    "MailFromDomainNotVerified",
    "OptedOut",
    "OptedOutException",
    "EndpointDisabled",
    "ValidationException",
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
}


@dataclass(frozen=True)
class Contact:
    phone: str | None = None
    email: str | None = None
    wechat_openid: str | None = None
    agora_user: str | None = None


class Channel(Protocol):
    name: str

    def can_reach(self, contact: Contact) -> bool: ...

    def send(self, contact: Contact, text: str, subject: str) -> str:
        """Send and return the provider's message id."""
        ...


def classify(exc: Exception, provider: str) -> Exception:
    """Map a boto error to TransientSendError or PermanentSendError."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        message = exc.response.get("Error", {}).get("Message", "")
        reason = f"{provider}: {code}: {message}".strip(": ")
        if code in PERMANENT_CODES:
            return PermanentSendError(reason)
        return TransientSendError(reason)
    if isinstance(exc, ConnectionError | ReadTimeoutError | BotoCoreError):
        return TransientSendError(f"{provider}: {type(exc).__name__}")
    return TransientSendError(f"{provider}: {type(exc).__name__}: {exc}")


def provider_of(channel: Channel, contact: Contact) -> str:
    """The provider whose receipts will name a message this channel sends to `contact` (the namespace of its
    provider message id: channels/receipts.py). A channel that picks a provider per number (SMS by country)
    has `provider_for(contact)`; one bound to one provider may name it in `provider`; else it is its name."""
    pick = getattr(channel, "provider_for", None)
    if pick is not None:
        return str(pick(contact))
    return str(getattr(channel, "provider", channel.name))
