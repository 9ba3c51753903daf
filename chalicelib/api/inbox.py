from chalice import Blueprint

from chalicelib.api.staff import query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

conversations = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/conversations"


def _param(name: str) -> str | None:
    return query_param(conversations, name)


@staff_route(conversations, BASE, methods=["GET"])
def list_conversations(staff: Staff, store_id: str):
    return container().staff_conversations.inbox(
        staff, store_id, _param("status"), _param("limit"), _param("cursor")
    )


@staff_route(conversations, BASE + "/{conversation_id}/messages", methods=["GET"])
def conversation_messages(staff: Staff, store_id: str, conversation_id: str):
    return container().staff_conversations.messages(
        staff,
        store_id,
        conversation_id,
        _param("limit"),
        _param("cursor"),
        _param("order"),
        _param("since_seq"),
    )


@staff_route(conversations, BASE + "/{conversation_id}/messages", methods=["POST"], body=True)
def staff_reply(staff: Staff, body: dict, store_id: str, conversation_id: str):
    return container().staff_conversations.reply(staff, store_id, conversation_id, body)


@staff_route(conversations, BASE + "/{conversation_id}/read", methods=["POST"])
def mark_read(staff: Staff, store_id: str, conversation_id: str):
    return container().staff_conversations.mark_read(staff, store_id, conversation_id)


@staff_route(conversations, BASE + "/{conversation_id}/status", methods=["POST"], body=True)
def set_status(staff: Staff, body: dict, store_id: str, conversation_id: str):
    return container().staff_conversations.set_status(staff, store_id, conversation_id, body)


@staff_route(conversations, BASE + "/{conversation_id}/video", methods=["POST"])
def start_video(staff: Staff, store_id: str, conversation_id: str):
    return container().staff_conversations.start_video(staff, store_id, conversation_id)
