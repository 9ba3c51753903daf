"""Inbound channel endpoints: the generic signed webhook, WeChat Official Account, Agora Chat."""

from chalice import Blueprint, Response

from chalicelib.api.request import parse_model
from chalicelib.api.responses import handled, json_response
from chalicelib.api.signed import verified_agora, verified_chain, verified_wechat, wechat_echo
from chalicelib.bootstrap import container

channels = Blueprint(__name__)
XML_TYPES = ["text/xml", "application/xml", "text/plain", "application/octet-stream"]
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain"]

MAX_BODY_BYTES = 64 * 1024  # conversations/intake.py's limit (kept equal by a test)


def _text(body: str) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"})


@channels.route("/v1/webhooks/messages", methods=["POST"], content_types=JSON_TYPES)
@handled
def generic_message():
    # lazy: the booking webhook's cold start
    from chalicelib.contracts.generic_message import GenericMessageEvent

    chain_id, raw = verified_chain(channels.current_request, MAX_BODY_BYTES)
    event = parse_model(GenericMessageEvent, raw, "the message event is not valid")
    return json_response(200, container().intake.generic(chain_id, event).body())


@channels.route("/v1/channels/wechat/{store_id}", methods=["GET"])
@handled
def wechat_verify(store_id: str):
    return _text(wechat_echo(store_id, channels.current_request.query_params or {}))


@channels.route("/v1/channels/wechat/{store_id}", methods=["POST"], content_types=XML_TYPES)
@handled
def wechat_message(store_id: str):
    store, callback = verified_wechat(store_id, channels.current_request, MAX_BODY_BYTES)
    return _text(container().intake.wechat_message(store, callback, container().wall_clock.now()))


@channels.route("/v1/channels/agora/{chain_id}/callback", methods=["POST"], content_types=JSON_TYPES)
@handled
def agora_callback(chain_id: str):
    body = verified_agora(chain_id, channels.current_request, MAX_BODY_BYTES)
    return container().intake.agora_callback(chain_id, body, container().wall_clock.now())
