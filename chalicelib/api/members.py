from chalice import Blueprint

from chalicelib.api.responses import handled
from chalicelib.bootstrap import container
from chalicelib.services.local_controls import decode

members = Blueprint(__name__)
JSON_TYPES = ["application/json", "text/plain"]


@members.route("/v1/stores/{store_id}/members/{member_id}/messages", methods=["GET"])
@handled
def member_messages(store_id: str, member_id: str):
    request = members.current_request
    params = request.query_params or {}
    return container().message_history.member_messages(
        request.headers.get("authorization"), store_id, member_id, params.get("limit"), params.get("cursor")
    )


@members.route("/v1/stores/{store_id}/members/{member_id}", methods=["GET"])
@handled
def member_profile(store_id: str, member_id: str):
    request = members.current_request
    return container().member_profiles.profile(request.headers.get("authorization"), store_id, member_id)


@members.route("/v1/stores/{store_id}/members/{member_id}/tags", methods=["POST"], content_types=JSON_TYPES)
@handled
def member_tags(store_id: str, member_id: str):
    request = members.current_request
    return container().member_profiles.tags(request.headers.get("authorization"), store_id, member_id,
                                            decode(request.raw_body))


@members.route("/v1/stores/{store_id}/members/{member_id}/notes", methods=["POST"], content_types=JSON_TYPES)
@handled
def member_notes(store_id: str, member_id: str):
    request = members.current_request
    return container().member_profiles.add_note(request.headers.get("authorization"), store_id, member_id,
                                                decode(request.raw_body))
