"""Inbound channel endpoints: the generic signed webhook, WeChat Official Account, Agora Chat."""

from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib.api.responses import handled, json_response
from chalicelib.bootstrap import container

channels = Blueprint(__name__)
XML_TYPES = ["text/xml", "application/xml", "text/plain", "application/octet-stream"]
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain"]


def _text(body: str) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"})


@channels.route("/v1/webhooks/messages", methods=["POST"], content_types=JSON_TYPES)
@handled
def generic_message():
    request = channels.current_request
    handling = container().intake.generic(dict(request.headers), request.raw_body or b"", datetime.now(UTC))
    return json_response(200, handling.body())


@channels.route("/v1/channels/wechat/{store_id}", methods=["GET"])
@handled
def wechat_verify(store_id: str):
    params = channels.current_request.query_params or {}
    return _text(container().intake.wechat_echo(store_id, params, datetime.now(UTC)))


@channels.route("/v1/channels/wechat/{store_id}", methods=["POST"], content_types=XML_TYPES)
@handled
def wechat_message(store_id: str):
    request = channels.current_request
    return _text(container().intake.wechat_message(store_id, request.query_params or {}, request.raw_body or b"",
                                                   datetime.now(UTC)))


@channels.route("/v1/channels/agora/{chain_id}/callback", methods=["POST"], content_types=JSON_TYPES)
@handled
def agora_callback(chain_id: str):
    return container().intake.agora_callback(chain_id, channels.current_request.raw_body or b"", datetime.now(UTC))
