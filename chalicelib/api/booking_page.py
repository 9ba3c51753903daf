"""The member's booking page: `/book/{store}` and its files, served by the API itself (the page then uses only
the public and member routes). The same page serves every store; it reads the store's catalogue itself."""

from chalice import Blueprint, Response

from chalicelib.api.console import static_file
from chalicelib.api.responses import handled, json_response
from chalicelib.booking_page import BOOKING_PAGE_HEADERS, asset
from chalicelib.ids import is_id

booking_page = Blueprint(__name__)


def _serve(name: str) -> Response:
    request = booking_page.current_request
    missing = "no such booking page file"
    return static_file(asset(name), request.headers.get("if-none-match"), missing, BOOKING_PAGE_HEADERS)


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
