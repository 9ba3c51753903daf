"""The catalogue routes on moto (issue 14): a chain sets up stores, services and stylists; anyone reads them."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.dal.models import StoreItem
from chalicelib.services.auth import issue_token

SECRET = "test-jwt-secret-of-at-least-32-bytes!"
CHAIN = "demo-chain"

NEW_STORE = {
    "name": "花漾·徐汇店",
    "timezone": "Asia/Shanghai",
    "locale": "zh-CN",
    "address": "上海市徐汇区淮海中路999号",
    "phone": "+862164000000",
    "booking_mode": "chairside",
    "opening_hours": {"mon": [["10:00", "21:00"]], "sat": [["10:00", "14:00"], ["15:00", "20:00"]]},
    "closed_dates": ["2027-02-17"],
    "lead_minutes": 60,
    "cancel_until_minutes": 120,
}
SERVICE = {
    "name": {"zh-CN": "男士快剪", "en": "Express cut"},
    "category": "hair_cut",
    "minutes": 30,
    "buffer_minutes": 10,
    "price": {"amount": "88", "currency": "CNY"},
    "active": True,
}
STYLIST = {
    "name": "小周",
    "services": ["cut-wash", "care-repair"],
    "working_hours": {"tue": [["10:00", "19:00"]], "wed": [["12:00", "21:00"]]},
    "days_off": ["2026-12-24"],
    "active": True,
}


def token(role: str, stores: list[str], chain: str = CHAIN) -> str:
    return issue_token(
        SECRET,
        subject=f"t-{role}",
        chain_id=chain,
        role=role,
        store_ids=stores,
        now=datetime.now(UTC),
    )


def put(harness: Any, path: str, body: Any, tok: str | None = None) -> tuple[int, Any]:
    response = harness.client.http.put(
        path,
        headers={
            "Authorization": f"Bearer {tok or harness.chain['staff_token']}",
            "Content-Type": "application/json",
        },
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    return response.status_code, json.loads(response.body) if response.body else None


def get(harness: Any, path: str) -> tuple[int, Any]:
    response = harness.client.http.get(path)
    return response.status_code, json.loads(response.body) if response.body else None


def stored(store_id: str) -> StoreItem:
    return StoreItem.get(*StoreItem.key(store_id), consistent_read=True)


# --- stores ------------------------------------------------------------------------------------------------


def test_a_chain_admin_adds_a_store_with_its_care_schedule_and_channels(harness):
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-xuhui", NEW_STORE)

    assert status == 201, body
    assert body["id"] == "sh-xuhui" and body["chain_id"] == CHAIN
    assert body["opening_hours"] == NEW_STORE["opening_hours"]
    assert body["booking_mode"] == "chairside" and body["catalog_version"] == 1
    item = stored("sh-xuhui")
    assert (item.gsi1pk, item.gsi1sk) == ("CHAINSTORES#demo-chain", "sh-xuhui")
    assert "sh-xuhui" in [s.store_id for s in StoreItem.by_chain.query("CHAINSTORES#demo-chain")]
    scheduler = harness.session.client("scheduler")
    care = scheduler.get_schedule(
        Name="care-sh-xuhui", GroupName=harness.container.settings.care_schedule_group
    )
    assert care["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    wechat = json.loads(
        harness.session.client("secretsmanager").get_secret_value(
            SecretId=f"chairside/{harness.env['CHAIRSIDE_STAGE']}/stores/sh-xuhui/wechat"
        )["SecretString"]
    )
    assert wechat["app_id"] == "wx-demo-chain" and len(wechat["token"]) == 16
    assert wechat["token"] not in [s["wechat_token"] for s in harness.chain["stores"]]


def test_the_same_store_put_twice_changes_nothing(harness):
    put(harness, f"/v1/chains/{CHAIN}/stores/sh-xuhui", NEW_STORE)
    token_before = harness.session.client("secretsmanager").get_secret_value(
        SecretId=f"chairside/{harness.env['CHAIRSIDE_STAGE']}/stores/sh-xuhui/wechat"
    )["SecretString"]

    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-xuhui", NEW_STORE)

    assert status == 200 and body["catalog_version"] == 1
    assert stored("sh-xuhui").catalog_version == 1
    assert (
        harness.session.client("secretsmanager").get_secret_value(
            SecretId=f"chairside/{harness.env['CHAIRSIDE_STAGE']}/stores/sh-xuhui/wechat"
        )["SecretString"]
        == token_before
    )


def test_a_timezone_change_moves_the_care_schedule_and_keeps_the_catalogue(harness):
    status, body = put(
        harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", {**NEW_STORE, "timezone": "Asia/Hong_Kong"}
    )

    assert status == 200, body
    assert body["timezone"] == "Asia/Hong_Kong"
    care = harness.session.client("scheduler").get_schedule(
        Name="care-sh-jingan", GroupName=harness.container.settings.care_schedule_group
    )
    assert care["ScheduleExpressionTimezone"] == "Asia/Hong_Kong"
    item = stored("sh-jingan")
    assert item.directions and item.sms_number  # what the PUT does not set is kept
    assert [s["code"] for s in item.catalog["services"]][:2] == ["cut-wash", "colour-full"]


def test_a_locale_change_renames_services_in_the_stores_language(harness):
    put(harness, "/v1/stores/sh-jingan/services/cut-quick", SERVICE)

    put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", {**NEW_STORE, "locale": "en"})

    quick = next(s for s in stored("sh-jingan").catalog["services"] if s["code"] == "cut-quick")
    assert quick["name"] == "Express cut"


def test_a_store_manager_updates_its_own_store_only(harness):
    manager = harness.chain["store_tokens"]["sh-jingan"]

    assert put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", NEW_STORE, manager)[0] == 200
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/ldn-soho", NEW_STORE, manager)
    assert (status, body["error"]) == (404, "not_found")
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-new", NEW_STORE, manager)
    assert status == 404
    assert StoreItem.count("STORE#sh-new") == 0


@pytest.mark.parametrize("role", ["stylist", "front_desk"])
def test_staff_below_manager_may_not_change_the_catalogue(harness, role):
    tok = harness.chain["role_tokens"][role]

    for path, body in (
        (f"/v1/chains/{CHAIN}/stores/sh-jingan", NEW_STORE),
        ("/v1/stores/sh-jingan/services/cut-quick", SERVICE),
        ("/v1/stores/sh-jingan/stylists/sh-zhou", STYLIST),
    ):
        status, answer = put(harness, path, body, tok)
        assert (status, answer["error"], answer["action"]) == (403, "forbidden", "catalog.write")


def test_a_store_manager_may_not_add_a_store_it_is_named_for(harness):
    tok = token("store_manager", ["sh-planned"])

    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-planned", NEW_STORE, tok)

    assert (status, body["action"]) == (403, "catalog.create_store")


def test_another_chain_cannot_see_or_take_a_store(harness):
    other = token("chain_admin", [], chain="other-chain")

    assert put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", NEW_STORE, other)[0] == 404
    assert put(harness, "/v1/chains/other-chain/stores/sh-jingan", NEW_STORE, other)[0] == 404
    assert put(harness, "/v1/stores/sh-jingan/services/x", SERVICE, other)[0] == 404
    assert stored("sh-jingan").chain_id == CHAIN and stored("sh-jingan").name == "花漾·静安店"


def test_no_token_is_401(harness):
    response = harness.client.http.put(
        f"/v1/chains/{CHAIN}/stores/sh-jingan",
        headers={"Content-Type": "application/json"},
        body=json.dumps(NEW_STORE).encode(),
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Asia/Atlantis"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"opening_hours": {"monday": [["10:00", "21:00"]]}}, "opening_hours.monday.[key]"),
        ({"opening_hours": {"mon": [["21:00", "10:00"]]}}, "opening_hours.mon.0"),
        ({"opening_hours": {"mon": [["10:00", "14:00"], ["13:00", "18:00"]]}}, "opening_hours.mon"),
        ({"opening_hours": {"mon": [["10:00", "25:00"]]}}, "opening_hours.mon.0.1"),
        ({"closed_dates": ["2026-02-30"]}, "closed_dates.0"),
        ({"lead_minutes": 7}, "lead_minutes"),
        ({"cancel_until_minutes": -5}, "cancel_until_minutes"),
        ({"booking_mode": "walk-in"}, "booking_mode"),
        ({"locale": "fr"}, "locale"),
        ({"phone": "021 6288"}, "phone"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_store_names_its_field(harness, change, field):
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", {**NEW_STORE, **change})

    assert status == 400, body
    assert field in body["fields"], body


def test_a_bad_store_id_is_400_and_a_missing_name_too(harness):
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/bad%20id", NEW_STORE)
    assert status in (400, 404), body
    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", {"timezone": "Asia/Shanghai"})
    assert (status, list(body["fields"])) == (400, ["name"])


def test_a_store_served_in_another_region_is_421_not_created_here(harness):
    from chalicelib.dal.regions import RegionDirectoryRepository, ServedElsewhere

    RegionDirectoryRepository(harness.session.client("dynamodb"), harness.container.settings.main_table).put(
        ServedElsewhere("hk-central", CHAIN, "ap-east-1", "https://api-hk.chairside.example/api/"),
        datetime.now(UTC),
    )

    status, body = put(harness, f"/v1/chains/{CHAIN}/stores/hk-central", NEW_STORE)

    assert (status, body["region"]) == (421, "ap-east-1")
    assert StoreItem.count("STORE#hk-central") == 0
    assert get(harness, "/v1/stores/hk-central/catalog")[0] == 421


# --- services and stylists ---------------------------------------------------------------------------------


def test_a_service_is_added_then_updated_then_put_again_unchanged(harness):
    version = stored("sh-jingan").catalog_version

    status, body = put(harness, "/v1/stores/sh-jingan/services/cut-quick", SERVICE)
    assert status == 201, body
    assert body["name"] == {"zh-CN": "男士快剪", "en": "Express cut"}
    assert body["price"] == {"amount": "88.00", "currency": "CNY"} and body["buffer_minutes"] == 10

    status, body = put(harness, "/v1/stores/sh-jingan/services/cut-quick", {**SERVICE, "minutes": 45})
    assert (status, body["minutes"]) == (200, 45)
    again = put(harness, "/v1/stores/sh-jingan/services/cut-quick", {**SERVICE, "minutes": 45})

    assert again == (200, body)
    catalog = StoreCatalog.of(stored("sh-jingan"))
    quick = catalog.service("cut-quick")
    assert quick is not None and quick.name == "男士快剪" and quick.blocked_minutes == 55
    assert stored("sh-jingan").catalog_version == (version or 0) + 2


def test_a_store_manager_sets_services_and_stylists_of_its_own_store_only(harness):
    manager = harness.chain["store_tokens"]["sh-jingan"]

    assert put(harness, "/v1/stores/sh-jingan/services/cut-quick", SERVICE, manager)[0] == 201
    assert put(harness, "/v1/stores/sh-jingan/stylists/sh-zhou", STYLIST, manager)[0] == 201
    assert put(harness, "/v1/stores/ldn-soho/services/cut-quick", SERVICE, manager)[0] == 404
    assert put(harness, "/v1/stores/ldn-soho/stylists/ldn-x", {**STYLIST, "services": []}, manager)[0] == 404
    assert put(harness, "/v1/stores/nowhere/services/cut-quick", SERVICE)[0] == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": {"zh-CN": "快剪"}}, "name.en"),
        ({"name": "快剪"}, "name"),
        ({"category": "Hair Cut"}, "category"),
        ({"minutes": 32}, "minutes"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": 24 * 60}, "minutes"),
        ({"buffer_minutes": 500}, "buffer_minutes"),
        ({"price": {"amount": 88, "currency": "CNY"}}, "price.amount"),
        ({"price": {"amount": "8.8.8", "currency": "CNY"}}, "price.amount"),
        ({"price": {"amount": "88", "currency": "yuan"}}, "price.currency"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_a_bad_service_names_its_field(harness, change, field):
    status, body = put(harness, "/v1/stores/sh-jingan/services/cut-quick", {**SERVICE, **change})

    assert status == 400, body
    assert field in body["fields"], body


def test_a_stylist_is_upserted_and_keeps_her_id(harness):
    status, body = put(harness, "/v1/stores/sh-jingan/stylists/sh-amy", STYLIST)

    assert status == 200, body  # sh-amy was seeded
    assert body["working_hours"] == STYLIST["working_hours"] and body["services"] == STYLIST["services"]
    catalog = StoreCatalog.of(stored("sh-jingan"))
    amy = catalog.stylist("sh-amy")
    assert amy is not None and amy.does("cut-wash") and not amy.does("colour-full")
    assert [s.id for s in catalog.stylists].count("sh-amy") == 1
    assert put(harness, "/v1/stores/sh-jingan/stylists/sh-amy", STYLIST) == (200, body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"services": ["cut-wash", "no-such-service"]}, "services"),
        ({"services": ["cut-wash", "cut-wash"]}, "services"),
        ({"services": ["bad code"]}, "services.0"),
        ({"working_hours": {"tue": [["19:00", "10:00"]]}}, "working_hours.tue.0"),
        ({"working_hours": {"tue": [["10:00", "12:00"], ["11:00", "13:00"]]}}, "working_hours.tue"),
        ({"working_hours": {"tues": [["10:00", "12:00"]]}}, "working_hours.tues.[key]"),
        ({"days_off": ["24/12/2026"]}, "days_off.0"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_stylist_names_its_field(harness, change, field):
    status, body = put(harness, "/v1/stores/sh-jingan/stylists/sh-zhou", {**STYLIST, **change})

    assert status == 400, body
    assert field in body["fields"], body
    assert StoreCatalog.of(stored("sh-jingan")).stylist("sh-zhou") is None


def test_concurrent_upserts_lose_no_entry(harness, monkeypatch):
    """Eight writers of one store at once. Each DynamoDB request is atomic, as on AWS: moto's in-process mock is
    not (a check and its write can interleave across threads), so requests are served one at a time here, as
    devstack/moto_server.py serves them locally."""
    from moto.core.botocore_stubber import BotocoreStubber

    one_at_a_time = threading.Lock()
    serve = BotocoreStubber.__call__

    def serialized(self, *args, **kwargs):
        with one_at_a_time:
            return serve(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
    codes = [f"svc-{i}" for i in range(8)]
    answers: list[int] = []

    errors: list[BaseException] = []

    def add(code: str) -> None:
        try:
            answers.append(
                harness.container.catalogue.put_service(_admin(harness), "sh-jingan", code, SERVICE)[0]
            )
        except BaseException as exc:  # noqa: BLE001 - a thread's failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and answers == [201] * len(codes)
    stored_codes = [s["code"] for s in stored("sh-jingan").catalog["services"]]
    assert all(stored_codes.count(code) == 1 for code in codes)


def test_a_lost_race_is_retried_on_the_fresh_version(harness):
    """The other writer commits between this write's read and its conditional update: nothing is lost."""
    from chalicelib.contracts.catalog import ServiceBody
    from chalicelib.dal.catalogue import CatalogueRepository

    repo = CatalogueRepository()
    raced = []

    def guard(item: StoreItem | None) -> None:
        if not raced:  # first attempt: someone else writes after our read
            raced.append(True)
            repo.put_service("sh-jingan", "svc-other", ServiceBody.model_validate(SERVICE), lambda _i: None)

    written = repo.put_service("sh-jingan", "svc-mine", ServiceBody.model_validate(SERVICE), guard)

    codes = [s["code"] for s in stored("sh-jingan").catalog["services"]]
    assert "svc-mine" in codes and "svc-other" in codes and written.created


