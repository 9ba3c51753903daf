"""When a member counts as staying away: the one rule both the reactivation ("we miss you") and the time-based
tags read, from always_on.toml's [reactivation] (kept apart from always_on.py so the profile rules, which run on
every booking event, do not import the care tick)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any


@functools.cache
def reactivation_rules() -> dict[str, Any]:
    with (Path(__file__).resolve().parent / "always_on.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["reactivation"])


def dormant_after_days(
    visits: int, avg_interval_days: float | None, rules: dict[str, Any] | None = None
) -> int:
    """Her own average interval once she has enough visits (within min..max), else the default."""
    rules = rules or reactivation_rules()
    if visits >= rules["personal_after_visits"] and avg_interval_days:
        return int(min(max(round(float(avg_interval_days)), rules["min_days"]), rules["max_days"]))
    return int(rules["default_days"])


def has_own_rhythm(visits: int, avg_interval_days: float | None, rules: dict[str, Any] | None = None) -> bool:
    rules = rules or reactivation_rules()
    return visits >= rules["personal_after_visits"] and bool(avg_interval_days)
