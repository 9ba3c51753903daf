"""Staff presence and who has a handed-off conversation (issue 17 part 3)."""

from chalice import Blueprint

from chalicelib.api.staff import staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

presence = Blueprint(__name__)
PRESENCE = "/v1/stores/{store_id}/staff/presence"


@staff_route(presence, PRESENCE, methods=["PUT"])
def heartbeat(staff: Staff, store_id: str):
    return container().staff_presence.beat(staff, store_id)


@staff_route(presence, PRESENCE, methods=["DELETE"])
def go_offline(staff: Staff, store_id: str):
    return container().staff_presence.leave(staff, store_id)


@staff_route(presence, PRESENCE, methods=["GET"])
def who_is_online(staff: Staff, store_id: str):
    return container().staff_presence.online(staff, store_id)


@staff_route(
    presence, "/v1/stores/{store_id}/conversations/{conversation_id}/assignment", methods=["POST"], body=True
)
def assignment(staff: Staff, body: dict, store_id: str, conversation_id: str):
    return container().hand_offs.assignment(staff, store_id, conversation_id, body)
