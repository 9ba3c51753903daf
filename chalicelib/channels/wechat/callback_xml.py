"""What WeChat sends us: the signed callback and the plaintext-mode message XML.

WeChat signs every callback (the GET that verifies the server URL and each POSTed message) with
`signature = sha1("".join(sorted([token, timestamp, nonce])))` in the query string, where `token`
is the one configured for the Official Account's server.

The body is untrusted XML, so it is parsed with defusedxml with DTDs, entities and external
references all forbidden: any DOCTYPE is rejected before anything in it is expanded or fetched.
WeChat's own messages never carry one.

The service answers WeChat "success" at once and replies asynchronously through the
customer-service API (no passive replies).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypedDict
from xml.etree.ElementTree import Element, ParseError  # types only; parsing goes through defusedxml

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from chalicelib.errors import PayloadTooLarge, ValidationFailed

MAX_BODY_BYTES = 64 * 1024
# Ids become parts of table keys (receipts, contact lookups); WeChat's are far shorter (openids 28).
MAX_ID_CHARS = 128

TEMPLATE_JOB_FINISH = "TEMPLATESENDJOBFINISH"  # a template message's delivery report
# Subscription messages (订阅通知): her choices in the subscribe pop-up or in her settings, and a send's result.
SUBSCRIBE_POPUP = "subscribe_msg_popup_event"
SUBSCRIBE_CHANGE = "subscribe_msg_change_event"
SUBSCRIBE_SENT = "subscribe_msg_sent_event"
_SUBSCRIPTION_LISTS = {
    SUBSCRIBE_POPUP: "SubscribeMsgPopupEvent",
    SUBSCRIBE_CHANGE: "SubscribeMsgChangeEvent",
    SUBSCRIBE_SENT: "SubscribeMsgSentEvent",
}
MAX_SUBSCRIPTION_ITEMS = 20  # a pop-up offers a few templates; more is not WeChat
MsgType = Literal["text", "image", "voice", "event", "other"]

# A DOCTYPE or ENTITY declaration anywhere (also spotted by the parser, which forbids DTDs; this
# pre-check rejects the body before a parser is even built). ASCII-compatible encodings only: a
# body in another encoding still meets the parser's own refusal.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class WeChatInbound:
    msg_id: str  # MsgId, or for events (which have none) a stable id derived from sender+time+event
    to_user: str  # ToUserName: the Official Account's original id (gh_...)
    from_openid: str  # FromUserName: the member's openid for this Official Account
    created_at: datetime  # CreateTime, aware UTC
    msg_type: MsgType
    text: str = ""  # Content (text) or Recognition (voice with speech recognition), else ""
    media_id: str | None = None  # image / voice MediaId
    media_url: str | None = None  # image PicUrl
    event: str | None = None  # Event for msg_type "event" (subscribe, unsubscribe, or any other name)
    media_format: str | None = None  # voice Format (amr, speex, ...)
    raw_msg_type: str = ""  # MsgType as WeChat sent it (video, location, link, ... for "other")
    # TEMPLATESENDJOBFINISH: the template message's msgid (as the send answered it) and its Status
    # ("success", "failed:user block", "failed: system failed", ...)
    job_msg_id: str | None = None
    job_status: str | None = None
    # subscribe_msg_popup_event / _change_event: (TemplateId, SubscribeStatusString "accept" | "reject") per
    # template; subscribe_msg_sent_event: (TemplateId, MsgID, ErrorCode, ErrorStatus) per message.
    subscription_choices: tuple[tuple[str, str], ...] = ()
    subscription_results: tuple[tuple[str, str, str, str], ...] = ()


class _Common(TypedDict):
    """The fields every non-event message carries."""

    to_user: str
    from_openid: str
    created_at: datetime
    raw_msg_type: str


# --- signature ---------------------------------------------------------------------------------


def expected_signature(token: str, timestamp: str, nonce: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's signature scheme


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """True when `signature` is WeChat's SHA1 over the sorted token, timestamp and nonce."""
    if not all(isinstance(v, str) for v in (token, signature, timestamp, nonce)):
        return False
    if not token or not signature:
        return False
    expected = expected_signature(token, timestamp, nonce)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8"))


# --- message XML -------------------------------------------------------------------------------


