"""Each channel's inbound format, verified and turned into one InboundMessage.

WeChat, Agora and SMS are stored and acknowledged at once, then understood by the inbound worker
(WeChat retries after five seconds without an answer). The generic webhook answers with what the
message meant, so it is understood in the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from chalicelib.clock import Clock
from chalicelib.conversations.inbound import Handling, InboundMessage, InboundService
from chalicelib.dal.conversations import ConversationRepository
from chalicelib.dal.models import MessageItem
from chalicelib.errors import PayloadTooLarge, Unauthorized, ValidationFailed
from chalicelib.models.booking_event import Id, Name
from chalicelib.services import signatures
from chalicelib.text_safety import clean_text

MAX_BODY_BYTES = 64 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class _GenericMessage(_Strict):
    id: Id
    type: Literal["text", "image", "voice", "emoji"]
    text: Annotated[str, StringConstraints(max_length=4000), AfterValidator(clean_text)] = ""
    media_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")] | None = None


class GenericMessageEvent(_Strict):
    event_id: Id
    store_id: Id
    member_id: Id
    channel: Literal["sms", "wechat", "agora", "web"]
    message: _GenericMessage
    sent_at: datetime
    member_name: Name = ""


class InboundQueue:
    """Hands a stored inbound message to the inbound worker."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._url = queue_url

    def put(self, message: MessageItem) -> None:
        body = {"type": "inbound_message", "pk": message.pk, "sk": message.sk}
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))


