"""Signed webhooks, checked at the edge: the body's size first, then its signature (services/signatures.py)
against the chain's active secrets, on the real wall clock (senders sign with theirs, even while the local domain
clock is moved). A service is handed the verified chain id and a parsed event, never headers or bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib.api.request import body_bytes, is_id, json_object, limit_size
from chalicelib.bootstrap import container
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.services import signatures

if TYPE_CHECKING:
    from chalicelib.conversations.intake import WeChatCallback


def verified_chain(request: Request, max_bytes: int) -> tuple[str, bytes]:
    """(chain id, raw body) of a request signed with `X-Chairside-Signature`; 413 or 401 otherwise."""
    raw = limit_size(body_bytes(request), max_bytes)
    app = container()
    chain_id = signatures.verify(dict(request.headers), raw, app.webhook_secrets.active, app.wall_clock.now())
    return chain_id, raw


def verified_agora(chain_id: str, request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON body of an Agora Chat callback signed with the chain's callback secret and fresh; 413, 400 or 401
    otherwise. Its callId is bound to its first body by the service (conversations/intake.py, replay)."""
    from chalicelib.channels.agora.chat import verify_callback

    raw = limit_size(body_bytes(request), max_bytes)
    app = container()
    settings = app.channel_secrets.agora_settings(chain_id) if is_id(chain_id) else None
    body = json_object(raw)
    if not settings or not verify_callback(body, settings.get("callback_secret", "")):
        raise Unauthorized("bad Agora callback signature")
    signatures.fresh(str(body["timestamp"]), app.wall_clock.now(), 1000)
    return body


def wechat_echo(store_id: str, params: Mapping[str, str]) -> str:
    """WeChat's URL verification: `echostr`, when the signature proves the request is WeChat's and is fresh."""
    from chalicelib.channels.wechat.callback_xml import verify_signature

    app = container()
    _, credentials = app.intake.wechat_account(store_id)
    if not verify_signature(
        credentials.token,
        params.get("signature") or "",
        params.get("timestamp") or "",
        params.get("nonce") or "",
    ):
        raise Unauthorized("bad WeChat signature")
    signatures.fresh(params.get("timestamp") or "", app.wall_clock.now(), 1)
    echo = params.get("echostr") or ""
    if not echo or len(echo) > 256:
        raise ValidationFailed("missing echostr", {"echostr": "required"})
    return echo


def verified_wechat(store_id: str, request: Request, max_bytes: int) -> tuple[Any, WeChatCallback]:
    """The store and a WeChat callback to it: signed (plaintext mode) or signed and encrypted (encrypted mode, when
    the store has an EncodingAESKey), and fresh; 401 or 413 otherwise. Binding its (timestamp, nonce) to its body
    (replay) is the service's (conversations/intake.py)."""
    from chalicelib.channels.wechat import crypto
    from chalicelib.channels.wechat.callback_xml import verify_signature

    app = container()
    params: Mapping[str, str] = request.query_params or {}
    raw = body_bytes(request)
    store, credentials = app.intake.wechat_account(store_id)
    timestamp, nonce = params.get("timestamp") or "", params.get("nonce") or ""
    if credentials.encoding_aes_key:
        if params.get("encrypt_type") != "aes":
            raise Unauthorized("this store's WeChat callbacks must be encrypted (encrypt_type=aes)")
        limit_size(raw, max_bytes)
        encrypted = crypto.encrypted_part(raw)
        if not crypto.verify_msg_signature(
            credentials.token, params.get("msg_signature") or "", timestamp, nonce, encrypted
        ):
            raise Unauthorized("bad WeChat msg_signature")
        signatures.fresh(timestamp, app.wall_clock.now(), 1)
        xml = crypto.decrypt(credentials.encoding_aes_key, encrypted, credentials.app_id)
    else:
        if params.get("encrypt_type") not in (None, "", "raw"):
            raise Unauthorized("this store has no EncodingAESKey: its WeChat callbacks are plaintext")
        if not verify_signature(credentials.token, params.get("signature") or "", timestamp, nonce):
            raise Unauthorized("bad WeChat signature")
        signatures.fresh(timestamp, app.wall_clock.now(), 1)
        xml = raw  # its size is checked as it is parsed (channels/wechat/inbound.py)
    from chalicelib.conversations.intake import WeChatCallback  # lazy: the booking webhook's cold start

    return store, WeChatCallback(
        xml=xml, body_hash=hashlib.sha256(raw).hexdigest(), timestamp=timestamp, nonce=nonce
    )
