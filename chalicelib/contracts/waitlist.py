"""The bodies of a member's waitlist requests (`POST /v1/stores/{store_id}/me/waitlist` and `…/{id}/claim`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service: str
    stylist_id: str
    date: date
    part_of_day: Literal["morning", "afternoon", "evening", "any"]


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
