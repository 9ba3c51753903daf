from chalice import Blueprint

from chalicelib.api.responses import handled
from chalicelib.bootstrap import container
from chalicelib.services.local_controls import decode

bookings = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/bookings"
JSON_TYPES = ["application/json", "text/plain"]


def _auth() -> str | None:
    return bookings.current_request.headers.get("authorization")


@bookings.route(BASE, methods=["GET"])
@handled
def store_day(store_id: str):
    day = (bookings.current_request.query_params or {}).get("date")
    return container().staff_bookings.day(_auth(), store_id, day)


@bookings.route(BASE + "/{booking_id}", methods=["GET"])
@handled
def booking_timeline(store_id: str, booking_id: str):
    return container().staff_bookings.timeline(_auth(), store_id, booking_id)


@bookings.route(BASE + "/{booking_id}/status", methods=["POST"], content_types=JSON_TYPES)
@handled
def mark_booking(store_id: str, booking_id: str):
    body = decode(bookings.current_request.raw_body)
    return container().staff_bookings.mark(_auth(), store_id, booking_id, body)