def _admin(harness: Any):
    from chalicelib.services.auth import HS256Verifier

    return HS256Verifier(SECRET).verify(harness.chain["staff_token"])


# --- the public read ---------------------------------------------------------------------------------------


def test_the_public_catalog_shows_active_entries_without_a_token(harness):
    put(harness, f"/v1/chains/{CHAIN}/stores/sh-jingan", {**NEW_STORE, "name": "花漾·静安店"})
    put(harness, "/v1/stores/sh-jingan/services/cut-quick", SERVICE)
    put(harness, "/v1/stores/sh-jingan/services/old-perm", {**SERVICE, "active": False})
    put(harness, "/v1/stores/sh-jingan/stylists/sh-zhou", {**STYLIST, "services": ["cut-quick", "cut-wash"]})
    put(harness, "/v1/stores/sh-jingan/stylists/sh-gone", {**STYLIST, "active": False})

    status, body = get(harness, "/v1/stores/sh-jingan/catalog")

    assert status == 200, body
    assert body["store"] == {
        "id": "sh-jingan",
        "name": "花漾·静安店",
        "timezone": "Asia/Shanghai",
        "address": NEW_STORE["address"],
        "opening_hours": NEW_STORE["opening_hours"],
        "booking_mode": "chairside",
        "phone": NEW_STORE["phone"],
    }
    services = {s["code"]: s for s in body["services"]}
    assert "old-perm" not in services
    assert services["cut-quick"] == {
        "code": "cut-quick",
        "name": {"zh-CN": "男士快剪", "en": "Express cut"},
        "category": "hair_cut",
        "minutes": 30,
        "price": {"amount": "88.00", "currency": "CNY"},
    }
    assert set(services["cut-wash"]["name"]) == {"zh-CN", "en"}
    stylists = {s["id"]: s for s in body["stylists"]}
    assert "sh-gone" not in stylists
    assert stylists["sh-zhou"] == {"id": "sh-zhou", "name": "小周", "services": ["cut-wash", "cut-quick"]}


