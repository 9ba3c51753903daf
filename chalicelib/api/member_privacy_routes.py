"""PIPL / GDPR: a member's data export and erasure (chalicelib/services/member_privacy.py)."""

from chalice import Blueprint

from chalicelib.api.staff import staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

privacy = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/members/{member_id}"


@staff_route(privacy, BASE + "/export", methods=["GET"])
def export_member(staff: Staff, store_id: str, member_id: str):
    return container().member_privacy.export(staff, store_id, member_id)


@staff_route(privacy, BASE, methods=["DELETE"])
def erase_member(staff: Staff, store_id: str, member_id: str):
    return container().member_privacy.erase(staff, store_id, member_id)
