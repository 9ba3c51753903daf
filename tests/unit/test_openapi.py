"""docs/openapi.yaml is a valid OpenAPI description of exactly the routes the Chalice app registers.

The routes are read in a subprocess: registering the blueprints on a second Chalice app in this process would
rebind them (a Blueprint serves the last app it was registered on), and `app` must be imported with the
environment the integration harness gives it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_ROUTES = """
import json
from app import app
print(json.dumps([
    {"method": method, "path": path, "content_types": entry.content_types, "view_args": entry.view_args}
    for path, methods in app.routes.items() for method, entry in methods.items()
]))
"""


@cache
def spec() -> dict:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


@cache
def app_routes(local: bool) -> dict[tuple[str, str], dict]:
    env = {k: v for k, v in os.environ.items() if k != "CHAIRSIDE_LOCAL_DIR"}
    if local:
        env["CHAIRSIDE_LOCAL_DIR"] = str(ROOT / ".chairside-openapi-test")  # only read, never created
    out = subprocess.run(
        [sys.executable, "-c", _ROUTES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {(r["method"], r["path"]): r for r in json.loads(out.strip().splitlines()[-1])}


def operations() -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in spec()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_spec_is_valid_openapi():
    validate(spec())
    assert spec()["openapi"].startswith("3.")


def test_the_spec_describes_exactly_the_routes_of_the_local_stack():
    documented, registered = set(operations()), set(app_routes(local=True))
    assert documented - registered == set(), "documented but not routed"
    assert registered - documented == set(), "routed but not in docs/openapi.yaml"


def test_local_only_routes_are_tagged_local_and_the_rest_exist_everywhere():
    deployed = set(app_routes(local=False))
    tagged_local = {key for key, op in operations().items() if "local" in op.get("tags", [])}
    assert tagged_local == set(app_routes(local=True)) - deployed
    assert all(path.startswith("/v1/_local/") for _, path in tagged_local)


def _parameters(path: str, operation: dict) -> list[dict]:
    resolved = []
    for parameter in spec()["paths"][path].get("parameters", []) + operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = spec()["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        resolved.append(parameter)
    return resolved


@pytest.mark.parametrize("key", sorted(operations()), ids=lambda k: f"{k[0]} {k[1]}")
def test_each_operation_matches_its_route(key):
    method, path = key
    operation, route = operations()[key], app_routes(local=True)[key]
    path_params = {p["name"] for p in _parameters(path, operation) if p["in"] == "path"}
    assert path_params == set(route["view_args"])
    # The media types a body may be sent as are the route's content_types (give or take a charset).
    accepted = {t.split(";")[0].strip() for t in route["content_types"]}
    body_types = set(operation.get("requestBody", {}).get("content", {}))
    assert body_types <= accepted, f"documented but refused with 415: {body_types - accepted}"
    if body_types:
        assert accepted <= body_types, f"accepted but not documented: {accepted - body_types}"
    responses = operation["responses"]
    assert "415" in responses  # Chalice refuses other content types on every route
    assert "500" not in responses
    if path != "/v1/health":
        assert "503" in responses  # every @handled route's safety net
    # (the booking page's file is the same for every store and reads none: the page then calls the store's routes)
    store_read = "store_id" in path_params and not path.startswith("/book/")
    # Alibaba's SmsUp push names no store: a reply finds its member by her number in this region's table, so its
    # store is always one this region serves (a number booked in another region is not known here).
    by_lookup_only = path == "/v1/channels/alibaba-sms/{chain_id}/replies"
    if (store_read or path.startswith(("/v1/webhooks/", "/v1/channels/"))) and not by_lookup_only:
        assert "421" in responses  # a store served by another region (StoreDirectory.get)
    if any("staffBearer" in requirement for requirement in operation.get("security", [])):
        assert {"401", "403", "404"} <= set(responses)
