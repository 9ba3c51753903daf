"""The staff console's files, served by the API: exact names only, the right types, a strict CSP, revalidation;
and the local stack's demo sign-in list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.services.auth import HS256Verifier
from devstack.seed import STORES


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/console", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/i18n.js", "text/javascript"),
        ("/console/booking.js", "text/javascript"),
        ("/console/reports.js", "text/javascript"),
        ("/console/favicon.svg", "image/svg+xml"),
    ],
)
def test_console_files_are_served_with_their_type_and_a_strict_policy(harness, path, content_type):
    response = harness.client.http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    again = harness.client.http.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.body in (b"", "")


def test_the_page_runs_no_inline_script(harness):
    page = harness.client.http.get("/console").body.decode()
    assert '<script type="module" src="console/app.js"></script>' in page
    assert "<script>" not in page and " on" + "click=" not in page and "<style" not in page


@pytest.mark.parametrize("name", ["__init__.py", "missing.js", "..", "%2e%2e%2fapp.py", "index.htm"])
def test_anything_but_a_console_file_is_not_found(harness, name):
    response = harness.client.http.get(f"/console/{name}")
    assert response.status_code == 404 and json.loads(response.body)["error"] == "not_found"


def test_the_local_stack_lists_its_demo_staff_for_one_click_sign_in(harness):
    local_dir = Path(harness.env["CHAIRSIDE_LOCAL_DIR"])
    status, body = harness.staff("GET", "/v1/_local/demo-users")
    assert status == 200 and body == {"users": []}  # no local.json yet: nothing to offer

    (local_dir / "local.json").write_text(json.dumps(harness.chain), encoding="utf-8")
    status, body = harness.staff("GET", "/v1/_local/demo-users")

    users = {u["label"]: u for u in body["users"]}
    managers = {
        f"store_manager {store['id']}" for store in STORES[1:]
    }  # the first store's is "store_manager"
    assert {"demo-admin", "front_desk", "stylist", "store_manager", "chain_admin"} | managers == set(users)
    verifier = HS256Verifier(harness.env["CHAIRSIDE_JWT_SECRET"])
    assert verifier.verify(users["front_desk"]["token"]).role == "front_desk"
    assert users["demo-admin"]["stores"] == [store["id"] for store in STORES]
