"""The waitlist's routes: a member's own entries (member token) and a store's day for the front desk."""

from chalice import Blueprint, Response

from chalicelib.api.member import member_route
from chalicelib.api.responses import json_response
from chalicelib.api.staff import query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff
from chalicelib.services.member_tokens import Member

waitlist = Blueprint(__name__)
MINE = "/v1/stores/{store_id}/me/waitlist"


@member_route(waitlist, MINE, methods=["POST"], body=True)
def join_waitlist(member: Member, body: dict, store_id: str) -> Response:
    return json_response(201, container().waitlist.join(member, store_id, body))


@member_route(waitlist, MINE, methods=["GET"])
def my_waitlist(member: Member, store_id: str):
    return container().waitlist.mine(member, store_id)


@member_route(waitlist, MINE + "/{waitlist_id}", methods=["DELETE"])
def leave_waitlist(member: Member, store_id: str, waitlist_id: str):
    return container().waitlist.leave(member, store_id, waitlist_id)


@member_route(waitlist, MINE + "/{waitlist_id}/claim", methods=["POST"], body=True)
def claim_waitlist_offer(member: Member, body: dict, store_id: str, waitlist_id: str) -> Response:
    return json_response(201, container().waitlist.claim(member, store_id, waitlist_id, body))


@staff_route(waitlist, "/v1/stores/{store_id}/waitlist", methods=["GET"])
def store_waitlist(staff: Staff, store_id: str):
    return container().waitlist.day(staff, store_id, query_param(waitlist, "date"))
