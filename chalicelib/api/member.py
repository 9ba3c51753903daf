"""Member routes: the member's bearer token becomes a `Member` here, before the view runs.

    @member_route(self_booking, "/v1/stores/{store_id}/me/bookings", methods=["GET"])
    def my_bookings(member: Member, store_id: str): ...

A missing or bad token (a staff token included) answers 401 and the view never runs. Whether the member may see
the store (its chain must be hers) is the service's to decide from the `Member` it is given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.request import body_bytes, decode
from chalicelib.api.responses import handled
from chalicelib.bootstrap import container
from chalicelib.errors import Unauthorized
from chalicelib.services.member_tokens import Member

JSON_TYPES = ["application/json", "text/plain"]
# Every (method, path) registered with `member_route`: the isolation tests refuse a staff token on each of them,
# and leave them out of the staff matrix (tests/integration/test_isolation.py).
MEMBER_ROUTES: set[tuple[str, str]] = set()


def member_of(authorization: str | None) -> Member:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("a member bearer token is required")
    return container().member_tokens.verify(authorization.removeprefix("Bearer ").strip())


def member_route(
    blueprint: Blueprint, path: str, *, methods: list[str], body: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view(member, [body,] **path_params)` as a member route of `blueprint` (bodies are JSON)."""
    options = {"content_types": JSON_TYPES} if body else {}

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def route(**params: str) -> Response | dict:
            request = blueprint.current_request
            parsed = decode(body_bytes(request)) if body else None
            member = member_of(request.headers.get("authorization"))
            return view(member, parsed, **params) if body else view(member, **params)

        blueprint.route(path, methods=methods, **options)(handled(route))
        MEMBER_ROUTES.update((method, path) for method in methods)
        return view

    return register