def test_the_public_catalog_of_an_unknown_store_is_404(harness):
    assert get(harness, "/v1/stores/nowhere/catalog")[0] == 404
    assert get(harness, "/v1/stores/bad%20id/catalog")[0] == 404


# --- a new store's channel defaults --------------------------------------------------------------------------


def test_channel_defaults_copy_the_chains_account_once_and_never_overwrite(harness):
    from chalicelib.secrets import StoreChannelDefaults

    client = harness.session.client("secretsmanager")
    stage = harness.env["CHAIRSIDE_STAGE"]
    defaults = StoreChannelDefaults(client, stage, new_token=lambda: "fresh-token-1")

    assert defaults.provision("sh-added", ["sh-added", "nyc-soho", "sh-jingan"]) is True
    added = json.loads(
        client.get_secret_value(SecretId=f"chairside/{stage}/stores/sh-added/wechat")["SecretString"]
    )
    nyc = json.loads(
        client.get_secret_value(SecretId=f"chairside/{stage}/stores/nyc-soho/wechat")["SecretString"]
    )
    assert added == {
        "app_id": nyc["app_id"],
        "app_secret": nyc["app_secret"],
        "template_ids": nyc["template_ids"],
        "templates": nyc["templates"],  # the account's template mappings (issue 15)
        "encoding_aes_key": nyc["encoding_aes_key"],  # the chain's account is in encrypted mode: no downgrade
        "token": "fresh-token-1",
    }

    again = StoreChannelDefaults(client, stage, new_token=lambda: "fresh-token-2")
    assert again.provision("sh-added", ["ldn-soho"]) is False
    kept = json.loads(
        client.get_secret_value(SecretId=f"chairside/{stage}/stores/sh-added/wechat")["SecretString"]
    )
    assert kept["token"] == "fresh-token-1"


def test_a_chain_without_wechat_gives_a_new_store_no_wechat_secret(harness):
    from chalicelib.secrets import StoreChannelDefaults

    client = harness.session.client("secretsmanager")
    stage = harness.env["CHAIRSIDE_STAGE"]

    assert StoreChannelDefaults(client, stage).provision("lonely", ["lonely", "no-such-sibling"]) is False
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_secret_value(SecretId=f"chairside/{stage}/stores/lonely/wechat")
