"""Self-booking routes (issue 14): public availability, a member's own bookings, and staff booking for a member.

`POST /v1/stores/{store_id}/bookings` takes either token: a member's books for her, a staff member's (front desk
and up) books for the `member_id` in the body. Every other member route takes only a member token and every
staff route only a staff token (401 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from chalice import Blueprint, Response

from chalicelib.api.member import JSON_TYPES, member_of, member_route
from chalicelib.api.request import authenticate, body_bytes, decode
from chalicelib.api.responses import handled, json_response
from chalicelib.api.staff import staff_route
from chalicelib.bootstrap import container
from chalicelib.errors import Unauthorized
from chalicelib.services.auth import Staff
from chalicelib.services.member_tokens import Member

self_booking = Blueprint(__name__)
STORE = "/v1/stores/{store_id}"


@self_booking.route(STORE + "/availability", methods=["GET"])
@handled
def availability(store_id: str) -> dict:
    params: Mapping[str, str] = self_booking.current_request.query_params or {}
    return container().availability.for_request(store_id, dict(params))


@self_booking.route(STORE + "/bookings", methods=["POST"], content_types=JSON_TYPES)
@handled
def book(store_id: str) -> Response:
    request = self_booking.current_request
    body = decode(body_bytes(request))
    authorization = request.headers.get("authorization")
    try:
        member: Member | None = member_of(authorization)
    except Unauthorized:
        member = None
    # The body is validated by the service once the store is known to be the caller's (a denied request looks
    # like one about a store that does not exist, whatever its body).
    if member is not None:
        answer = container().self_booking.book(member, store_id, body)
    else:
        try:
            staff = authenticate(authorization, container().staff_verifier)
        except Unauthorized:
            raise Unauthorized("a member or staff bearer token is required") from None
        answer = container().self_booking.book_for(staff, store_id, body)
    return json_response(201, answer)


@member_route(self_booking, STORE + "/me/bookings", methods=["GET"])
def my_bookings(member: Member, store_id: str) -> dict:
    return container().self_booking.my_bookings(member, store_id)


@member_route(self_booking, STORE + "/me/bookings/{booking_id}/reschedule", methods=["POST"], body=True)
def reschedule_mine(member: Member, body: dict, store_id: str, booking_id: str) -> dict:
    return container().self_booking.reschedule(member, store_id, booking_id, body)


@member_route(self_booking, STORE + "/me/bookings/{booking_id}/cancel", methods=["POST"], body=True)
def cancel_mine(member: Member, body: dict, store_id: str, booking_id: str) -> dict:
    return container().self_booking.cancel(member, store_id, booking_id, body)


@staff_route(self_booking, STORE + "/bookings/{booking_id}/reschedule", methods=["POST"], body=True)
def reschedule_for(staff: Staff, body: dict, store_id: str, booking_id: str) -> dict:
    return container().self_booking.reschedule_for(staff, store_id, booking_id, body)


@staff_route(self_booking, STORE + "/bookings/{booking_id}/cancel", methods=["POST"], body=True)
def cancel_for(staff: Staff, body: dict, store_id: str, booking_id: str) -> dict:
    return container().self_booking.cancel_for(staff, store_id, booking_id, body)
