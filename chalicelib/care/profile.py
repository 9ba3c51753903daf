"""What a member's bookings say about her: visits, spend, services, stylists, her primary store, and the
automatic tags of tag_rules.toml. Pure functions: the repository (dal/care.py) reads and writes."""

from __future__ import annotations

import functools
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from chalicelib.care import dormancy
from chalicelib.errors import ValidationFailed

TAG = re.compile(r"^[\w\-]{1,40}$")  # letters (any script), digits, "_" and "-": safe inside a key
MAX_TAGS = 50


@dataclass(frozen=True)
class Visit:
    """A completed booking, as the rules see it."""

    at: datetime
    store_id: str
    service_code: str
    service_name: str
    category: str
    stylist_name: str
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class Stats:
    visits: int
    first_visit_at: datetime | None
    last_visit_at: datetime | None
    total_spend: Decimal | None
    currency: str | None
    last_service_code: str | None
    last_service_category: str | None
    avg_interval_days: float | None
    services: list[str]
    stylists: list[str]
    categories: dict[str, int]
    service_codes: dict[str, int]
    primary_store_id: str | None
    auto_tags: list[str] = field(default_factory=list)


def visit_of(booking: Any) -> Visit | None:
    """A BookingItem that counts as a visit (completed), else None."""
    if booking.status != "completed":
        return None
    try:
        amount = Decimal(booking.price_amount) if booking.price_amount is not None else None
    except InvalidOperation:
        amount = None
    return Visit(
        booking.start,
        booking.store_id,
        booking.service_code,
        booking.service_name,
        booking.category,
        booking.stylist_name or "",
        amount,
        booking.price_currency,
    )


def stats(
    visits: Iterable[Visit],
    latest_store_id: str | None,
    now: datetime,
    rules: Mapping[str, Any] | None = None,
) -> Stats:
    ordered = sorted(visits, key=lambda v: v.at)
    stores = Counter(v.store_id for v in ordered)
    primary: str | None
    if stores:
        top = max(stores.values())
        # The store of the most visits; on a tie, the one she visited last.
        primary = next(v.store_id for v in reversed(ordered) if stores[v.store_id] == top)
    else:
        primary = latest_store_id
    currencies = Counter(v.currency for v in ordered if v.currency and v.amount is not None)
    currency = currencies.most_common(1)[0][0] if currencies else None
    spend = sum((v.amount for v in ordered if v.currency == currency and v.amount is not None), Decimal(0))
    gaps = [(b.at - a.at).total_seconds() / 86400 for a, b in zip(ordered, ordered[1:], strict=False)]
    result = Stats(
        visits=len(ordered),
        first_visit_at=ordered[0].at if ordered else None,
        last_visit_at=ordered[-1].at if ordered else None,
        total_spend=spend if currency else None,
        currency=currency,
        last_service_code=ordered[-1].service_code if ordered else None,
        last_service_category=ordered[-1].category if ordered else None,
        avg_interval_days=round(sum(gaps) / len(gaps), 1) if len(ordered) >= 3 else None,
        services=[name for name, _ in Counter(v.service_name for v in ordered).most_common()],
        stylists=[
            name for name, _ in Counter(v.stylist_name for v in ordered if v.stylist_name).most_common()
        ],
        categories=dict(Counter(v.category for v in ordered)),
        service_codes=dict(Counter(v.service_code for v in ordered)),
        primary_store_id=primary,
    )
    tags = auto_tags(result, now, tag_rules() if rules is None else rules)
    return Stats(**{**result.__dict__, "auto_tags": tags})


# --- rules ------------------------------------------------------------------------------------------
@functools.cache
def tag_rules() -> dict[str, Any]:
    with (Path(__file__).parent / "tag_rules.toml").open("rb") as handle:
        rules = tomllib.load(handle)
    for name, rule in rules.items():
        if not TAG.match(name):
            raise ValueError(f"tag_rules.toml: {name!r} is not a valid tag name")
        for conditions in rule.get("any_of", [rule]):
            unknown = set(conditions) - set(_CONDITIONS) - {"any_of"}
            if unknown:
                raise ValueError(f"tag_rules.toml [{name}]: unknown conditions {sorted(unknown)}")
    return rules


def auto_tags(s: Stats, now: datetime, rules: Mapping[str, Any]) -> list[str]:
    return sorted(
        name
        for name, rule in rules.items()
        if any(_holds(s, now, conditions) for conditions in rule.get("any_of", [rule]))
    )


def _holds(s: Stats, now: datetime, conditions: Mapping[str, Any]) -> bool:
    return all(_CONDITIONS[name](s, now, value) for name, value in conditions.items() if name != "any_of")


def _in_currency(s: Stats, limits: Mapping[str, Any]) -> Decimal | None:
    return Decimal(str(limits[s.currency])) if s.currency is not None and s.currency in limits else None


def _avg_spend_at_most(s: Stats, _now: datetime, limits: Mapping[str, Any]) -> bool:
    limit = _in_currency(s, limits)
    return (
        limit is not None and s.visits > 0 and s.total_spend is not None and s.total_spend / s.visits <= limit
    )


def _spend_at_least(s: Stats, _now: datetime, limits: Mapping[str, Any]) -> bool:
    limit = _in_currency(s, limits)
    return limit is not None and s.total_spend is not None and s.total_spend >= limit


_CONDITIONS = {
    "visits_at_least": lambda s, now, n: s.visits >= n,
    "visits_at_most": lambda s, now, n: s.visits <= n,
    "categories_at_least": lambda s, now, m: sum(s.categories.get(c, 0) for c in m) >= min(m.values()),
    "services_at_least": lambda s, now, m: sum(s.service_codes.get(c, 0) for c in m) >= min(m.values()),
    "spend_at_least": _spend_at_least,
    "avg_spend_at_most": _avg_spend_at_most,
    "last_visit_days_at_least": lambda s, now, n: (
        s.last_visit_at is not None and (now - s.last_visit_at).total_seconds() >= n * 86400
    ),
    "past_own_rhythm": lambda s, now, wanted: wanted == _past_own_rhythm(s, now),
}


def _past_own_rhythm(s: Stats, now: datetime) -> bool:
    """She has a rhythm of her own (care/dormancy.py) and has stayed away longer than it."""
    if s.last_visit_at is None or not dormancy.has_own_rhythm(s.visits, s.avg_interval_days):
        return False
    days = dormancy.dormant_after_days(s.visits, s.avg_interval_days)
    return (now - s.last_visit_at).total_seconds() >= days * 86400


# --- manual tags --------------------------------------------------------------------------------------
def tag_list(value: Any, field_name: str) -> list[str]:
    """A list of valid tag names from a request body; ValidationFailed naming `field_name` otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{field_name} must be a list of tag names", {field_name: "must be a list"})
    if len(value) > MAX_TAGS:
        raise ValidationFailed(f"too many tags in {field_name}", {field_name: f"at most {MAX_TAGS} tags"})
    tags = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not TAG.match(tag.strip()):
            raise ValidationFailed(
                f"{field_name}[{i}] is not a valid tag name",
                {f"{field_name}[{i}]": "1-40 letters, digits, '_' or '-'"},
            )
        tags.append(tag.strip())
    return tags
