"""Each channel's inbound format, verified and turned into one InboundMessage.

WeChat, Agora and SMS are stored and acknowledged at once, then understood by the inbound worker
(WeChat retries after five seconds without an answer). The generic webhook answers with what the
message meant, so it is understood in the request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.conversations.inbound import Handling, InboundMessage, InboundService
from chalicelib.dal.callbacks import CallbackClaims, SmsNumbers
from chalicelib.dal.conversations import ConversationRepository
from chalicelib.dal.models import MessageItem
from chalicelib.errors import Unauthorized, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import signatures
from chalicelib.services.receipt_sink import ReceiptSink

if TYPE_CHECKING:
    from chalicelib.contracts.generic_message import GenericMessageEvent
    from chalicelib.conversations.wechat_events import WeChatAccountEvents

MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_SECONDS = signatures.REPLAY_WINDOW_SECONDS
# A callback's replay state outlives every timestamp that could still be fresh (TTL; DynamoDB removes it later).
CLAIM_SECONDS = 3 * REPLAY_WINDOW_SECONDS
# Sender ids as the providers document them; they become member ids, which staff open in URLs (auth.SAFE_ID).
WECHAT_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
AGORA_USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class WeChatCallback:
    """A verified WeChat callback: its message XML (decrypted in encrypted mode), the SHA-256 of the body as it
    came, and the (timestamp, nonce) it was signed with."""

    xml: bytes
    body_hash: str
    timestamp: str
    nonce: str


class InboundQueue:
    """Hands a stored inbound message to the inbound worker."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._url = queue_url

    def put(self, message: MessageItem) -> None:
        body = {"type": "inbound_message", "pk": message.pk, "sk": message.sk}
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))


