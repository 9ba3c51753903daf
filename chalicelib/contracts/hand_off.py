"""A hand-off's response alarm (issue 17 part 3): the body a one-time schedule puts on the steps queue when the
store's limit has passed since she began waiting for a person."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from chalicelib.errors import ValidationFailed

HANDOFF_CHECK = "handoff_check"


@dataclass(frozen=True)
class HandOffCheck:
    chain_id: str
    store_id: str
    member_id: str
    message_id: str  # the member message that opened the wait
    waiting_since: str  # ISO 8601, UTC
    due_at: str  # ISO 8601, UTC
    limit_minutes: int

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "type": HANDOFF_CHECK}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> HandOffCheck:
        try:
            data = json.loads(body)
            if data.get("type") != HANDOFF_CHECK:
                raise ValueError("type")
            check = cls(**{k: data[k] for k in cls.__dataclass_fields__})
            datetime.fromisoformat(check.waiting_since)
            datetime.fromisoformat(check.due_at)
            int(check.limit_minutes)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed(f"not a hand-off check: {exc}") from None
        return check

    @property
    def schedule_name(self) -> str:
        return alarm_schedule_name(self.store_id, self.member_id, self.message_id)


def alarm_schedule_name(store_id: str, member_id: str, message_id: str) -> str:
    """One schedule per wait: (store, member, the message that opened it: ConversationItem.handoff_id). At most 64
    characters."""
    digest = hashlib.sha256(f"{store_id}\x00{member_id}\x00{message_id}".encode())
    return f"handoff-{digest.hexdigest()[:40]}"
