"""The bodies of the settings PATCHes (issue 17's features read them). Every error names the field at fault.

    PATCH /v1/stores/{store}/settings   StoreSettingsPatch: review_links, manager_phone, handoff_limit_minutes,
                                        channel_routing (issue 15's router override: services/channel_router.py)
    PATCH /v1/chains/{chain}/settings   ChainSettingsPatch: feedback_settings {no_answer, thank_you_coupon}

A PATCH sets only the fields it names (`given`); a field named with `null` goes back to its default (no review
link, the store's phone, feedback.toml's and hand_offs.toml's defaults). Inside `feedback_settings` the same
holds per key. Review links keep the stored shape services/feedback.py `review_link` reads:
`[{"label": "大众点评", "url": "https://...", "locales": ["zh-CN"]}, ...]` (no `locales`: any locale).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.contracts.channel_routing import RoutingOverride
from chalicelib.contracts.phone import e164_number
from chalicelib.journeys.texts import SUPPORTED_LOCALES
from chalicelib.services.feedback import NO_ANSWER_CHOICES
from chalicelib.text_safety import clean_name, clean_text

MAX_URL = 300  # a review link goes into an SMS: longer ones cost segments
MAX_LINKS = 10
MAX_LABEL = 40
MAX_OFFER = 100  # as a campaign's coupon offer (care/campaigns.py)
MIN_LIMIT, MAX_LIMIT = 1, 240  # the hand-off response limit, in opening minutes
MAX_VALID_DAYS = 365


def _https_url(value: str) -> str:
    problem = "must be an https:// URL of at most 300 characters, e.g. https://g.page/r/your-store/review"
    if len(value) > MAX_URL or clean_text(value, multiline=False) != value or any(c.isspace() for c in value):
        raise ValueError(problem)
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ValueError(problem) from None
    host = parts.hostname or ""
    if parts.scheme != "https" or "." not in host.strip(".") or parts.username or parts.password:
        raise ValueError(problem)
    return value


def _locales(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in SUPPORTED_LOCALES]
    if unknown:
        raise ValueError(
            f"not a locale served here: {', '.join(unknown)} (one of {', '.join(SUPPORTED_LOCALES)})"
        )
    if len(set(values)) != len(values):
        raise ValueError("a locale is listed twice")
    return values


def _no_answer(value: str) -> str:
    if value not in NO_ANSWER_CHOICES:
        raise ValueError(f"must be one of {', '.join(NO_ANSWER_CHOICES)}")
    return value


def _phone(value: str) -> str:
    if len(value) > 32:
        raise ValueError("not a valid phone number")
    return e164_number(value)


Url = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_https_url)]
Label = Annotated[str, StringConstraints(max_length=MAX_LABEL), AfterValidator(clean_name)]
Locales = Annotated[list[str], Field(max_length=len(SUPPORTED_LOCALES)), AfterValidator(_locales)]
Phone = Annotated[str, AfterValidator(_phone)]
Limit = Annotated[int, Field(strict=True, ge=MIN_LIMIT, le=MAX_LIMIT)]
NoAnswer = Annotated[str, AfterValidator(_no_answer)]
Offer = Annotated[str, StringConstraints(min_length=1, max_length=MAX_OFFER), AfterValidator(clean_name)]
ValidDays = Annotated[int, Field(strict=True, ge=1, le=MAX_VALID_DAYS)]


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @property
    def given(self) -> frozenset[str]:
        """The fields the body named (null included): the only ones a PATCH changes."""
        return frozenset(self.model_fields_set)


class ReviewLink(_Patch):
    label: Label = ""
    url: Url
    locales: Locales = Field(default_factory=list)


class StoreSettingsPatch(_Patch):
    review_links: Annotated[list[ReviewLink], Field(max_length=MAX_LINKS)] | None = None
    manager_phone: Phone | None = None
    handoff_limit_minutes: Limit | None = None
    # replaced whole (order, prefer_member_choice, receipt_wait_seconds; the kinds lists are not overridable)
    channel_routing: RoutingOverride | None = None


class ThankYouCoupon(_Patch):
    offer: Offer
    valid_days: ValidDays = 30


class FeedbackSettingsPatch(_Patch):
    no_answer: NoAnswer | None = None
    thank_you_coupon: ThankYouCoupon | None = None


class ChainSettingsPatch(_Patch):
    feedback_settings: FeedbackSettingsPatch | None = None
    # every store's channel routing unless the store sets its own; replaced whole, null: none
    channel_routing: RoutingOverride | None = None
