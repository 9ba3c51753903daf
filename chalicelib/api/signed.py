"""Signed webhooks, checked at the edge: the body's size first, then its signature (services/signatures.py)
against the chain's active secrets, on the real wall clock (senders sign with theirs, even while the local domain
clock is moved). A service is handed the verified chain id and a parsed event, never headers or bytes."""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from chalicelib.api.request import is_id, json_object, limit_size
from chalicelib.bootstrap import container
from chalicelib.errors import Unauthorized
from chalicelib.services import signatures


def verified_chain(request: Request, max_bytes: int) -> tuple[str, bytes]:
    """(chain id, raw body) of a request signed with `X-Chairside-Signature`; 413 or 401 otherwise."""
    raw = limit_size(request.raw_body or b"", max_bytes)
    app = container()
    chain_id = signatures.verify(dict(request.headers), raw, app.webhook_secrets.active, app.wall_clock.now())
    return chain_id, raw


def verified_agora(chain_id: str, request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON body of an Agora Chat callback signed with the chain's callback secret and fresh; 413, 400 or 401
    otherwise. Its callId is bound to its first body by the service (conversations/intake.py, replay)."""
    from chalicelib.channels.agora.chat import verify_callback

    raw = limit_size(request.raw_body or b"", max_bytes)
    app = container()
    settings = app.agora_settings(chain_id) if is_id(chain_id) else None
    body = json_object(raw)
    if not settings or not verify_callback(body, settings.get("callback_secret", "")):
        raise Unauthorized("bad Agora callback signature")
    signatures.fresh(str(body["timestamp"]), app.wall_clock.now(), 1000)
    return body
