"""SES's email sending events (event publishing through the configuration set, delivered by SNS): read into what
they mean for us -- a receipt for the message, and the addresses to suppress.

The record is SES's documented JSON ("Contents of event data that Amazon SES publishes to Amazon SNS"):
`eventType` (Bounce, Complaint, Delivery, Reject, ...), `mail.messageId` (the MessageId our send was answered with),
and per type `bounce` {bounceType Permanent | Transient | Undetermined, bouncedRecipients [{emailAddress}],
timestamp}, `complaint` {complainedRecipients [{emailAddress}], timestamp}, `delivery` {timestamp, recipients}.

What each means here:
- Delivery -> `delivered`;
- Bounce -> `failed` with the bounce type as the code; a Permanent bounce suppresses each bounced address (a
  Transient one -- a full mailbox, a message too large -- does not: the next email may arrive);
- Complaint -> `failed` (code "complaint"; a message already `delivered` stays so, statuses never go back) and
  suppresses each complaining address: she marked us as spam, we never write to that address again;
- Reject -> `failed` (code "Reject": SES refused it, e.g. a virus scan); other types are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.channels.email import PROVIDER
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.errors import ValidationFailed


@dataclass(frozen=True)
class SesEvent:
    receipt: ProviderReceipt | None  # None: an event type that says nothing about the message's status
    suppress: tuple[str, ...]  # addresses to stop writing to
    reason: str  # why they are suppressed: "bounce:Permanent", "complaint"


def _at(value: Any, fallback: Any) -> datetime:
    for candidate in (value, fallback):
        if isinstance(candidate, str):
            try:
                moment = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValidationFailed("SES event without a timestamp", {"mail.timestamp": "required ISO 8601 time"})


def _addresses(recipients: Any) -> tuple[str, ...]:
    if not isinstance(recipients, list):
        return ()
    found = (r.get("emailAddress") for r in recipients if isinstance(r, Mapping))
    return tuple(a for a in found if isinstance(a, str) and "@" in a)


def parse_ses_event(event: Mapping[str, Any]) -> SesEvent:
    """Read one SES event record. Raises ValidationFailed naming what is missing."""
    if not isinstance(event, Mapping):
        raise ValidationFailed("SES event must be a JSON object", {"event": "must be an object"})
    event_type = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail")
    message_id = mail.get("messageId") if isinstance(mail, Mapping) else None
    if not isinstance(event_type, str) or not isinstance(message_id, str) or not message_id:
        raise ValidationFailed(
            "not an SES event", {"eventType": "required string", "mail.messageId": "required string"}
        )
    sent_at = mail.get("timestamp") if isinstance(mail, Mapping) else None
    detail = event.get(event_type[:1].lower() + event_type[1:])
    detail = detail if isinstance(detail, Mapping) else {}

    def receipt(status: str, code: str | None) -> ProviderReceipt:
        return ProviderReceipt(PROVIDER, message_id, status, _at(detail.get("timestamp"), sent_at), code)

    if event_type == "Delivery":
        return SesEvent(receipt("delivered", None), (), "")
    if event_type == "Bounce":
        bounce_type = str(detail.get("bounceType") or "Undetermined")
        suppress = _addresses(detail.get("bouncedRecipients")) if bounce_type == "Permanent" else ()
        return SesEvent(receipt("failed", bounce_type), suppress, f"bounce:{bounce_type}")
    if event_type == "Complaint":
        return SesEvent(
            receipt("failed", "complaint"), _addresses(detail.get("complainedRecipients")), "complaint"
        )
    if event_type == "Reject":
        return SesEvent(receipt("failed", "Reject"), (), "")
    return SesEvent(None, (), "")
