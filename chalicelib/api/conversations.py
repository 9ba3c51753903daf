from chalice import Blueprint

from chalicelib.api.responses import handled
from chalicelib.bootstrap import container
from chalicelib.services.local_controls import decode

conversations = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/conversations"
JSON_TYPES = ["application/json", "text/plain"]


def _auth() -> str | None:
    return conversations.current_request.headers.get("authorization")


def _param(name: str) -> str | None:
    return (conversations.current_request.query_params or {}).get(name)


@conversations.route(BASE, methods=["GET"])
@handled
def list_conversations(store_id: str):
    return container().staff_conversations.inbox(_auth(), store_id, _param("status"), _param("limit"),
                                                 _param("cursor"))


@conversations.route(BASE + "/{conversation_id}/messages", methods=["GET"])
@handled
def conversation_messages(store_id: str, conversation_id: str):
    return container().staff_conversations.messages(_auth(), store_id, conversation_id, _param("limit"),
                                                    _param("cursor"), _param("order"))


@conversations.route(BASE + "/{conversation_id}/messages", methods=["POST"], content_types=JSON_TYPES)
@handled
def staff_reply(store_id: str, conversation_id: str):
    body = decode(conversations.current_request.raw_body)
    return container().staff_conversations.reply(_auth(), store_id, conversation_id, body)


@conversations.route(BASE + "/{conversation_id}/read", methods=["POST"], content_types=JSON_TYPES)
@handled
def mark_read(store_id: str, conversation_id: str):
    return container().staff_conversations.mark_read(_auth(), store_id, conversation_id)


@conversations.route(BASE + "/{conversation_id}/status", methods=["POST"], content_types=JSON_TYPES)
@handled
def set_status(store_id: str, conversation_id: str):
    body = decode(conversations.current_request.raw_body)
    return container().staff_conversations.set_status(_auth(), store_id, conversation_id, body)


@conversations.route(BASE + "/{conversation_id}/video", methods=["POST"], content_types=JSON_TYPES)
@handled
def start_video(store_id: str, conversation_id: str):
    return container().staff_conversations.start_video(_auth(), store_id, conversation_id)
