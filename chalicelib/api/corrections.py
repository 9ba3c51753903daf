"""Staff correct what a member's message meant (issue 16 §4): parse, call the one service, answer."""

from chalice import Blueprint

from chalicelib.api.staff import JSON_TYPES, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

corrections = Blueprint(__name__)
PATH = "/v1/stores/{store_id}/members/{member_id}/messages/{message_id}/intent"


@staff_route(corrections, PATH, methods=["PUT"], body=True, content_types=JSON_TYPES)
def correct_intent(staff: Staff, body: dict, store_id: str, member_id: str, message_id: str):
    return container().corrections.correct(staff, store_id, member_id, message_id, body)
