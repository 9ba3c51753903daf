"""The staff console: static files served by the API itself (the page then uses only the public API)."""

from chalice import Blueprint, Response

from chalicelib.api.responses import handled, json_response
from chalicelib.console import SECURITY_HEADERS, Asset, asset

console = Blueprint(__name__)


def static_file(
    found: Asset | None,
    if_none_match: str | None,
    missing: str,
    security: dict[str, str] = SECURITY_HEADERS,
) -> Response:
    """A static file of a page served by the API (the console, the booking page): its security headers and ETag,
    304 when the caller's `If-None-Match` is current, 404 (`missing`) for anything that is not one of its files."""
    if found is None:
        return json_response(404, {"error": "not_found", "message": missing})
    headers: dict[str, str | list[str]] = {
        **security,
        "Content-Type": found.content_type,
        "ETag": found.etag,
    }
    if (if_none_match or "") == found.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=found.body, status_code=200, headers=headers)


def _serve(name: str) -> Response:
    request = console.current_request
    return static_file(asset(name), request.headers.get("if-none-match"), "no such console file")


@console.route("/console", methods=["GET"])
@handled
def console_page():
    return _serve("index.html")


@console.route("/console/{name}", methods=["GET"])
@handled
def console_file(name: str):
    return _serve(name)