class Intake:
    def __init__(self, inbound: InboundService, conversations: ConversationRepository, stores: Any,
                 queue: InboundQueue, secrets_for: Callable[[str], Iterable[str]], clock: Clock,
                 wechat_credentials: Callable[[str], Any], agora_settings: Callable[[str], dict | None]) -> None:
        self._inbound = inbound
        self._conversations = conversations
        self._stores = stores
        self._queue = queue
        self._secrets_for = secrets_for
        self._clock = clock
        self._wechat_credentials = wechat_credentials
        self._agora_settings = agora_settings

    # --- generic signed webhook (answers synchronously) -------------------------------------------
    def generic(self, headers: Mapping[str, str], raw: bytes, wall_now: datetime) -> Handling:
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
        chain_id = signatures.verify(headers, raw, self._secrets_for, wall_now)
        event = _parse(GenericMessageEvent, raw)
        if event.sent_at.tzinfo is None:
            raise ValidationFailed("sent_at needs an offset", {"sent_at": "must include a UTC offset"})
        store = self._stores.of_chain(event.store_id, chain_id)
        if store is None:
            raise ValidationFailed("unknown store", {"store_id": "no such store in this chain"})
        stored = self._inbound.receive(InboundMessage(
            channel=event.channel, provider_message_id=event.message.id, chain_id=chain_id, store_id=store.store_id,
            member_id=event.member_id, member_name=event.member_name, msg_type=event.message.type,
            text=event.message.text, media_url=event.message.media_url, sent_at=event.sent_at.astimezone(UTC),
            sender_address=event.member_id if event.channel == "agora" else None,
        ))
        return self._inbound.process(stored.message)

    # --- WeChat Official Account ------------------------------------------------------------------
    def wechat_echo(self, store_id: str, params: Mapping[str, str]) -> str:
        """URL verification: echo `echostr` when the signature proves the request is WeChat's."""
        self._wechat_verified(store_id, params)
        echo = params.get("echostr") or ""
        if not echo or len(echo) > 256:
            raise ValidationFailed("missing echostr", {"echostr": "required"})
        return echo

    def wechat_message(self, store_id: str, params: Mapping[str, str], raw: bytes) -> str:
        from chalicelib.channels.wechat.inbound import parse_message

        store = self._wechat_verified(store_id, params)
        message = parse_message(raw)
        member_id, name = self._member_for(store, "WXOPENID", message.from_openid, f"wx-{message.from_openid}")
        if message.msg_type == "event":
            if message.event == "unsubscribe":
                self._conversations.set_member_flags(store.chain_id, member_id, marketing_consent=False,
                                                     opted_out_at=self._clock.now())
            return "success"  # subscribe/unsubscribe are not conversation messages
        stored = self._inbound.receive(InboundMessage(
            channel="wechat", provider_message_id=message.msg_id, chain_id=store.chain_id, store_id=store.store_id,
            member_id=member_id, member_name=name, msg_type=message.msg_type if message.msg_type != "other"
            else "other", text=message.text, media_url=message.media_url, sent_at=message.created_at,
            sender_address=message.from_openid,
        ))
        self._hand_on(stored)
        return "success"

    # --- Agora Chat post-delivery callback --------------------------------------------------------
    def agora_callback(self, chain_id: str, raw: bytes) -> dict[str, Any]:
        from chalicelib.channels.agora.chat import MESSAGE_CHAT_TYPES, parse_callback, verify_callback

        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
        settings = self._agora_settings(chain_id) if _safe_id(chain_id) else None
        body = _json_object(raw)
        if not settings or not verify_callback(body, settings.get("callback_secret", "")):
            raise Unauthorized("bad Agora callback signature")
        chat_type = body.get("chat_type")
        if not isinstance(chat_type, str) or chat_type not in MESSAGE_CHAT_TYPES:  # a list is unhashable
            return {"result": "ignored", "reason": "not a message"}  # recalls, group events: Agora must get 200
        message = parse_callback(body)
        store_id = message.to_user.removeprefix("store-")
        store = self._stores.get(store_id) if _safe_id(store_id) else None
        if store is None or store.chain_id != chain_id:
            return {"result": "ignored", "reason": "not addressed to a store"}
        stored = self._inbound.receive(InboundMessage(
            channel="agora", provider_message_id=message.msg_id, chain_id=chain_id, store_id=store.store_id,
            member_id=message.from_user, member_name="", msg_type=message.type, text=message.text or "",
            media_url=message.media_url, sent_at=datetime.fromtimestamp(message.timestamp_ms / 1000, UTC),
            sender_address=message.from_user,
        ))
        self._hand_on(stored)
        return {"result": "stored", "message_id": stored.message.message_id}

    # --- two-way SMS (SNS notification delivered to the inbound queue) ----------------------------
    def sms_notification(self, envelope: Mapping[str, Any]) -> Handling | None:
        """`envelope`: the SNS notification; its Message is the two-way SMS JSON
        (originationNumber, destinationNumber, messageBody, inboundMessageId)."""
        try:
            sms = json.loads(envelope["Message"])
            phone, text, provider_id = sms["originationNumber"], sms["messageBody"], sms["inboundMessageId"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"not a two-way SMS notification: {exc}", {"Message": "malformed"}) from None
        if not all(isinstance(v, str) and v for v in (phone, provider_id)) or not isinstance(text, str):
            raise ValidationFailed("not a two-way SMS notification", {"Message": "malformed"})
        found = self._conversations.members_by_address("PHONE", phone)
        if not found or not found[0].store_id:
            return None  # a number we never texted: nothing to attach it to
        lookup = found[0]
        stored = self._inbound.receive(InboundMessage(
            channel="sms", provider_message_id=provider_id, chain_id=lookup.chain_id, store_id=lookup.store_id,
            member_id=lookup.member_id, member_name="", msg_type="text", text=text[:4000], media_url=None,
            sent_at=self._clock.now(), sender_address=phone,
        ))
        return self._inbound.process(stored.message)

    def process_stored(self, pk: str, sk: str) -> Handling | None:
        message = self._conversations.message(pk, sk)
        return self._inbound.process(message) if message is not None else None

    # ---------------------------------------------------------------------------------------------
    def _hand_on(self, stored: Any) -> None:
        # A duplicate whose first delivery was never understood (a crash between store and enqueue)
        # is handed on again; the worker skips messages already processed.
        if not stored.duplicate or not stored.message.processed:
            self._queue.put(stored.message)

    def _wechat_verified(self, store_id: str, params: Mapping[str, str]) -> Any:
        from chalicelib.channels.wechat.inbound import verify_signature

        store = self._stores.get(store_id) if _safe_id(store_id) else None
        credentials = self._wechat_credentials(store_id) if store is not None else None
        if credentials is None:
            raise Unauthorized("this store has no WeChat account")
        if not verify_signature(credentials.token, params.get("signature") or "", params.get("timestamp") or "",
                                params.get("nonce") or ""):
            raise Unauthorized("bad WeChat signature")
        return store

    def _member_for(self, store: Any, kind: str, address: str, fallback_id: str) -> tuple[str, str]:
        for lookup in self._conversations.members_by_address(kind, address):
            if lookup.chain_id == store.chain_id:
                return lookup.member_id, ""
        return fallback_id[:128], ""


def _safe_id(value: str) -> bool:
    return bool(value) and len(value) <= 128 and all(c.isascii() and (c.isalnum() or c in "_.:@-") for c in value)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationFailed("the body is not valid JSON", {"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    return body


def _parse(model: type[BaseModel], raw: bytes) -> Any:
    body = _json_object(raw)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            path = ".".join(str(p) for p in error["loc"]) or "body"
            fields.setdefault(path, error["msg"].removeprefix("Value error, "))
        raise ValidationFailed("the message event is not valid", fields) from None
