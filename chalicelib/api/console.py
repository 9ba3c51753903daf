"""The staff console: static files served by the API itself (the page then uses only the public API)."""

from chalice import Blueprint, Response

from chalicelib.api.responses import handled, json_response
from chalicelib.console import SECURITY_HEADERS, asset

console = Blueprint(__name__)


def _serve(name: str) -> Response:
    found = asset(name)
    if found is None:
        return json_response(404, {"error": "not_found", "message": "no such console file"})
    headers: dict[str, str | list[str]] = {
        **SECURITY_HEADERS,
        "Content-Type": found.content_type,
        "ETag": found.etag,
    }
    if (console.current_request.headers.get("if-none-match") or "") == found.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=found.body, status_code=200, headers=headers)


@console.route("/console", methods=["GET"])
@handled
def console_page():
    return _serve("index.html")


@console.route("/console/{name}", methods=["GET"])
@handled
def console_file(name: str):
    return _serve(name)
