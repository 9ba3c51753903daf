"""Staff routes: the bearer token becomes a `Staff` here, before the view runs.

    @staff_route(members, "/v1/stores/{store_id}/members/{member_id}", methods=["GET"])
    def member_profile(staff: Staff, store_id: str, member_id: str): ...

    @staff_route(members, ".../tags", methods=["POST"], body=True)
    def member_tags(staff: Staff, body: dict, store_id: str, member_id: str): ...

A missing or bad token answers 401 and the view never runs. What the token may do -- the store it can see (404,
or 421 for a store served in another region), the role the action needs (403) -- is the service's to decide,
from the `Staff` it is given (services/auth.py `authorize_store`, `require`). With `body=True` the JSON body is
decoded first, as the routes always did: a malformed body answers 400 whoever sends it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.request import authenticate, body_bytes, decode
from chalicelib.api.responses import handled
from chalicelib.bootstrap import container

JSON_TYPES = ["application/json", "text/plain"]


def staff_route(
    blueprint: Blueprint,
    path: str,
    *,
    methods: list[str],
    body: bool = False,
    content_types: list[str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view(staff, [body,] **path_params)` as a staff route of `blueprint` (POST routes take JSON)."""
    if content_types is None and "POST" in methods:
        content_types = JSON_TYPES
    options = {"content_types": content_types} if content_types else {}

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def route(**params: str) -> Response | dict:
            request = blueprint.current_request
            parsed = decode(body_bytes(request)) if body else None
            staff = authenticate(request.headers.get("authorization"), container().staff_verifier)
            return view(staff, parsed, **params) if body else view(staff, **params)

        blueprint.route(path, methods=methods, **options)(handled(route))
        return view

    return register


def query_param(blueprint: Blueprint, name: str) -> str | None:
    params: Mapping[str, str] = blueprint.current_request.query_params or {}
    return params.get(name)
