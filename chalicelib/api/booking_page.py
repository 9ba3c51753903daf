"""The member's booking page: `/book/{store}` and its files, served by the API itself (the page then uses only
the public and member routes). The same page serves every store; it reads the store's catalogue itself."""

from chalice import Blueprint, Response

from chalicelib.api.responses import handled, json_response
from chalicelib.booking_page import asset
from chalicelib.console import SECURITY_HEADERS
from chalicelib.ids import is_id

booking_page = Blueprint(__name__)


def _serve(name: str) -> Response:
    found = asset(name)
    if found is None:
        return json_response(404, {"error": "not_found", "message": "no such booking page file"})
    headers: dict[str, str | list[str]] = {
        **SECURITY_HEADERS,
        "Content-Type": found.content_type,
        "ETag": found.etag,
    }
    if (booking_page.current_request.headers.get("if-none-match") or "") == found.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=found.body, status_code=200, headers=headers)


@booking_page.route("/book/{store_id}", methods=["GET"])
@handled
def booking_page_for(store_id: str):
    if not is_id(store_id):
        return json_response(404, {"error": "not_found", "message": "no such store"})
    return _serve("index.html")


@booking_page.route("/book/assets/{name}", methods=["GET"])
@handled
def booking_page_file(name: str):
    return _serve(name)
