"""A member's own choice of channel (issue 15 §1: the router tries it first where it can carry the message).

PUT /v1/stores/{store}/me/channel   {"preferred_channel": "wechat" | "agora" | "sms" | "email" | null}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

MemberChoice = Literal["wechat", "agora", "sms", "email"]  # services/channel_router.py MEMBER_CHOICES


class ChannelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    preferred_channel: MemberChoice | None  # required: null gives the choice back to the store's order
