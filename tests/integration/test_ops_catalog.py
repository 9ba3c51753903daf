"""`python -m ops.catalog import FILE.csv` against the in-process API on moto: a good file, bad rows, twice."""

from __future__ import annotations

import io
import json
from pathlib import Path

from chalicelib.catalog.store_catalog import StoreCatalog
from chalicelib.dal.models import StoreItem
from ops import catalog as ops_catalog

SAMPLE = Path(__file__).resolve().parents[2] / "ops" / "samples" / "catalog.csv"


def sender(harness, token: str | None = None):
    def send(method: str, path: str, body: dict) -> tuple[int, object]:
        response = harness.client.http.request(
            method,
            path,
            headers={
                "Authorization": f"Bearer {token or harness.chain['staff_token']}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body, ensure_ascii=False).encode(),
        )
        return response.status_code, json.loads(response.body) if response.body else None

    return send


def run(harness, path: Path, token: str | None = None) -> tuple[int, str, str]:
    err, out = io.StringIO(), io.StringIO()
    status = ops_catalog.run(path, "demo-chain", sender(harness, token), err=err, out=out)
    return status, out.getvalue(), err.getvalue()


def test_the_sample_loads_a_new_store_and_a_second_run_changes_nothing(harness):
    status, out, err = run(harness, SAMPLE)

    assert status == 0, err
    assert "loaded: 9 row(s) (9 created); rejected: 0" in out
    assert "[" + "#" * 30 + "] 9/9" in err  # the progress bar, on stderr
    store = StoreItem.get(*StoreItem.key("sh-xuhui"), consistent_read=True)
    catalog = StoreCatalog.of(store)
    assert catalog.self_booking and [s.code for s in catalog.services][:2] == ["cut-wash", "colour-full"]
    assert catalog.service("gel-french").price == {"amount": "268.00", "currency": "CNY"}  # type: ignore[union-attr]
    xiaomei = catalog.stylist("xh-xiaomei")
    assert xiaomei is not None and [str(t) for pair in xiaomei.working_hours["sat"] for t in pair] == [  # type: ignore[index]
        "10:00:00",
        "14:00:00",
        "15:00:00",
        "21:00:00",
    ]
    version = store.catalog_version
    care = harness.session.client("scheduler").get_schedule(
        Name="care-sh-xuhui", GroupName=harness.container.settings.care_schedule_group
    )
    assert care["ScheduleExpressionTimezone"] == "Asia/Shanghai"

    again = run(harness, SAMPLE)

    assert again[0] == 0 and "9 set (updated or unchanged)" in again[1]
    after = StoreItem.get(*StoreItem.key("sh-xuhui"), consistent_read=True)
    assert after.catalog_version == version and after.catalog == store.catalog


BAD = """kind,store,id,name,name_en,timezone,hours,category,minutes,price,currency,services,active
service,sh-new,cut,剪发,Cut,,,hair_cut,60,120.00,CNY,,
store,sh-new,,花漾·新店,,Asia/Shanghai,mon-sun 10:00-21:00,,,,,,
service,sh-new,perm,烫发,,,,perm,150,580.00,CNY,,
service,sh-new,colour,染发,Colour,,,hair_colour,62,380.00,CNY,,
stylist,sh-new,nx-a,阿东,,,tue-sat 10:00-19:00,,,,,cut perm,
stylist,sh-new,nx-b,Bella,,,fri-mon 10:00-19:00,,,,,cut,
store,sh-bad,,Bad store,,Mars/Olympus,,,,,,,
thing,sh-new,x,?,,,,,,,,,
stylist,ldn-soho,nx-c,Cara,,,,,,,,cut,
service,sh-new,wash,洗发,Wash,Asia/Shanghai,,hair_care,30,50.00,CNY,,
"""


def test_bad_rows_are_reported_with_line_and_reason_and_the_good_ones_load(harness, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD, encoding="utf-8")

    status, out, err = run(harness, path)

    assert status == 1
    rejected = {
        int(line.split(":")[0].removeprefix("line ")): line for line in err.splitlines() if "rejected" in line
    }
    assert sorted(rejected) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert "name_en" in rejected[4]  # the English name is missing
    assert "minutes" in rejected[5]
    assert "services" in rejected[6] and "perm" in rejected[6]  # perm was itself rejected: not the store's
    assert "hours" in rejected[7]  # fri-mon runs backwards
    assert "timezone" in rejected[8]
    assert "kind" in rejected[9]
    assert "HTTP 400" in rejected[10] and "services" in rejected[10]  # ldn-soho has no service `cut`
    assert "timezone" in rejected[11] and "not a service column" in rejected[11]
    assert "loaded: 2 row(s) (2 created); rejected: 8" in out
    catalog = StoreCatalog.of(StoreItem.get(*StoreItem.key("sh-new"), consistent_read=True))
    assert [s.code for s in catalog.services] == ["cut"] and catalog.stylists == ()

    assert run(harness, path)[0] == 1  # the same answer the second time
    catalog = StoreCatalog.of(StoreItem.get(*StoreItem.key("sh-new"), consistent_read=True))
    assert [s.code for s in catalog.services] == ["cut"]


def test_a_store_manager_cannot_add_stores_from_a_file(harness):
    status, out, err = run(harness, SAMPLE, token=harness.chain["store_tokens"]["sh-jingan"])

    assert status == 1 and "line 2: rejected: HTTP 404" in err
    assert "rejected: 9" in out  # the store was refused, so were its services and stylists
