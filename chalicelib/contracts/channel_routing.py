"""A chain's or a store's `channel_routing` (issue 15 §1): the override of channels/routing.toml's order, the
member's choice and the receipt waits. Validated where it is written (`PATCH …/settings`) and where a worker
reads a stored one (services/channel_router.py, which imports this module only then: a worker routing by the
defaults never loads pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_RECEIPT_WAIT = 900  # one SQS DelaySeconds

ChannelName = Literal["wechat", "wechat_template", "wechat_subscribe", "agora", "sms", "email"]


class RoutingOverride(BaseModel):
    """Every key optional, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    order: list[ChannelName] | None = Field(default=None, min_length=1)
    prefer_member_choice: bool | None = None
    receipt_wait_seconds: dict[ChannelName, int] | None = None

    @field_validator("order")
    @classmethod
    def _no_repeats(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a channel may appear only once")
        return value

    @field_validator("receipt_wait_seconds")
    @classmethod
    def _waits(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for seconds in (value or {}).values():
            if not 0 <= seconds <= MAX_RECEIPT_WAIT:
                raise ValueError(f"a receipt wait is 0 to {MAX_RECEIPT_WAIT} seconds")
        return value
