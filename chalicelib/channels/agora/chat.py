"""Agora Chat: send text messages over the REST API, and verify and parse post-delivery (message) callbacks.

REST (Agora Chat "Message management", "Send a one-to-one message"):

    POST https://{host}/{org_name}/{app_name}/messages/users
    Authorization: Bearer <app token>      (an AccessToken2 with the Chat service's app privilege)
    Content-Type: application/json, Accept: application/json
    {"from": "<sender>", "to": ["<user>"], "type": "txt", "body": {"msg": "<text>"}}
    200 -> {"path": "/messages/users", ..., "action": "post", "data": {"<user>": "<message id>"}, ...}

Errors come back as {"error": "<code>", "error_description": "...", "exception": "...", ...} with the HTTP
status carrying the meaning: 401 bad/expired token, 404 no such user/app, 429 over the call limit, 5xx server.

Callbacks (Agora Chat "Set up HTTP callbacks" and "Callbacks and events"): a JSON POST whose
`security` = MD5 hex of callId + secret + timestamp, where the secret is shown on the callback rule in Agora
Console. A message callback carries eventType ("chat" | "chat_offline"), chat_type, from, to, msg_id, timestamp
(ms) and payload {"ext": {...}, "bodies": [{"type": "txt", "msg": ...} | {"type": "img", "url": ...} | ...]}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Literal

from chalicelib.channels.agora.access_token import build_chat_app_token, is_hex32, new_salt
from chalicelib.channels.http import HttpResponse, shared_http
from chalicelib.errors import PermanentSendError, TransientSendError, ValidationFailed

PROVIDER = "agora-chat"


# --- HTTP ---------------------------------------------------------------------------------------


# (method, url, headers, body, timeout seconds) -> response. Network failures raise OSError.
Transport = Callable[[str, str, Mapping[str, str], bytes | None, float], HttpResponse]


# --- the client ---------------------------------------------------------------------------------


class AgoraChatClient:
    """Sends text messages as `sender_id` through the Agora Chat REST API.

    The app token is built locally (AccessToken2, Chat app privilege) and cached until `refresh_margin` seconds
    before it expires; `clock` gives Unix seconds. A 401 drops the cached token and retries once with a fresh
    one; a second 401 is permanent (wrong app id / certificate).
    """

    def __init__(
        self,
        base_url: str,
        org_name: str,
        app_name: str,
        app_id: str,
        app_certificate: str,
        *,
        clock: Callable[[], float],
        http: Transport | None = None,
        sender_id: str = "chairside",
        token_ttl: int = 3600,
        refresh_margin: int = 300,
        timeout: float = 10.0,
        salt: Callable[[], int] = new_salt,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL such as https://a41.chat.agora.io")
        if not org_name or not app_name:
            raise ValueError("org_name and app_name are required")
        if not is_hex32(app_id) or not is_hex32(app_certificate):
            raise ValueError("app_id and app_certificate must be 32 hex characters")
        if not sender_id:
            raise ValueError("sender_id must not be empty (Agora rejects an empty 'from')")
        if not 0 <= refresh_margin < token_ttl:
            raise ValueError("refresh_margin must be smaller than token_ttl")
        self._root = f"{base_url.rstrip('/')}/{urllib.parse.quote(org_name, safe='')}/{urllib.parse.quote(app_name, safe='')}"
        self._app_id = app_id
        self._app_certificate = app_certificate
        self._clock = clock
        self._http = http or shared_http().request
        self.sender_id = sender_id
        self._token_ttl = token_ttl
        self._refresh_margin = refresh_margin
        self._timeout = timeout
        self._salt = salt
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at = 0.0

    # token ------------------------------------------------------------------------------------

    def app_token(self) -> str:
        """The cached app token, rebuilt when it is within `refresh_margin` seconds of expiring."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._token_expires_at - self._refresh_margin:
                issue_ts = int(now)
                self._token = build_chat_app_token(
                    self._app_id, self._app_certificate, self._token_ttl, issue_ts=issue_ts, salt=self._salt()
                )
                self._token_expires_at = issue_ts + self._token_ttl
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    # sending ----------------------------------------------------------------------------------

    def send_text(self, to_user: str, text: str) -> str:
        """Send `text` to the Agora Chat user `to_user`; returns Agora's message id."""
        if not isinstance(to_user, str) or not to_user:
            raise PermanentSendError(f"{PROVIDER}: no recipient user id")
        if not isinstance(text, str) or not text:
            raise PermanentSendError(f"{PROVIDER}: empty message text")
        payload = {"from": self.sender_id, "to": [to_user], "type": "txt", "body": {"msg": text}}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        url = f"{self._root}/messages/users"

        for attempt in (1, 2):
            token = self.app_token()
            response = self._post(url, body, token)
            if response.status == 401 and attempt == 1:
                self._drop_token(token)
                continue
            return self._message_id(response, to_user)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, url: str, body: bytes, token: str) -> HttpResponse:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
        }
        try:
            return self._http("POST", url, headers, body, self._timeout)
        except TimeoutError as exc:
            raise TransientSendError(f"{PROVIDER}: timed out after {self._timeout}s") from exc
        except (OSError, HTTPException) as exc:
            raise TransientSendError(f"{PROVIDER}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _message_id(response: HttpResponse, to_user: str) -> str:
        status = response.status
        try:
            answer = json.loads(response.body.decode("utf-8")) if response.body else {}
        except (UnicodeDecodeError, ValueError):
            answer = {}
        if 200 <= status < 300:
            data = answer.get("data") if isinstance(answer, dict) else None
            message_id = data.get(to_user) if isinstance(data, dict) else None
            if isinstance(message_id, str | int) and not isinstance(message_id, bool) and str(message_id):
                return str(message_id)
            # Agora took the request but named no message id: resending could deliver it twice.
            raise PermanentSendError(f"{PROVIDER}: HTTP {status} without a message id for {to_user!r}")
        reason = f"{PROVIDER}: HTTP {status}"
        if isinstance(answer, dict) and answer.get("error"):
            reason += f" {answer.get('error')}: {answer.get('error_description', '')}".rstrip(": ")
        if status in (408, 429) or status >= 500:
            raise TransientSendError(reason)
        raise PermanentSendError(reason)


# --- callbacks ----------------------------------------------------------------------------------


def callback_signature(call_id: str, secret: str, timestamp: int | str) -> str:
    """MD5 hex of callId + secret + timestamp, as Agora signs its callbacks."""
    return hashlib.md5(f"{call_id}{secret}{timestamp}".encode()).hexdigest()  # noqa: S324 - Agora's scheme


def _timestamp_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():  # isdigit() alone takes "²"
        return value
    return None


def verify_callback(body: Mapping[str, Any], secret: str) -> bool:
    """True when `security` is MD5(callId + secret + timestamp). Constant-time; False on anything missing."""
    if not isinstance(body, Mapping) or not isinstance(secret, str) or not secret:
        return False
    call_id = body.get("callId")
    security = body.get("security")
    timestamp = _timestamp_text(body.get("timestamp"))
    if not isinstance(call_id, str) or not call_id or not isinstance(security, str) or timestamp is None:
        return False
    expected = callback_signature(call_id, secret, timestamp).encode("ascii")
    return hmac.compare_digest(expected, security.strip().lower().encode("utf-8"))


MessageType = Literal["text", "image", "voice", "emoji", "other"]

# Message callbacks have chat_type "chat" (one-to-one) or "groupchat"; "recall" and "muc" are other events.
MESSAGE_CHAT_TYPES = frozenset({"chat", "groupchat"})
# Agora user and message ids are short (user ids at most 64); anything longer is refused.
MAX_ID_CHARS = 128
MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant a datetime holds
# Agora Chat has no emoji message type (emoji travel inside "txt"); stickers/emoji sent as a custom message with
# one of these customEvent names are reported as "emoji" (Chairside's convention).
EMOJI_CUSTOM_EVENTS = frozenset({"emoji", "sticker"})


@dataclass(frozen=True)
class InboundAgoraMessage:
    msg_id: str
    from_user: str
    to_user: str
    type: MessageType
    text: str | None
    media_url: str | None
    timestamp_ms: int


def _custom_exts(body: Mapping[str, Any]) -> dict[str, Any]:
    exts: dict[str, Any] = {}
    legacy = body.get("customExts")
    if isinstance(legacy, Mapping):
        exts.update(legacy)
    elif isinstance(legacy, list):  # the callback's v1 form: [{"name": 1}, ...]
        for item in legacy:
            if isinstance(item, Mapping):
                exts.update(item)
    v2 = body.get("v2:customExts")
    if isinstance(v2, Mapping):
        exts.update(v2)
    return exts


def parse_callback(body: Mapping[str, Any]) -> InboundAgoraMessage:
    """Read a post-delivery message callback. Raises ValidationFailed naming the bad fields.

    txt -> "text" (text); img -> "image" (media_url); audio -> "voice" (media_url); custom with customEvent
    "emoji"/"sticker" -> "emoji" (text from customExts emoji/text/name, media_url from customExts url); anything
    else (video, file, loc, cmd, other custom) -> "other". Only the first body is read (Agora sends one).
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed("callback body must be a JSON object", {"body": "must be an object"})
    problems: dict[str, str] = {}

    chat_type = body.get("chat_type")
    if not isinstance(chat_type, str) or chat_type not in MESSAGE_CHAT_TYPES:
        problems["chat_type"] = "not a message callback (expected 'chat' or 'groupchat')"
    event_type = body.get("eventType")
    if event_type is not None and event_type not in ("chat", "chat_offline"):
        problems["eventType"] = "must be 'chat' or 'chat_offline'"

    msg_id = body.get("msg_id")
    if isinstance(msg_id, int) and not isinstance(msg_id, bool):
        msg_id = str(msg_id)
    if not isinstance(msg_id, str) or not msg_id:
        problems["msg_id"] = "required string"
    from_user = body.get("from")
    if not isinstance(from_user, str) or not from_user:
        problems["from"] = "required string"
    to_user = body.get("to")
    if not isinstance(to_user, str) or not to_user:
        problems["to"] = "required string"
    for name, value in (("msg_id", msg_id), ("from", from_user), ("to", to_user)):
        if (
            name not in problems and isinstance(value, str) and len(value) > MAX_ID_CHARS
        ):  # ids become parts of table keys
            problems[name] = f"at most {MAX_ID_CHARS} characters"
    timestamp = _timestamp_text(body.get("timestamp"))
    if timestamp is None or len(timestamp) > 15 or not 0 <= int(timestamp) <= MAX_TIMESTAMP_MS:
        problems["timestamp"] = "required integer (milliseconds)"

    first: Mapping[str, Any] | None = None
    payload = body.get("payload")
    if not isinstance(payload, Mapping):
        problems["payload"] = "required object"
    else:
        bodies = payload.get("bodies")
        if not isinstance(bodies, list) or not bodies:
            problems["payload.bodies"] = "required non-empty list"
        elif not isinstance(bodies[0], Mapping) or not isinstance(bodies[0].get("type"), str):
            problems["payload.bodies[0].type"] = "required string"
        else:
            first = bodies[0]

    kind: MessageType = "other"
    text: str | None = None
    media_url: str | None = None
    if first is not None:
        body_type = first["type"]
        if body_type == "txt":
            kind, text = "text", first.get("msg")
            if not isinstance(text, str):
                problems["payload.bodies[0].msg"] = "required string for a txt message"
        elif body_type in ("img", "audio"):
            kind, media_url = ("image" if body_type == "img" else "voice"), first.get("url")
            if not isinstance(media_url, str) or not media_url:
                problems["payload.bodies[0].url"] = f"required string for an {body_type} message"
        elif body_type == "custom" and str(first.get("customEvent", "")).lower() in EMOJI_CUSTOM_EVENTS:
            kind = "emoji"
            exts = _custom_exts(first)
            found = next(
                (exts[key] for key in ("emoji", "text", "name") if isinstance(exts.get(key), str)), None
            )
            text = found
            url = exts.get("url")
            media_url = url if isinstance(url, str) and url else None
        else:
            url = first.get("url")
            media_url = url if isinstance(url, str) and url else None

    if problems:
        raise ValidationFailed("malformed Agora Chat callback", problems)
    return InboundAgoraMessage(
        msg_id=str(msg_id),
        from_user=str(from_user),
        to_user=str(to_user),
        type=kind,
        text=text,
        media_url=media_url,
        timestamp_ms=int(str(timestamp)),
    )


# --- receipts: delivery and read acks ------------------------------------------------------------

# The provider name a message sent through Agora Chat records (channels/base.py provider_of) and its receipts carry.
RECEIPT_PROVIDER = "agora"

# Post-delivery callbacks that acknowledge a message, by chat_type, and the status each means (Agora Chat "Callbacks
# and events": "Read Receipt event for a one-to-one chat message", chat_type "read_ack"; 环信/Easemob's server-side
# callbacks, the same service in China: "channel_ack" when the member reads the whole conversation, with the
# message it was read up to in payload.ack_message_id). Delivery acks (the SDK's requireDeliveryAck) arrive as
# "delivery_ack" with the same payload shape.
ACK_STATUSES = {"delivery_ack": "delivered", "read_ack": "read", "channel_ack": "read"}


@dataclass(frozen=True)
class AgoraAck:
    """A member's app acknowledging a message: `acked_message_id` is the id our send was answered with."""

    acked_message_id: str
    status: Literal["delivered", "read"]
    chat_type: str
    from_user: str  # the member who acknowledged
    to_user: str  # the sender of the acknowledged message (the store's sender id)
    timestamp_ms: int


def is_ack(body: Mapping[str, Any]) -> bool:
    chat_type = body.get("chat_type") if isinstance(body, Mapping) else None
    return isinstance(chat_type, str) and chat_type in ACK_STATUSES


def parse_ack(body: Mapping[str, Any]) -> AgoraAck:
    """Read a delivery / read ack callback. Raises ValidationFailed naming the bad fields."""
    problems: dict[str, str] = {}
    chat_type = body.get("chat_type")
    if not isinstance(chat_type, str) or chat_type not in ACK_STATUSES:
        problems["chat_type"] = f"not an ack (expected one of {', '.join(sorted(ACK_STATUSES))})"
    payload = body.get("payload")
    acked: Any = payload.get("ack_message_id") if isinstance(payload, Mapping) else None
    if isinstance(acked, int) and not isinstance(acked, bool):
        acked = str(acked)
    if not isinstance(payload, Mapping):
        problems["payload"] = "required object"
    elif not isinstance(acked, str) or not acked:
        problems["payload.ack_message_id"] = "required string"
    elif len(acked) > MAX_ID_CHARS:
        problems["payload.ack_message_id"] = f"at most {MAX_ID_CHARS} characters"
    users: dict[str, str] = {}
    for name in ("from", "to"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            problems[name] = "required string"
        elif len(value) > MAX_ID_CHARS:
            problems[name] = f"at most {MAX_ID_CHARS} characters"
        else:
            users[name] = value
    timestamp = _timestamp_text(body.get("timestamp"))
    if timestamp is None or len(timestamp) > 15 or not 0 <= int(timestamp) <= MAX_TIMESTAMP_MS:
        problems["timestamp"] = "required integer (milliseconds)"
    if problems:
        raise ValidationFailed("malformed Agora Chat ack callback", problems)
    status: Literal["delivered", "read"] = "read" if ACK_STATUSES[str(chat_type)] == "read" else "delivered"
    return AgoraAck(
        acked_message_id=str(acked),
        status=status,
        chat_type=str(chat_type),
        from_user=users["from"],
        to_user=users["to"],
        timestamp_ms=int(str(timestamp)),
    )
