"""A journey step that is due: the body of a schedule's target and of the steps queue."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import ValidationFailed


@dataclass(frozen=True)
class StepMessage:
    chain_id: str
    store_id: str
    booking_id: str
    member_id: str
    kind: str
    when: str
    version: int
    due_at: str  # ISO 8601, UTC

    type: str = "journey_step"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> StepMessage:
        try:
            data = json.loads(body)
            fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "type"}
            if data.get("type", "journey_step") != "journey_step":
                raise ValueError("type")
            step = cls(**fields)
            datetime.fromisoformat(step.due_at)
            int(step.version)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed(f"not a journey step message: {exc}") from None
        return step

    @property
    def booking_ref(self) -> str:
        """Short, stable, name-safe reference to the booking (schedule names allow 64 chars)."""
        return booking_ref(self.chain_id, self.booking_id)

    @property
    def schedule_name(self) -> str:
        return schedule_name(self.chain_id, self.booking_id, self.kind, self.version)

    @property
    def message_id(self) -> str:
        """The outbound message's id: one per (booking, step, booking version)."""
        return f"out-{self.booking_ref}-{self.kind}-v{self.version}"


def step_message(chain_id: str, booking: Any, step: Any) -> StepMessage:
    """The message of a booking's planned step (`step`: kind, when, due_at), at the booking's version."""
    return StepMessage(
        chain_id=chain_id,
        store_id=booking.store_id,
        booking_id=booking.booking_id,
        member_id=booking.member.id,
        kind=step.kind,
        when=step.when,
        version=booking.version,
        due_at=step.due_at.astimezone(UTC).isoformat(),
    )


def booking_ref(chain_id: str, booking_id: str) -> str:
    return hashlib.sha256(f"{chain_id}\x00{booking_id}".encode()).hexdigest()[:20]


def schedule_name(chain_id: str, booking_id: str, kind: str, version: int) -> str:
    return f"{booking_ref(chain_id, booking_id)}-{kind}-v{version}"


RECEIPT_CHECK = "receipt_check"


@dataclass(frozen=True)
class ReceiptCheck:
    """Issue 15: "has the step's message had a receipt yet?", put on the steps queue with a delay (the route's
    receipt wait) after a send on `waited_on`. The step's own fields, `type: receipt_check` and `waited_on`."""

    step: StepMessage
    waited_on: str  # the channel the message was sent on

    def to_json(self) -> str:
        body = {**asdict(self.step), "type": RECEIPT_CHECK, "waited_on": self.waited_on}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> ReceiptCheck:
        try:
            data = json.loads(body)
            if data.get("type") != RECEIPT_CHECK or not isinstance(data.get("waited_on"), str):
                raise ValueError("type")
            step = StepMessage.from_json(json.dumps({**data, "type": "journey_step"}))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValidationFailed(f"not a receipt check message: {exc}") from None
        return cls(step, data["waited_on"])


def message_type(body: str) -> str:
    """What a steps-queue body is: `journey_step` (also when it says nothing) or `receipt_check`."""
    try:
        data = json.loads(body)
    except ValueError:
        return "journey_step"
    kind = data.get("type", "journey_step") if isinstance(data, dict) else "journey_step"
    return kind if isinstance(kind, str) else "journey_step"