def parse_message(xml_bytes: bytes) -> WeChatInbound:
    """Parse one plaintext-mode message or event. Raises PayloadTooLarge or ValidationFailed."""
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode("utf-8")
    if not isinstance(xml_bytes, bytes | bytearray):
        raise ValidationFailed("WeChat message body must be bytes", {"xml": "invalid"})
    if len(xml_bytes) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"WeChat message body is larger than {MAX_BODY_BYTES} bytes")
    if not xml_bytes.strip():
        raise ValidationFailed("WeChat message body is empty", {"xml": "missing"})
    if _DECLARATION.search(xml_bytes):
        raise ValidationFailed(
            "WeChat message XML must not declare a DOCTYPE or entities", {"xml": "forbidden"}
        )

    root = _parse(bytes(xml_bytes))
    if root.tag != "xml":
        raise ValidationFailed("WeChat message XML must have an <xml> root", {"xml": "invalid"})

    to_user = _identifier(_required(root, "ToUserName"), "ToUserName")
    from_openid = _identifier(_required(root, "FromUserName"), "FromUserName")
    created_raw = _required(root, "CreateTime")
    raw_type = _required(root, "MsgType")
    created_at = _timestamp(created_raw)
    kind = raw_type.lower()

    if kind == "event":
        event = _required(root, "Event")
        job_msg_id = job_status = None
        if event == TEMPLATE_JOB_FINISH:
            job_msg_id = _identifier(_required(root, "MsgID"), "MsgID")
            job_status = _identifier(_required(root, "Status"), "Status")
        choices, results = _subscription_lists(root, event)
        return WeChatInbound(
            job_msg_id=job_msg_id,
            job_status=job_status,
            subscription_choices=choices,
            subscription_results=results,
            msg_id=event_dedupe_id(from_openid, created_raw, event),
            to_user=to_user,
            from_openid=from_openid,
            created_at=created_at,
            msg_type="event",
            event=event,
            raw_msg_type=raw_type,
        )

    common: _Common = {
        "to_user": to_user,
        "from_openid": from_openid,
        "created_at": created_at,
        "raw_msg_type": raw_type,
    }
    if kind == "text":
        return WeChatInbound(
            msg_id=_identifier(_required(root, "MsgId"), "MsgId"),
            msg_type="text",
            text=_text(root, "Content", required=True),
            **common,
        )
    if kind == "image":
        return WeChatInbound(
            msg_id=_identifier(_required(root, "MsgId"), "MsgId"),
            msg_type="image",
            media_id=_required(root, "MediaId"),
            media_url=_optional(root, "PicUrl"),
            **common,
        )
    if kind == "voice":
        return WeChatInbound(
            msg_id=_identifier(_required(root, "MsgId"), "MsgId"),
            msg_type="voice",
            text=_text(root, "Recognition", required=False),
            media_id=_required(root, "MediaId"),
            media_format=_optional(root, "Format"),
            **common,
        )
    msg_id = _identifier(_optional(root, "MsgId") or "", "MsgId") or event_dedupe_id(
        from_openid, created_raw, raw_type
    )
    return WeChatInbound(msg_id=msg_id, msg_type="other", media_id=_optional(root, "MediaId"), **common)


def _subscription_lists(
    root: Element, event: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str, str], ...]]:
    """The `<List>` items of a subscription event (one per template or message), checked like any id."""
    wrapper = _SUBSCRIPTION_LISTS.get(event)
    if wrapper is None:
        return (), ()
    holder = root.find(wrapper)
    items = holder.findall("List") if holder is not None else []
    if not items:
        raise ValidationFailed(f"WeChat {event} has no {wrapper}/List", {wrapper: "missing"})
    if len(items) > MAX_SUBSCRIPTION_ITEMS:
        raise ValidationFailed(
            f"WeChat {event} lists too many items", {wrapper: f"at most {MAX_SUBSCRIPTION_ITEMS}"}
        )
    if event == SUBSCRIBE_SENT:
        results = tuple(
            (
                _identifier(_required(item, "TemplateId"), "TemplateId"),
                _identifier(_required(item, "MsgID"), "MsgID"),
                _identifier(_required(item, "ErrorCode"), "ErrorCode"),
                _identifier(_optional(item, "ErrorStatus") or "", "ErrorStatus"),
            )
            for item in items
        )
        return (), results
    choices = tuple(
        (
            _identifier(_required(item, "TemplateId"), "TemplateId"),
            _identifier(_required(item, "SubscribeStatusString"), "SubscribeStatusString"),
        )
        for item in items
    )
    return choices, ()


def event_dedupe_id(from_openid: str, create_time: str, event: str) -> str:
    """WeChat's advice for events (no MsgId): deduplicate retries on FromUserName + CreateTime."""
    digest = hashlib.sha256(f"{from_openid}\n{create_time}\n{event}".encode()).hexdigest()
    return f"ev-{digest[:32]}"


def _parse(xml_bytes: bytes) -> Element:
    try:
        return SafeElementTree.fromstring(
            xml_bytes, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ValidationFailed("WeChat message XML uses forbidden constructs", {"xml": "forbidden"}) from exc
    except (ParseError, ValueError) as exc:
        raise ValidationFailed("WeChat message XML is malformed", {"xml": "malformed"}) from exc


def _optional(root: Element, name: str) -> str | None:
    element = root.find(name)
    if element is None:
        return None
    value = (element.text or "").strip()
    return value or None


def _required(root: Element, name: str) -> str:
    element = root.find(name)
    if element is None:
        raise ValidationFailed(f"WeChat message has no {name}", {name: "missing"})
    value = (element.text or "").strip()
    if not value:
        raise ValidationFailed(f"WeChat message has an empty {name}", {name: "missing"})
    return value


def _identifier(value: str, name: str) -> str:
    if len(value) > MAX_ID_CHARS:
        raise ValidationFailed(f"WeChat {name} is too long", {name: f"at most {MAX_ID_CHARS} characters"})
    return value


def _text(root: Element, name: str, *, required: bool) -> str:
    """Free text: kept exactly as sent (CDATA, whitespace, emoji)."""
    element = root.find(name)
    if element is None:
        if required:
            raise ValidationFailed(f"WeChat message has no {name}", {name: "missing"})
        return ""
    return element.text or ""


def _timestamp(raw: str) -> datetime:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise ValidationFailed("WeChat CreateTime must be a unix timestamp", {"CreateTime": "invalid"})
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValidationFailed("WeChat CreateTime is out of range", {"CreateTime": "invalid"}) from exc
