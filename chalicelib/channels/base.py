from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
    # Her one-time subscription-message grants ("<template id> <grant id>", dal/wechat_follow.py)
    wechat_grants: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outgoing:
    """One outbound message with what a templated channel needs beside its rendered text.

    WeChat template messages and mainland-China SMS (Alibaba, Tencent) cannot send free text: they fill a
    registered template's fields. `values` are the message's named, already formatted strings
    (`member_name`, `store_name`, `store_phone`, `address`, `service_name`, `stylist_name`, `start_local`,
    `date_local`, `time_local`, `manage_link`, ...), which each such channel maps onto its template's fields
    by per-store data. A channel that has `send_outgoing(contact, outgoing)` is called with this; any other
    channel gets `send(contact, outgoing.text, outgoing.subject)`.
    """

    kind: str  # the message kind: "confirmation", "reminder_24h", "care_birthday", "staff_reply", ...
    text: str  # the rendered text, in `locale`
    subject: str  # the email subject / notification title (the store's name)
    locale: str = "zh-CN"
    marketing: bool = False  # care and campaigns: never by WeChat template message, needs consent
    values: Mapping[str, str] = field(default_factory=dict)


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


def reports_receipts(channel: Channel, contact: Contact) -> bool:
    """Whether the provider will send a receipt for what this channel sends to `contact`: only then is the send
    made findable by its provider id (dal/messages.py `finish`; one write). A channel that picks a provider per
    number has `reports_receipts_for(contact)`; one that never reports (WeChat customer-service text) or reports
    only when configured (SNS SMS: the account's delivery-status logs) says so in `reports_receipts`; by default a
    channel reports."""
    pick = getattr(channel, "reports_receipts_for", None)
    if pick is not None:
        return bool(pick(contact))
    return bool(getattr(channel, "reports_receipts", True))


def pull_receipts(channel: Channel, contact: Contact, provider_message_id: str, sent_at: datetime) -> list:
    """The receipts a provider can be asked for (a pull, when its push may have been lost): the channel's
    `pull_receipts(contact, provider_message_id, sent_at)` when it has one (Alibaba's QuerySendDetails), else none.
    A ProviderReceipt list. A channel's pull answers a failed call with none (a failed pull is as good as no
    receipt), so asking never fails the receipt check."""
    pull = getattr(channel, "pull_receipts", None)
    return list(pull(contact, provider_message_id, sent_at)) if pull is not None else []


def send_outgoing(channel: Channel, contact: Contact, outgoing: Outgoing) -> str:
    """Send through the channel's templated path when it has one, else as plain text; the provider's id."""
    rich = getattr(channel, "send_outgoing", None)
    if rich is not None:
        return str(rich(contact, outgoing))
    return channel.send(contact, outgoing.text, subject=outgoing.subject)