class Intake:
    def __init__(
        self,
        inbound: InboundService,
        conversations: ConversationRepository,
        stores: Any,
        queue: InboundQueue,
        clock: Clock,
        wechat_credentials: Callable[[str], Any],
        claims: CallbackClaims,
        sms_numbers: SmsNumbers,
        receipts: ReceiptSink | None = None,
        wechat_events: Callable[[], WeChatAccountEvents] | None = None,
    ) -> None:
        self._inbound = inbound
        self._conversations = conversations
        self._stores = stores
        self._queue = queue
        self._clock = clock
        self._wechat_credentials = wechat_credentials
        self._claims = claims
        self._sms_numbers = sms_numbers
        self._receipts = receipts
        # a getter of the follow states' and template receipts' service (wechat_events.py), built on first use
        self._wechat_events = wechat_events

    # --- generic signed webhook (answers synchronously) -------------------------------------------
    def generic(self, chain_id: str, event: GenericMessageEvent) -> Handling:
        """A message event whose size and signature the edge checked (chalicelib/api/channels.py), from `chain_id`."""
        if event.sent_at.tzinfo is None:
            raise ValidationFailed("sent_at needs an offset", {"sent_at": "must include a UTC offset"})
        store = self._stores.of_chain(event.store_id, chain_id)
        if store is None:
            raise ValidationFailed("unknown store", {"store_id": "no such store in this chain"})
        stored = self._inbound.receive(
            InboundMessage(
                channel=event.channel,
                provider_message_id=event.message.id,
                chain_id=chain_id,
                store_id=store.store_id,
                member_id=event.member_id,
                member_name=event.member_name,
                msg_type=event.message.type,
                text=event.message.text,
                media_url=event.message.media_url,
                sent_at=event.sent_at.astimezone(UTC),
                sender_address=event.member_id if event.channel == "agora" else None,
            )
        )
        return self._inbound.process(stored.message)

    # --- WeChat Official Account ------------------------------------------------------------------
    def wechat_account(self, store_id: str) -> tuple[Any, Any]:
        """The store and its WeChat credentials, which the edge checks a callback's signature with (401 if none)."""
        store = self._stores.get(store_id) if is_id(store_id) else None
        credentials = self._wechat_credentials(store_id) if store is not None else None
        if credentials is None:
            raise Unauthorized("this store has no WeChat account")
        return store, credentials

    def wechat_message(self, store: Any, callback: WeChatCallback, wall_now: datetime) -> str:
        """A WeChat callback whose signature (plaintext mode) or signature and encryption (encrypted mode) and
        freshness the edge checked (chalicelib/api/signed.py); here its (timestamp, nonce) is bound to its body
        and its sender must be an openid."""
        from chalicelib.channels.wechat.callback_xml import (
            SUBSCRIBE_CHANGE,
            SUBSCRIBE_POPUP,
            SUBSCRIBE_SENT,
            TEMPLATE_JOB_FINISH,
            parse_message,
        )

        xml, timestamp, nonce = callback.xml, callback.timestamp, callback.nonce
        message = parse_message(xml)
        if not WECHAT_OPENID.fullmatch(message.from_openid):
            raise ValidationFailed(
                "FromUserName is not a WeChat openid",
                {"FromUserName": "letters, digits, '-' and '_', at most 64"},
            )
        # WeChat signs only (token, timestamp, nonce) in plaintext mode: the first body under a query is the one.
        self._claim("wechat", store.store_id, f"{timestamp}\n{nonce}", callback.body_hash, wall_now)
        if message.event in (TEMPLATE_JOB_FINISH, SUBSCRIBE_SENT):
            if self._wechat_events is not None:
                self._wechat_events().receipt(message)
            return "success"  # a delivery receipt: no member lookup, not a conversation message
        member_id, name = self._member_for(
            store, "WXOPENID", message.from_openid, f"wx-{message.from_openid}"
        )
        if message.msg_type == "event":
            if message.event in (SUBSCRIBE_POPUP, SUBSCRIBE_CHANGE):
                # WeChat retries a push it got no answer for, under a new timestamp and nonce: a grant already
                # spent must not come back with the retry, so the event (sender, CreateTime, event) is claimed once.
                event_id = message.msg_id
                if not self._claim("wechat-event", store.store_id, event_id, event_id, wall_now).first:
                    return "success"
            if self._wechat_events is not None:
                events = self._wechat_events()
                events.follow(store.chain_id, member_id, message)
                events.subscription_choices(store.chain_id, member_id, message)
            if message.event == "unsubscribe":
                self._conversations.set_member_flags(
                    store.chain_id, member_id, marketing_consent=False, opted_out_at=self._clock.now()
                )
            return "success"  # account events (follow, subscription choices) are not conversation messages
        stored = self._inbound.receive(
            InboundMessage(
                channel="wechat",
                provider_message_id=message.msg_id,
                chain_id=store.chain_id,
                store_id=store.store_id,
                member_id=member_id,
                member_name=name,
                msg_type=message.msg_type if message.msg_type != "other" else "other",
                text=message.text,
                media_url=message.media_url,
                sent_at=message.created_at,
                sender_address=message.from_openid,
            )
        )
        self._hand_on(stored)
        return "success"

    # --- Agora Chat post-delivery callback --------------------------------------------------------
    def agora_callback(self, chain_id: str, body: dict[str, Any], wall_now: datetime) -> dict[str, Any]:
        """A callback whose size, signature and freshness the edge checked (chalicelib/api/signed.py); here its
        callId is bound to its first body (replay)."""
        from chalicelib.channels.agora.chat import MESSAGE_CHAT_TYPES, is_ack, parse_callback

        if is_ack(body):
            return self.agora_ack(chain_id, body)
        chat_type = body.get("chat_type")
        if not isinstance(chat_type, str) or chat_type not in MESSAGE_CHAT_TYPES:  # a list is unhashable
            return {
                "result": "ignored",
                "reason": "not a message",
            }  # recalls, group events: Agora must get 200
        message = parse_callback(body)
        if not AGORA_USER_ID.fullmatch(message.from_user):
            raise ValidationFailed(
                "from is not an Agora user id", {"from": "letters, digits, '_', '-' and '.', at most 64"}
            )
        store_id = message.to_user.removeprefix("store-")
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None or store.chain_id != chain_id:
            return {"result": "ignored", "reason": "not addressed to a store"}
        # Agora's signature covers callId and timestamp, not the body: a callId is accepted with its first body
        # only, and the member is the one its first delivery named.
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        claim = self._claim(
            "agora",
            chain_id,
            body["callId"],
            hashlib.sha256(canonical).hexdigest(),
            wall_now,
            sender=message.from_user.lower(),
        )  # Agora user ids are case-insensitive
        member_id = claim.sender or message.from_user.lower()
        stored = self._inbound.receive(
            InboundMessage(
                channel="agora",
                provider_message_id=message.msg_id,
                chain_id=chain_id,
                store_id=store.store_id,
                member_id=member_id,
                member_name="",
                msg_type=message.type,
                text=message.text or "",
                media_url=message.media_url,
                sent_at=datetime.fromtimestamp(message.timestamp_ms / 1000, UTC),
                sender_address=member_id,
            )
        )
        self._hand_on(stored)
        return {"result": "stored", "message_id": stored.message.message_id}

    def agora_ack(self, chain_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A member's app acknowledging (delivered / read) a message a store sent her: a receipt for that message,
        named by the id Agora answered our send with. Acks are idempotent receipts (a status never goes back),
        so a replayed callId needs no claim; an ack to anyone but a store of this chain is ignored."""
        from chalicelib.channels.agora.chat import RECEIPT_PROVIDER, parse_ack
        from chalicelib.channels.receipts import ProviderReceipt

        ack = parse_ack(body)
        store_id = ack.to_user.removeprefix("store-")
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None or store.chain_id != chain_id:
            return {"result": "ignored", "reason": "not addressed to a store"}
        if self._receipts is None:
            return {"result": "ignored", "reason": "no receipts service"}
        receipt = ProviderReceipt(
            provider=RECEIPT_PROVIDER,
            provider_message_id=ack.acked_message_id,
            status=ack.status,
            at=datetime.fromtimestamp(ack.timestamp_ms / 1000, UTC),
            code=ack.chat_type,
        )
        return {"result": self._receipts.apply(receipt), "status": ack.status}

    # --- two-way SMS (SNS notification delivered to the inbound queue) ----------------------------
    def sms_notification(self, envelope: Mapping[str, Any]) -> Handling | None:
        """`envelope`: the SNS notification; its Message is the two-way SMS JSON
        (originationNumber, destinationNumber, messageBody, inboundMessageId).

        Matched on the number it was sent to (a chain's or a store's SMS number: a key lookup) and the number it
        came from (a member of that chain). A number the chain does not know gets a conversation at that number's
        store, marked as from an unknown number. A text to a number that is no one's is dropped."""
        try:
            sms = json.loads(envelope["Message"])
            phone, text, provider_id = sms["originationNumber"], sms["messageBody"], sms["inboundMessageId"]
            to = sms["destinationNumber"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(
                f"not a two-way SMS notification: {exc}", {"Message": "malformed"}
            ) from None
        if not all(isinstance(v, str) and v for v in (phone, provider_id, to)) or not isinstance(text, str):
            raise ValidationFailed("not a two-way SMS notification", {"Message": "malformed"})
        phone, to = phone.strip(), to.strip()
        if not E164.fullmatch(phone) or not E164.fullmatch(to) or len(provider_id) > 256:
            raise ValidationFailed("not a two-way SMS notification", {"Message": "numbers must be E.164"})
        owner = self._sms_numbers.owner(to)
        if owner is None:
            return None  # not one of our numbers: no chain to attach it to
        known = self._chain_member("PHONE", phone, owner.chain_id)
        if known is not None:
            member_id, unknown = known.member_id, False
            store_id = owner.store_id or known.store_id or owner.home_store_id
        else:
            member_id, unknown = f"sms-{self._conversations.address_digest(phone)[:24]}", True
            store_id = owner.store_id or owner.home_store_id
        stored = self._inbound.receive(
            InboundMessage(
                channel="sms",
                provider_message_id=provider_id,
                chain_id=owner.chain_id,
                store_id=store_id,
                member_id=member_id,
                member_name="",
                msg_type="text",
                text=text[:4000],
                media_url=None,
                sent_at=self._clock.now(),
                sender_address=phone,
                unknown_sender=unknown,
            )
        )
        return self._inbound.process(stored.message, asynchronous=True)  # the inbound worker's

    def alibaba_replies(self, chain_id: str, body: Any) -> dict[str, int]:
        """Alibaba's SmsUp push (上行短信) for `chain_id`, whose receipt token the edge checked: each reply of a
        member of the chain joins her conversation (at the store her number was given at) and goes to the inbound
        worker, as a two-way SMS does. Her number is the only key (the push names no store); a number no member of
        the chain gave is dropped, counted as `unknown` (the chain texted it, so it is normally a member's). A
        reply pushed again is stored once. Parsed whole first: a malformed push changes nothing (400)."""
        from chalicelib.channels.sms_alibaba import parse_sms_up

        try:
            replies = parse_sms_up(body)
        except ValueError as exc:
            raise ValidationFailed("the SmsUp push is not valid", {"body": str(exc)}) from None
        outcomes = {"stored": 0, "duplicate": 0, "unknown": 0}
        for reply in replies:
            known = self._chain_member("PHONE", reply.phone, chain_id)
            if known is None or not known.store_id:
                outcomes["unknown"] += 1
                continue
            stored = self._inbound.receive(
                InboundMessage(
                    channel="sms",
                    provider_message_id=f"alibaba_sms:{reply.sequence_id}",
                    chain_id=chain_id,
                    store_id=known.store_id,
                    member_id=known.member_id,
                    member_name="",
                    msg_type="text",
                    text=reply.text,
                    media_url=None,
                    sent_at=reply.sent_at,
                    sender_address=reply.phone,
                )
            )
            self._hand_on(stored)
            outcomes["duplicate" if stored.duplicate else "stored"] += 1
        return outcomes

    def process_stored(self, pk: str, sk: str) -> Handling | None:
        """The inbound worker's: a stored message understood asynchronously (a second opinion may be asked)."""
        message = self._conversations.message(pk, sk)
        return self._inbound.process(message, asynchronous=True) if message is not None else None

    # ---------------------------------------------------------------------------------------------
    def _hand_on(self, stored: Any) -> None:
        # A duplicate whose first delivery was never understood (a crash between store and enqueue)
        # is handed on again; the worker skips messages already processed.
        if not stored.duplicate or not stored.message.processed:
            self._queue.put(stored.message)

    def _claim(
        self,
        channel: str,
        scope: str,
        delivery_id: str,
        body_hash: str,
        wall_now: datetime,
        sender: str | None = None,
    ) -> Any:
        """Bind a delivery id to the body it first came with; another body under it is refused."""
        now = int(wall_now.timestamp())
        digest = hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        claim = self._claims.claim(channel, scope, digest, body_hash, now + CLAIM_SECONDS, now, sender)
        if not claim.same_body:
            raise Unauthorized(f"this {channel} callback was already delivered with another body")
        return claim

    def _member_for(self, store: Any, kind: str, address: str, fallback_id: str) -> tuple[str, str]:
        known = self._chain_member(kind, address, store.chain_id)
        return (known.member_id if known is not None else fallback_id[:128]), ""

    def _chain_member(self, kind: str, address: str, chain_id: str) -> Any:
        """The contact lookup of this chain's member who gave this address, most recently seen first (one Query:
        an address may be given at several chains); None when no member of the chain gave it."""
        return next(
            (
                lookup
                for lookup in self._conversations.members_by_address(kind, address)
                if lookup.chain_id == chain_id
            ),
            None,
        )
