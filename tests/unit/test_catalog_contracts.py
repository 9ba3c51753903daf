"""The catalogue's bodies (chalicelib/contracts/catalog.py): what is accepted, and every refusal names its field."""

from __future__ import annotations

import pytest

from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.contracts.catalog import ServiceBody, StoreBody, StylistBody, week_json
from chalicelib.contracts.validation import parse
from chalicelib.errors import ValidationFailed
from devstack.seed import STORES


def fields(model, body) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        parse(model, body, "no")
    return refused.value.fields


def test_a_store_takes_defaults_for_what_it_leaves_out():
    store = parse(StoreBody, {"name": " 花漾 ", "timezone": "Europe/London"}, "no")

    assert (store.name, store.locale, store.booking_mode) == ("花漾", "zh-CN", "external")
    assert (store.lead_minutes, store.cancel_until_minutes, store.opening_hours) == (60, 120, {})


def test_hours_are_sorted_and_may_touch_but_not_overlap():
    store = parse(
        StoreBody,
        {
            "name": "x",
            "timezone": "Asia/Shanghai",
            "opening_hours": {"sat": [["15:00", "20:00"], ["10:00", "15:00"]]},
        },
        "no",
    )

    assert week_json(store.opening_hours) == {"sat": [["10:00", "15:00"], ["15:00", "20:00"]]}
    assert fields(
        StoreBody,
        {"name": "x", "timezone": "UTC", "opening_hours": {"sat": [["10:00", "15:05"], ["15:00", "20:00"]]}},
    ) == {"opening_hours.sat": "the intervals overlap (15:00 is before 15:05)"}


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([["10:00"]], "opening_hours.mon.0.1"),
        ([["9:00", "18:00"]], "opening_hours.mon.0.0"),
        ([["10:00", "24:00"]], "opening_hours.mon.0.1"),
        ([["10:03", "18:00"]], "opening_hours.mon.0.0"),
        ([["18:00", "18:00"]], "opening_hours.mon.0"),
        ("10:00-18:00", "opening_hours.mon"),
        ([["10:00", "11:00"]] * 7, "opening_hours.mon"),
    ],
)
def test_bad_hours_name_the_day_and_the_pair(hours, field):
    assert field in fields(StoreBody, {"name": "x", "timezone": "UTC", "opening_hours": {"mon": hours}})


@pytest.mark.parametrize("zone", ["Asia/Atlantis", "asia/shanghai", "", "/etc/localtime", "../UTC"])
def test_only_iana_zones(zone):
    assert "timezone" in fields(StoreBody, {"name": "x", "timezone": zone})


@pytest.mark.parametrize("value", ["2026-12-1", "20261201", 1765000000, "2026-12-01T00:00:00", "1999-01-01"])
def test_dates_are_iso_days(value):
    assert "closed_dates.0" in fields(StoreBody, {"name": "x", "timezone": "UTC", "closed_dates": [value]})


def test_minutes_are_multiples_of_five_within_bounds():
    base = {"name": {"zh-CN": "剪", "en": "Cut"}, "category": "hair_cut"}
    assert parse(ServiceBody, {**base, "minutes": 5}, "no").minutes == 5
    for bad in (0, 3, 721, -5, 1.5, "sixty"):
        assert "minutes" in fields(ServiceBody, {**base, "minutes": bad})
    assert "buffer_minutes" in fields(ServiceBody, {**base, "minutes": 60, "buffer_minutes": 125})
    assert "lead_minutes" in fields(
        StoreBody, {"name": "x", "timezone": "UTC", "lead_minutes": 14 * 24 * 60 + 5}
    )


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("198", "198.00"),
        ("198.5", "198.50"),
        ("0", "0.00"),
        ("1.234", None),
        ("-1", None),
        ("1e3", None),
        (198, None),
    ],
)
def test_a_price_is_a_decimal_string(amount, ok):
    body = {"name": {"zh-CN": "剪", "en": "Cut"}, "category": "hair_cut", "minutes": 60}
    price = {"amount": amount, "currency": "CNY"}
    if ok:
        assert parse(ServiceBody, {**body, "price": price}, "no").price.amount == ok  # type: ignore[union-attr]
    else:
        assert "price.amount" in fields(ServiceBody, {**body, "price": price})


def test_a_service_needs_both_names():
    got = fields(ServiceBody, {"name": {"zh-CN": "剪"}, "category": "hair_cut", "minutes": 60})
    assert got == {"name.en": "Field required"}


def test_stylist_services_are_unique_ids():
    assert "services" in fields(StylistBody, {"name": "A", "services": ["a", "a"]})
    assert "services.0" in fields(StylistBody, {"name": "A", "services": ["a b"]})
    assert "services" in fields(StylistBody, {"name": "A"})
    assert parse(StylistBody, {"name": "A", "services": []}, "no").working_hours is None


def test_unknown_keys_are_refused_by_name():
    assert "colour" in fields(StylistBody, {"name": "A", "services": [], "colour": "red"})


def test_every_demo_store_is_a_valid_catalogue():
    """The seed passes the same contracts as the API, and its stylists only do the store's services."""
    for store in STORES:
        parse(StoreBody, {k: store[k] for k in StoreBody.model_fields if k in store}, store["id"])
        codes = set()
        for service in store["catalog"]["services"]:
            parse(
                ServiceBody,
                {
                    **{k: service[k] for k in ServiceBody.model_fields if k != "name"},
                    "name": service["names"],
                },
                service["code"],
            )
            codes.add(service["code"])
        for stylist in store["catalog"]["stylists"]:
            parse(
                StylistBody, {k: stylist[k] for k in StylistBody.model_fields if k in stylist}, stylist["id"]
            )
            assert set(stylist["services"]) <= codes, stylist["id"]
    assert [s["booking_mode"] for s in STORES] == ["chairside", "external", "external"]
    assert {s["catalog"]["services"][0]["price"]["currency"] for s in STORES} == {"CNY", "GBP", "USD"}


def test_the_seed_reads_through_the_one_reader():
    class Item:
        store_id, chain_id = "sh-jingan", "demo-chain"

    first = STORES[0]
    item = Item()
    for key in (
        "name",
        "timezone",
        "locale",
        "address",
        "phone",
        "booking_mode",
        "opening_hours",
        "closed_dates",
        "lead_minutes",
        "cancel_until_minutes",
        "catalog",
    ):
        setattr(item, key, first[key])
    catalog = StoreCatalog.of(item)

    assert catalog.self_booking and catalog.service("cut-wash").blocked_minutes == 75  # type: ignore[union-attr]
    assert [s.id for s in catalog.stylists_for("gel-french")] == ["sh-lina"]
