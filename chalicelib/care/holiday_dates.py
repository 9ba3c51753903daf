"""When a holiday of holidays.toml falls in a year, computed rather than typed, so greetings never run out.

A holiday is one of:
- `month_day = "12-25"`: the same Gregorian day every year;
- `lunar = "08-15"`: a day of the Chinese lunisolar calendar (春节 01-01, 七夕 07-07, 中秋 08-15), converted with
  `lunardate` (valid 1900-2099) -- the occurrence that falls in the Gregorian year asked for;
- `public = {country = "CN", holiday = "National Day"}`: a public holiday of that country as the maintained
  `holidays` library has it (its English name), so moving holidays (Thanksgiving, Easter Monday) are right; it
  applies only to stores in that country (the store's time zone's country, from tzdata's zone.tab);
- `dates = ["2027-03-01", ...]`: a chain's own one-off dates.

Both libraries are imported on first use: only the daily care tick needs them, never the API.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import Any


def holiday_on(holiday: dict[str, Any], year: int) -> date | None:
    """The holiday's date in `year`, or None when it has none that year."""
    if "month_day" in holiday:
        month, day = (int(part) for part in holiday["month_day"].split("-"))
        return date(year, month, day)
    if "lunar" in holiday:
        month, day = (int(part) for part in holiday["lunar"].split("-"))
        return lunar_on(month, day, year)
    if "public" in holiday:
        return public_on(holiday["public"]["country"], holiday["public"]["holiday"], year)
    found = [date.fromisoformat(d) for d in holiday.get("dates", []) if d.startswith(f"{year}-")]
    return found[0] if found else None


def applies_to(holiday: dict[str, Any], store_locale: str, store_timezone: str) -> bool:
    """Whether a store greets this holiday: its `store_locales`, and a public holiday only in its own country."""
    if holiday.get("store_locales") and store_locale not in holiday["store_locales"]:
        return False
    if "public" in holiday:
        return country_of(store_timezone) == holiday["public"]["country"]
    return True


@functools.cache
def lunar_on(month: int, day: int, year: int) -> date | None:
    """The Gregorian date in `year` of lunar `month`-`day` (of the lunar year starting in it, or of the one before,
    for a late-winter day), or None when the lunar month has no such day that year."""
    from lunardate import LunarDate  # type: ignore[import-untyped]

    for lunar_year in (year, year - 1):
        try:
            solar: date = LunarDate(lunar_year, month, day).to_solar_date()
        except ValueError:  # a 30th in a 29-day month, or a year outside 1900-2099
            continue
        if solar.year == year:
            return solar
    return None


@functools.cache
def public_on(country: str, name: str, year: int) -> date | None:
    """The first day named `name` (in English) among `country`'s public holidays of `year`."""
    import holidays

    calendar = holidays.country_holidays(country, years=year, language="en_US")
    days = sorted(day for day, names in calendar.items() if name in names.split("; "))
    return days[0] if days else None


@functools.cache
def country_of(timezone: str) -> str | None:
    """The ISO country code of an IANA time zone ("Asia/Shanghai" -> "CN"), from tzdata's zone.tab."""
    return _zone_countries().get(timezone)


@functools.cache
def _zone_countries() -> dict[str, str]:
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    countries: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _, zone = line.split("\t")[:3]
            countries[zone] = code
    return countries
