"""Mainland SMS providers' delivery receipts (issue 15): Alibaba's SmsReport HTTP batch push and Tencent's status
callback; and members' replies by SMS through Alibaba (its SmsUp push). Neither provider signs its push, so each
chain's URL carries a secret of its own, `?receipt_token=<the chain's provider secret's receipt_token>` (compared in
constant time; redacted from logs)."""

from __future__ import annotations

import hmac

from chalice import Blueprint

from chalicelib.api.request import body_bytes, decode_json, is_id, limit_size
from chalicelib.api.responses import handled, json_response
from chalicelib.bootstrap import container
from chalicelib.errors import Unauthorized

sms_receipts = Blueprint(__name__)
JSON_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
]
MAX_BODY_BYTES = 256 * 1024
ROUTE_PROVIDERS = {"alibaba-sms": "alibaba_sms", "tencent-sms": "tencent_sms"}
ANSWERS = {"alibaba_sms": {"code": 0, "msg": "成功"}, "tencent_sms": {"result": 0, "errmsg": "OK"}}


def _verified(provider: str, chain_id: str) -> object:
    """The pushed JSON, when the receipt token is the chain's for this provider; 401, 413 or 400 otherwise."""
    request = sms_receipts.current_request
    params: dict[str, str] = dict(request.query_params or {})
    token = params.get("receipt_token") or ""
    secret = container().sms_secrets.read(chain_id, provider) if is_id(chain_id) else None
    expected = str((secret or {}).get("receipt_token") or "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("bad receipt token")
    return decode_json(limit_size(body_bytes(request), MAX_BODY_BYTES))


def _receive(route: str, chain_id: str):
    from chalicelib.services.sms_receipts import ReceiptPush

    provider = ROUTE_PROVIDERS[route]
    container().sms_receipts.receive(ReceiptPush(provider, _verified(provider, chain_id)))
    return json_response(200, ANSWERS[provider])


@sms_receipts.route("/v1/receipts/alibaba-sms/{chain_id}", methods=["POST"], content_types=JSON_TYPES)
@handled
def alibaba_sms_report(chain_id: str):
    return _receive("alibaba-sms", chain_id)


@sms_receipts.route("/v1/receipts/tencent-sms/{chain_id}", methods=["POST"], content_types=JSON_TYPES)
@handled
def tencent_sms_status(chain_id: str):
    return _receive("tencent-sms", chain_id)


@sms_receipts.route("/v1/channels/alibaba-sms/{chain_id}/replies", methods=["POST"], content_types=JSON_TYPES)
@handled
def alibaba_sms_replies(chain_id: str):
    """Members' replies by SMS (上行短信), Alibaba's SmsUp push: into their conversations, then the inbound worker."""
    counts = container().intake.alibaba_replies(chain_id, _verified("alibaba_sms", chain_id))
    return json_response(200, {**ANSWERS["alibaba_sms"], "replies": counts})
