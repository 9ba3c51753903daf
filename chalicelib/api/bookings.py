from chalice import Blueprint

from chalicelib.api.staff import query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

bookings = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/bookings"


@staff_route(bookings, BASE, methods=["GET"])
def store_day(staff: Staff, store_id: str):
    return container().staff_bookings.day(staff, store_id, query_param(bookings, "date"))


@staff_route(bookings, BASE + "/{booking_id}", methods=["GET"])
def booking_timeline(staff: Staff, store_id: str, booking_id: str):
    return container().staff_bookings.timeline(staff, store_id, booking_id)


@staff_route(bookings, BASE + "/{booking_id}/status", methods=["POST"], body=True)
def mark_booking(staff: Staff, body: dict, store_id: str, booking_id: str):
    return container().staff_bookings.mark(staff, store_id, booking_id, body)
