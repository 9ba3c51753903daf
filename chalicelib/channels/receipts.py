"""What a provider tells us after it accepted a message: the one shape every receipt parser returns.

Each provider has its own receipt mechanism (WeChat's TEMPLATESENDJOBFINISH event, Alibaba's SmsReport,
Tencent's status callback, SNS delivery-status logs, SES events, Agora's delivery/read acks). Its adapter
under `chalicelib/channels/` turns that into `ProviderReceipt`s; one service (services/receipts.py) applies
them to the outbound message, found by (provider, provider message id).

A status never goes backwards: `STATUS_RANK` orders them, and a receipt that would lower a message's rank is
a no-op (as is a duplicate): `failed` after `delivered` is ignored (a provider cannot un-deliver), while a
late `delivered` after a `failed` wins (the provider was slow, the member has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# queued -> sent -> delivered -> read; failed ends a message that never reached `delivered`.
STATUS_RANK = {"queued": 0, "sent": 1, "failed": 2, "delivered": 3, "read": 4}
RECEIPT_STATUSES = ("delivered", "read", "failed")


@dataclass(frozen=True)
class ProviderReceipt:
    provider: str  # "wechat", "agora", "alibaba_sms", "tencent_sms", "sns", "ses": as recorded on the message
    provider_message_id: str  # the id the provider answered the send with
    status: str  # one of RECEIPT_STATUSES
    at: datetime  # when the provider says it happened (UTC, aware)
    code: str | None = None  # the provider's own result code, kept for failures ("43101", "DELIVERED", ...)

    def __post_init__(self) -> None:
        if self.status not in RECEIPT_STATUSES:
            raise ValueError(f"receipt status must be one of {RECEIPT_STATUSES}, not {self.status!r}")
        if not self.provider_message_id:
            raise ValueError("a receipt needs the provider's message id")


def advances(current: str, new: str) -> bool:
    """Whether a message in status `current` moves to `new` (never backwards, never sideways)."""
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1)
