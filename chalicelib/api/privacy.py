"""PIPL / GDPR: a member's data export and erasure (chalicelib/services/privacy.py)."""

from chalice import Blueprint

from chalicelib.api.responses import handled
from chalicelib.bootstrap import container

privacy = Blueprint(__name__)


def _auth() -> str | None:
    return privacy.current_request.headers.get("authorization")


@privacy.route("/v1/stores/{store_id}/members/{member_id}/export", methods=["GET"])
@handled
def export_member(store_id: str, member_id: str):
    return container().member_privacy.export(_auth(), store_id, member_id)


@privacy.route("/v1/stores/{store_id}/members/{member_id}", methods=["DELETE"])
@handled
def erase_member(store_id: str, member_id: str):
    return container().member_privacy.erase(_auth(), store_id, member_id)
